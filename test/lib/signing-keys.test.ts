import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SIGNING_ALGORITHM } from '../../lib/signing-keys.js';
import { buildStack, environmentSettings, logicalId } from './helpers.js';

// Without the canary, which may sign with every key (test/lib/canary.test.ts).
const rotating = { ...environmentSettings('int'), keys: ['a', 'b'], signingKey: 'b', canaryMinutes: 0 };

/** Logical id of the key behind `alias/cis2-token-proxy/<env>/<slot>`. */
function keyBehindAlias(template: Template, alias: string): string {
  const [found] = Object.values(
    template.findResources('AWS::KMS::Alias', { Properties: { AliasName: alias } }),
  );
  return found?.Properties.TargetKeyId['Fn::GetAtt'][0];
}

function keyPolicy(template: Template, keyId: string): Record<string, unknown>[] {
  return template.toJSON().Resources[keyId].Properties.KeyPolicy.Statement;
}

describe('signing keys', () => {
  const { template, stack } = buildStack('int', rotating);
  const tokenRole = logicalId(stack.tokenFunction.role);
  const jwksRole = logicalId(stack.publicJwks.handler.role);
  const roleArn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  const keyA = keyBehindAlias(template, 'alias/cis2-token-proxy/int/a');
  const keyB = keyBehindAlias(template, 'alias/cis2-token-proxy/int/b');

  it('creates one RSA_4096 SIGN_VERIFY key per slot, retained, with an alias naming env and slot', () => {
    expect(keyA).toBeDefined();
    expect(keyB).toBeDefined();
    const keys = template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'RSA_4096' } });
    expect(Object.keys(keys).sort()).toEqual([keyA, keyB].sort());
    for (const key of Object.values(keys)) {
      expect(key).toMatchObject({
        Properties: { KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY', PendingWindowInDays: 30 },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('key policy: only the signing key lets the token role sign, only with RS512', () => {
    const sign = {
      Effect: 'Allow',
      Action: 'kms:Sign',
      Condition: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
      Principal: { AWS: roleArn(tokenRole) },
      Resource: '*',
    };
    const publish = {
      Effect: 'Allow',
      Action: 'kms:GetPublicKey',
      Principal: { AWS: [roleArn(jwksRole), roleArn(tokenRole)] },
      Resource: '*',
    };
    const [adminB, readB, denyB, ...grantsB] = keyPolicy(template, keyB);
    const [adminA, readA, denyA, ...grantsA] = keyPolicy(template, keyA);
    expect(grantsB).toEqual([sign, publish]);
    expect(grantsA).toEqual([publish]);
    for (const read of [readA, readB]) expect(read).toMatchObject({ Sid: 'ReadKeyMetadata' });
    for (const deny of [denyA, denyB]) expect(deny).toMatchObject({ Sid: 'DenyGrantsNotForAwsServices' });
    for (const admin of [adminA, adminB]) {
      expect(admin).toMatchObject({ Sid: 'KeyAdministration', Effect: 'Allow' });
      // Account identities administer the key but cannot sign or verify with it.
      expect(admin!.Action).not.toContain('kms:*');
      // No action pattern that covers signing, verifying or granting (a grant bypasses the key policy).
      for (const action of admin!.Action as string[]) {
        const pattern = new RegExp(`^${action.replace('*', '.*')}$`);
        for (const forbidden of ['kms:Sign', 'kms:Verify', 'kms:CreateGrant']) {
          expect(pattern.test(forbidden), `${action} covers ${forbidden}`).toBe(false);
        }
      }
    }
  });

  it('passes the signing key and every published key to both functions', () => {
    const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        ENVIRONMENT: 'int',
        SIGNING_KEY_ID: arn(keyB),
        PUBLISHED_KEY_IDS: { 'Fn::Join': [',', [arn(keyA), arn(keyB)]] },
      });
    }
  });
});
