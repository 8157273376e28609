/**
 * The RSA keys that sign client assertions. One key per configured slot; exactly one slot signs,
 * the others are only published in the JWKS, which is how a rotation is staged (README.md ("Deploying to AWS")).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** The only KMS signing algorithm the proxy may use: JOSE `RS512`, which the NHS platform requires. */
export const SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_512';

/**
 * Key management actions delegated to the account's IAM policies. Deliberately excludes `kms:Sign`
 * and `kms:Verify`, and `kms:CreateGrant` (a grant could hand out `kms:Sign` without the algorithm
 * condition): nobody but the function role named in the key policy can sign as this app, and
 * granting that to anyone else requires a visible key policy change.
 */
const ADMIN_ACTIONS = [
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

/** Properties of {@link SigningKeys}. */
export interface SigningKeysProps {
  /** Environment name, part of each alias. */
  readonly environment: string;
  /** Slot names; one key each. */
  readonly slots: readonly string[];
  /** The slot that signs. */
  readonly signingSlot: string;
}

/** RSA_4096 SIGN_VERIFY KMS keys, one per slot, with alias `alias/cis2-token-proxy/<env>/<slot>`. */
export class SigningKeys extends Construct {
  /** The key that signs client assertions. */
  readonly signingKey: Key;
  /** Every key published in the JWKS, the signing key included, in slot order. */
  readonly publishedKeys: readonly Key[];

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    const keys = props.slots.map((slot) => this.createKey(props.environment, slot));
    this.publishedKeys = keys;
    this.signingKey = keys[props.slots.indexOf(props.signingSlot)]!;
  }

  /**
   * Lets `role` sign with the signing key, restricted to {@link SIGNING_ALGORITHM}, and read the public
   * half of every published key. Written into both the key policies and the role's policy, with no
   * other actions (the `grant*` helpers would add `kms:DescribeKey` and friends).
   */
  grantSign(role: IRole): void {
    const sign = {
      actions: ['kms:Sign'],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
    };
    this.grantBoth(role, this.signingKey, sign);
    this.grantPublish(role);
  }

  /** Lets `role` call `kms:GetPublicKey` on every published key, and nothing else. */
  grantPublish(role: IRole): void {
    for (const key of this.publishedKeys) this.grantBoth(role, key, { actions: ['kms:GetPublicKey'] });
  }

  private grantBoth(
    role: IRole,
    key: Key,
    statement: { actions: string[]; conditions?: Record<string, unknown> },
  ) {
    key.addToResourcePolicy(new PolicyStatement({ ...statement, principals: [role], resources: ['*'] }));
    role.addToPrincipalPolicy(new PolicyStatement({ ...statement, resources: [key.keyArn] }));
  }

  private createKey(environment: string, slot: string): Key {
    // An explicit policy replaces CDK's default `kms:*` for the account root (see ADMIN_ACTIONS).
    const policy = new PolicyDocument({
      statements: [
        new PolicyStatement({
          sid: 'KeyAdministration',
          effect: Effect.ALLOW,
          principals: [new AccountRootPrincipal()],
          actions: ADMIN_ACTIONS,
          resources: ['*'],
        }),
      ],
    });
    return new Key(this, `Key-${slot}`, {
      description: `cis2-token-proxy ${environment}: signs NHS API platform client assertions (slot ${slot})`,
      keySpec: KeySpec.RSA_4096,
      keyUsage: KeyUsage.SIGN_VERIFY,
      alias: `alias/cis2-token-proxy/${environment}/${slot}`,
      policy,
      // The private key can never be recreated: losing it forces a re-registration with NHS.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
  }
}
