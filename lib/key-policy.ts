/**
 * The key policy every KMS key of the stack starts from. The dangerous administration actions
 * (`kms:PutKeyPolicy`, `kms:DisableKey`, `kms:ScheduleKeyDeletion` and the rest of
 * {@link KEY_ADMIN_ACTIONS}) are allowed only to the configured key-admin role and to the
 * CloudFormation execution role that deploys the stack; the rest of the account may only read the
 * key's metadata. Why the deployer must stay: KMS refuses a CreateKey or PutKeyPolicy whose policy
 * would not let the calling principal (CloudFormation's execution role) call PutKeyPolicy again (the
 * policy lockout safety check), and later deploys update the key's policy, description and tags.
 */
import { DefaultStackSynthesizer, Fn, Stack } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  AnyPrincipal,
  Effect,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { roleArn } from './config.js';

/**
 * Key management actions, for the key admins only. Deliberately excludes `kms:Sign`, `kms:Verify`
 * and the cryptographic actions: administering a key is not using it, and granting use to anyone
 * requires a visible key policy change (which the key-audit rule reports).
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CreateAlias',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/** What every principal of the account with an IAM policy allowing it may do: read metadata. */
export const KEY_READ_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
];

/**
 * The ARNs allowed {@link KEY_ADMIN_ACTIONS}: the key-admin role when configured, and the CDK
 * bootstrap's CloudFormation execution role of the stack's synthesizer.
 */
export function keyAdminArns(scope: IConstruct, keyAdminRole?: string): string[] {
  const synthesizer = Stack.of(scope).synthesizer;
  const deployer =
    synthesizer instanceof DefaultStackSynthesizer
      ? // The synthesizer's ARN holds `${AWS::AccountId}`-style placeholders.
        [Fn.sub(synthesizer.cloudFormationExecutionRoleArn)]
      : [];
  return [...deployer, ...(keyAdminRole ? [roleArn(keyAdminRole)] : [])];
}

/**
 * The key policy: admin actions for {@link keyAdminArns}, metadata reads for the account, and the
 * Control Tower CT.KMS.PR.3 deny of grants that are not for an AWS service (a grant could hand out
 * key use without the policy's conditions). Callers add their own use statements.
 *
 * The admins are written as the account root with an `aws:PrincipalArn` condition rather than as
 * role principals: KMS rejects a policy naming a role that does not exist yet, and a role principal
 * would silently stop matching if the role were recreated.
 */
export function restrictedKeyPolicy(scope: IConstruct, keyAdminRole?: string): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'KeyAdministration',
        effect: Effect.ALLOW,
        principals: [new AccountRootPrincipal()],
        actions: KEY_ADMIN_ACTIONS,
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:PrincipalArn': keyAdminArns(scope, keyAdminRole) } },
      }),
      new PolicyStatement({
        sid: 'ReadKeyMetadata',
        effect: Effect.ALLOW,
        principals: [new AccountRootPrincipal()],
        actions: KEY_READ_ACTIONS,
        resources: ['*'],
      }),
      new PolicyStatement({
        sid: 'DenyGrantsNotForAwsServices',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    ],
  });
}
