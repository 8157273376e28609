/**
 * The RSA keys that sign client assertions. One key per configured slot; exactly one slot signs,
 * the others are only published in the JWKS, which is how a rotation is staged (docs/probe.md, "Rotating the signing key").
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { restrictedKeyPolicy } from './key-policy.js';

/** The only KMS signing algorithm the proxy may use: JOSE `RS512`, which the NHS platform requires. */
export const SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_512';

/** Properties of {@link SigningKeys}. */
export interface SigningKeysProps {
  /** Environment name, part of each alias. */
  readonly environment: string;
  /** Slot names; one key each. */
  readonly slots: readonly string[];
  /** The slot that signs. */
  readonly signingSlot: string;
  /** The key-admin role (see DeployConfig.keyAdminRole). */
  readonly keyAdminRole?: string;
}

/** RSA_4096 SIGN_VERIFY KMS keys, one per slot, with alias `alias/cis2-token-proxy/<env>/<slot>`. */
export class SigningKeys extends Construct {
  /** The key that signs client assertions. */
  readonly signingKey: Key;
  /** Every key published in the JWKS, the signing key included, in slot order. */
  readonly publishedKeys: readonly Key[];

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    const keys = props.slots.map((slot) => this.createKey(props.environment, slot, props.keyAdminRole));
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

  private createKey(environment: string, slot: string, keyAdminRole?: string): Key {
    // An explicit policy replaces CDK's default `kms:*` for the account root.
    const policy = restrictedKeyPolicy(this, keyAdminRole);
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
