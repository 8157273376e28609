import type { JWK } from 'jose';

/** A public signing key as published in a JWKS for NHS. */
export interface PublicSigningJwk extends JWK {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS512';
  use: 'sig';
}

/**
 * Signs JWS signing inputs with RS512 (RSASSA-PKCS1-v1_5 with SHA-512). Two implementations:
 * AWS KMS, where the private key never leaves the HSM, and a local key for development and tests.
 */
export interface Signer {
  /** The key id to put in the JWS header; derived from the key itself, so it matches the JWKS. */
  keyId(): Promise<string>;
  /** The public key as a JWK with `kid`, `alg` and `use`, ready for a JWKS. */
  publicJwk(): Promise<PublicSigningJwk>;
  /** Returns the raw RS512 signature over `signingInput` (the ASCII bytes of `header.payload`). */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}
