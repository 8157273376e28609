/**
 * Test keys and client assertions for the assertion doctor's tests. Keys are throwaway RSA keys
 * generated per test file; nothing here is a real credential.
 */
import { KeyObject, sign } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose';
import { b64url } from '../../../lambda/platform/jws.js';
import { PLATFORM_TOKEN_URLS } from '../../../lambda/platform/rules.js';

/** The moment tests judge time claims at: 2026-11-28T10:00:00Z. */
export const NOW_MS = Date.UTC(2026, 10, 28, 10, 0, 0);
export const NOW_S = NOW_MS / 1000;
export const INT_URL = PLATFORM_TOKEN_URLS.int;
export const API_KEY = 'TestApiKey0000000000000000000001';

/** A test signing key and its public JWK as published in a JWKS. */
export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: JWK & { kid: string };
}

/** Generates an RSA key (2048 bits unless told; 4096 takes about a second). */
export async function makeKey(kid: string, modulusLength = 2048): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS512', { modulusLength, extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS512', use: 'sig' };
  return { kid, privateKey: KeyObject.from(privateKey), jwk };
}

/** A JWKS of the given keys' public JWKs. */
export const jwksOf = (...keys: TestKey[]) => ({ keys: keys.map((k) => k.jwk) });

/** Header and claims of an assertion the platform accepts on INT at {@link NOW_MS}. */
export function goodParts(kid: string, jti = 'e5c2a9f0-0000-4000-8000-000000000001') {
  return {
    header: { alg: 'RS512', typ: 'JWT', kid } as Record<string, unknown>,
    claims: { iss: API_KEY, sub: API_KEY, aud: INT_URL, jti, exp: NOW_S + 240 } as Record<string, unknown>,
  };
}

/** Overrides where `undefined` removes a member. */
function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const out = { ...base, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete out[name];
  return out;
}

/**
 * Signs header and claims with RS512 whatever the header says. jose's CompactSign does it when the
 * header names an RSA algorithm; headers without one (or with a non-RSA alg) are signed by hand,
 * since jose refuses to sign them.
 */
export async function signParts(
  key: TestKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(claims));
  if (typeof header.alg === 'string' && /^(RS|PS)(256|384|512)$/.test(header.alg))
    return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
  const input = `${b64url(JSON.stringify(header))}.${b64url(payload)}`;
  return `${input}.${b64url(sign('sha512', Buffer.from(input), key.privateKey))}`;
}

/** Signs a good INT assertion with some header or claims overridden (`undefined` removes one). */
export function signAssertion(
  key: TestKey,
  overrides: { header?: Record<string, unknown>; claims?: Record<string, unknown>; jti?: string } = {},
): Promise<string> {
  const good = goodParts(key.kid, overrides.jti);
  return signParts(
    key,
    withOverrides(good.header, overrides.header),
    withOverrides(good.claims, overrides.claims),
  );
}

/** Signs assertions with fresh jtis until the signature matches; for placing typographic damage. */
export async function signUntil(
  key: TestKey,
  wanted: (signature: string) => boolean,
  overrides: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {},
  tries = 5000,
): Promise<string> {
  for (let i = 0; i < tries; i += 1) {
    // The jti varies the signature; it overrides any jti in the overrides.
    const token = await signAssertion(key, {
      ...overrides,
      claims: { ...overrides.claims, jti: `search-${i}` },
    });
    if (wanted(token.split('.')[2]!)) return token;
  }
  throw new Error('no signature matched');
}

/** Replaces the signature segment's text at `from` (length `length`) with `by`. */
export function editSignature(token: string, from: number, length: number, by: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  return `${h}.${p}.${s.slice(0, from)}${by}${s.slice(from + length)}`;
}
