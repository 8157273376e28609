/**
 * Key administration on the synthesized key policies: PutKeyPolicy, DisableKey and
 * ScheduleKeyDeletion only for the key-admin role and CloudFormation's execution role, on every key of
 * the stack (signing keys and the alarm topic key).
 */
import { describe, expect, it } from 'vitest';
import { KEY_ADMIN_ACTIONS } from '../../lib/key-policy.js';
import { buildStack, logicalId } from './helpers.js';

type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Condition?: unknown;
};

const DANGEROUS = ['kms:PutKeyPolicy', 'kms:DisableKey', 'kms:ScheduleKeyDeletion'];

/** Whether an IAM action pattern (with `*`) covers `action`. */
const covers = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replaceAll('*', '.*')}$`).test(action);

describe('key administration (prod)', () => {
  const { stack, template } = buildStack('prod');
  const resources = template.toJSON().Resources;
  const keys = [...stack.keys.publishedKeys, stack.observability.topicKey];
  // CloudFormation Fn::Sub placeholders, spelled with a `$` the linter does not take for JS.
  const sub = (name: string) => `\${${name}}`;
  const deployer = {
    'Fn::Sub': `arn:${sub('AWS::Partition')}:iam::${sub('AWS::AccountId')}:role/cdk-hnb659fds-cfn-exec-role-${sub('AWS::AccountId')}-${sub('AWS::Region')}`,
  };
  const keyAdmin = {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':iam::',
        { Ref: 'AWS::AccountId' },
        ':role/cis2-token-proxy-key-admin',
      ],
    ],
  };

  it.each(keys.map((k) => [k.node.path, k] as const))(
    '%s: admin actions only for the key admin and deployer',
    (_, key) => {
      const statements: Statement[] = resources[logicalId(key)].Properties.KeyPolicy.Statement;
      const admin = statements.find((s) => s.Sid === 'KeyAdministration')!;
      expect(admin).toMatchObject({
        Effect: 'Allow',
        Action: [...KEY_ADMIN_ACTIONS].sort(),
        Condition: { ArnEquals: { 'aws:PrincipalArn': [deployer, keyAdmin] } },
      });
      // No other Allow statement covers a dangerous action.
      for (const s of statements.filter((x) => x.Effect === 'Allow' && x !== admin)) {
        for (const pattern of [s.Action].flat()) {
          for (const action of DANGEROUS) expect(covers(pattern, action), `${s.Sid}: ${pattern}`).toBe(false);
        }
      }
    },
  );

  it('denies grants that are not for AWS services on every key (CT.KMS.PR.3)', () => {
    for (const key of keys) {
      const statements: Statement[] = resources[logicalId(key)].Properties.KeyPolicy.Statement;
      expect(statements).toContainEqual({
        Sid: 'DenyGrantsNotForAwsServices',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      });
    }
  });

  it('without a key-admin role (non-prod) only the deployer administers the keys', () => {
    const { stack: s, template: t } = buildStack('int');
    const statements: Statement[] =
      t.toJSON().Resources[logicalId(s.keys.signingKey)].Properties.KeyPolicy.Statement;
    expect(statements.find((x) => x.Sid === 'KeyAdministration')!.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': [deployer] },
    });
  });
});
