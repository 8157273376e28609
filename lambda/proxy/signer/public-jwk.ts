import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { ASSERTION_ALG } from '../../platform/rules.js';
import type { PublicSigningJwk } from './signer.js';

/** Smallest RSA modulus we sign with; NHS tooling generates 4096-bit keys. */
export const MIN_RSA_BITS = 4096;

/**
 * Turns an RSA public key into the JWK we publish, with a `kid` derived from the key itself:
 * `<prefix>-<RFC 7638 SHA-256 thumbprint>`. Because the `kid` is a function of the key, the JWKS
 * and the `kid` header of every assertion cannot disagree, and a rotated key gets a new `kid`.
 *
 * @param key - the public key (an SPKI DER buffer, as KMS `GetPublicKey` returns, or a KeyObject).
 * @param kidPrefix - usually the environment name, so a key's purpose is visible in its `kid`.
 * @throws Error if the key is not RSA.
 */
export async function toPublicSigningJwk(
  key: Uint8Array | KeyObject,
  kidPrefix: string,
): Promise<PublicSigningJwk> {
  const publicKey =
    key instanceof Uint8Array ? createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }) : key;
  if (publicKey.asymmetricKeyType !== 'rsa')
    throw new Error(`signing key must be RSA, got ${publicKey.asymmetricKeyType}`);
  const { n, e } = publicKey.export({ format: 'jwk' });
  if (!n || !e) throw new Error('RSA public key without modulus or exponent');
  const thumbprint = await calculateJwkThumbprint({ kty: 'RSA', n, e }, 'sha256');
  return { kty: 'RSA', n, e, kid: `${kidPrefix}-${thumbprint}`, alg: ASSERTION_ALG, use: 'sig' };
}

/** Modulus length in bits of a public JWK. */
export function modulusBits(jwk: { n: string }): number {
  return Buffer.from(jwk.n, 'base64url').length * 8;
}
