/**
 * The signing key and the keys to publish, from the configuration: KMS keys, or the local key file.
 * Apart from the composition root (lambda/proxy/app.ts) so that the public JWKS function's bundle holds
 * only this, not the token exchange and its clients.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { RuntimeConfig } from '../config.js';
import { KmsSigner } from './kms.js';
import { LocalKeySigner, loadOrCreateKeyFile } from './local.js';
import type { PublicSigningJwk, Signer } from './signer.js';

/** Builds the signing key and the keys to publish (the signing one first). */
export async function buildSigners(
  config: Pick<RuntimeConfig, 'profile' | 'signing'>,
  overrides: { readonly signer?: Signer; readonly kms?: KMSClient },
): Promise<{ signer: Signer; published: readonly Signer[] }> {
  if (overrides.signer) return { signer: overrides.signer, published: [overrides.signer] };
  const kidPrefix = config.profile.name;
  if (config.signing.kind === 'local') {
    const { key } = await loadOrCreateKeyFile(config.signing.keyFile);
    const signer = new LocalKeySigner(key, kidPrefix);
    return { signer, published: [signer] };
  }
  const client = overrides.kms ?? new KMSClient({});
  const published = config.signing.publishedKeyIds.map(
    (keyId) =>
      new KmsSigner({
        client,
        keyId,
        kidPrefix,
        // Local-key environments may run on smaller test keys; int and prod sign only with RSA-4096.
        requiredKeySpec: config.profile.allowLocalKey ? undefined : 'RSA_4096',
      }),
  );
  return { signer: published[0] as Signer, published };
}

/** The public JWKS of a set of signers, without duplicate `kid`s. */
export function publishedJwks(signers: readonly Signer[]): () => Promise<readonly PublicSigningJwk[]> {
  return async () => {
    const keys = await Promise.all(signers.map((s) => s.publicJwk()));
    return keys.filter((key, i) => keys.findIndex((k) => k.kid === key.kid) === i);
  };
}
