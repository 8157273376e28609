/**
 * What a probe signs with and authenticates as, built from the proxy's own configuration and
 * composition root (`buildSigners`), so the probe signs with exactly the keys, in the same
 * order and with the same key checks, as the proxy it vouches for.
 */
import type { AppOverrides } from '../proxy/app.js';
import type { RuntimeConfig } from '../proxy/config.js';
import { buildCredentials } from '../proxy/credentials.js';
import { buildSigners, publishedJwks } from '../proxy/signer/setup.js';
import type { PublicSigningJwk, Signer } from '../proxy/signer/signer.js';
import type { AppCredentials } from '../proxy/token-endpoint/types.js';

/** One published key as the probe and the canary see it. */
export interface PublishedKey {
  /** The key as configured: the KMS key id or ARN, or the local key file. */
  readonly keyId: string;
  readonly signer: Signer;
  /** Whether the proxy signs with it now. */
  readonly signing: boolean;
}

/** The proxy's keys and credentials, ready to probe with. */
export interface ProbeSetup {
  /** Every published key, the signing one first (the proxy's order). */
  readonly keys: readonly PublishedKey[];
  /** The JWKS the proxy publishes (what the doctor checks a refused assertion against). */
  readonly jwks: () => Promise<readonly PublicSigningJwk[]>;
  readonly credentials: () => Promise<AppCredentials>;
}

/**
 * Builds the probe's keys and credentials from the proxy's configuration. Credentials come from
 * the same place as the proxy's: the Secrets Manager secret, or the static local ones.
 */
export async function buildProbeSetup(
  config: Pick<RuntimeConfig, 'profile' | 'signing' | 'credentials'>,
  overrides: Pick<AppOverrides, 'kms' | 'secretsManager' | 'signer'> = {},
): Promise<ProbeSetup> {
  const { published } = await buildSigners(config, overrides);
  const keyIds = config.signing.kind === 'kms' ? config.signing.publishedKeyIds : [config.signing.keyFile];
  const keys = published.map((signer, i) => ({ keyId: keyIds[i] ?? 'local', signer, signing: i === 0 }));
  return { keys, jwks: publishedJwks(published), credentials: buildCredentials(config, overrides) };
}
