import type { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { CACHE_TABLE_ACTIONS } from '../../lib/cache-table.js';
import { SIGNING_ALGORITHM } from '../../lib/signing-keys.js';
import type { TokenProxyStack } from '../../lib/token-proxy-stack.js';
import { buildStack, environmentSettings, logicalId, logicalIds } from './helpers.js';

type Statement = Record<string, unknown>;
interface PolicyDocument {
  Statement: Statement[];
}
interface Resource {
  Type: string;
  Properties: {
    Policies?: { PolicyDocument: PolicyDocument }[];
    ManagedPolicyArns?: unknown[];
    PolicyDocument?: PolicyDocument;
    Roles?: unknown[];
  };
}
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const fn = (stack: TokenProxyStack, which: 'token' | 'jwks') =>
  which === 'token' ? stack.tokenFunction : stack.publicJwks.handler;
const roleId = (stack: TokenProxyStack, which: 'token' | 'jwks') => logicalId(fn(stack, which).role);

function resourcesOf(template: Template): Record<string, Resource> {
  return template.toJSON().Resources;
}

/** Every statement granted to `role`: inline role policies and AWS::IAM::Policy resources attached to it. */
function statementsOf(template: Template, role: string): Statement[] {
  const resources = resourcesOf(template);
  const inline = (resources[role]!.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement);
  const attached = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${role}"`))
    .flatMap((r) => r.Properties.PolicyDocument!.Statement);
  return [...inline, ...attached];
}

/** Roles of every Lambda function in the template. */
function functionRoles(template: Template): string[] {
  return Object.values(template.findResources('AWS::Lambda::Function')).map(
    (fn) => fn.Properties.Role['Fn::GetAtt'][0],
  );
}

/** Every literal string inside a value, intrinsic functions included (Fn::Join parts and so on). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** Wildcard actions or resources granted to any function role, and managed policies attached to one. */
function wildcardFindings(template: Template): string[] {
  const resources = resourcesOf(template);
  const findings: string[] = [];
  for (const role of functionRoles(template)) {
    if (resources[role]!.Properties.ManagedPolicyArns) findings.push(`${role}: managed policy attached`);
    for (const s of statementsOf(template, role)) {
      if (s.NotAction || s.NotResource) findings.push(`${role}: NotAction/NotResource`);
      for (const action of strings(s.Action))
        if (action.includes('*')) findings.push(`${role}: action ${action}`);
      for (const resource of strings(s.Resource)) {
        if (resource.includes('*')) findings.push(`${role}: resource ${resource}`);
      }
    }
  }
  return findings;
}

describe('function roles', () => {
  const { stack, template } = buildStack('int', {
    ...environmentSettings('int'),
    keys: ['a', 'b'],
    signingKey: 'a',
  });
  const [keyA, keyB] = stack.keys.publishedKeys.map((k) => logicalId(k));
  const secret = logicalId(stack.secret);
  const table = logicalIds(template, 'AWS::DynamoDB::GlobalTable')[0]!;
  const writeLogs = (which: 'token' | 'jwks') => ({
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: getAtt(logicalId(fn(stack, which).logGroup)),
  });

  it('token role: sign (RS512 only) with the signing key, read public keys, the secret and the table, nothing else', () => {
    expect(statementsOf(template, roleId(stack, 'token'))).toEqual([
      writeLogs('token'),
      {
        Effect: 'Allow',
        Action: 'kms:Sign',
        Condition: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
        Resource: getAtt(keyA!),
      },
      { Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: [getAtt(keyA!), getAtt(keyB!)] },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret } },
      { Effect: 'Allow', Action: [...CACHE_TABLE_ACTIONS].sort(), Resource: getAtt(table) },
    ]);
  });

  it('JWKS role: only GetPublicKey on the published keys', () => {
    expect(statementsOf(template, roleId(stack, 'jwks'))).toEqual([
      writeLogs('jwks'),
      { Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: [getAtt(keyA!), getAtt(keyB!)] },
    ]);
  });

  it('no function role has a wildcard action or resource, or a managed policy', () => {
    expect(functionRoles(template)).toHaveLength(3);
    expect(wildcardFindings(template)).toEqual([]);
    expect(wildcardFindings(buildStack('prod').template)).toEqual([]);
  });

  it('the wildcard check catches a widened role (negative control)', () => {
    const { template: widened } = buildStack('int', undefined, {
      mutate: (s) =>
        s.tokenFunction.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['kms:*'], resources: ['*'] }),
        ),
    });
    expect(wildcardFindings(widened)).toEqual([
      expect.stringContaining('action kms:*'),
      expect.stringContaining('resource *'),
    ]);
  });

  it('without the shared cache there is no table, no table grant and no CACHE_TABLE', () => {
    const { stack: noCache, template: t } = buildStack('internal-dev');
    expect(logicalIds(t, 'AWS::DynamoDB::GlobalTable')).toEqual([]);
    expect(JSON.stringify(statementsOf(t, roleId(noCache, 'token')))).not.toContain('dynamodb:');
    const env =
      t.toJSON().Resources[logicalId(noCache.tokenFunction.function)].Properties.Environment.Variables;
    expect(env).not.toHaveProperty('CACHE_TABLE');
  });
});
