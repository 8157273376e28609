import { describe, expect, it } from 'vitest';
import { deriveCacheKey } from '../../../../lambda/proxy/cache/cache-key.js';
import { open, SealedEntryError, seal } from '../../../../lambda/proxy/cache/sealed.js';
import type { CachedSession } from '../../../../lambda/proxy/cache/session.js';

const scope = { environment: 'int', apiKey: 'app-key-1' };
const key = deriveCacheKey('id.token.one', scope);
const session: CachedSession = {
  accessToken: 'AccessTokenAccessTokenAccessToken1',
  tokenType: 'Bearer',
  issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
  accessExpiresAt: 1_800_000_599_000,
  refreshToken: 'RefreshTokenRefreshTokenRefreshTok',
  refreshExpiresAt: 1_800_043_199_000,
  subjectExpiresAt: 1_800_003_600_000,
  rev: 'rev-1',
};

describe('seal and open', () => {
  it('round-trips a session, with or without a refresh token', () => {
    expect(open(seal(session, key), key)).toEqual(session);
    const { refreshToken: _r, refreshExpiresAt: _e, ...accessOnly } = session;
    expect(open(seal(accessOnly, key), key)).toEqual({
      ...accessOnly,
      refreshToken: undefined,
      refreshExpiresAt: undefined,
    });
  });

  it('stores no readable piece of either token and uses a fresh IV each time', () => {
    const a = seal(session, key);
    const b = seal(session, key);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    for (const encoding of ['latin1', 'utf8', 'base64', 'base64url', 'hex'] as const) {
      const text = a.toString(encoding);
      for (const secret of [session.accessToken, session.refreshToken as string]) {
        for (let i = 0; i + 8 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 8));
      }
    }
  });

  it.each([
    ['another ID token', deriveCacheKey('id.token.two', scope)],
    [
      'the same ID token in another environment',
      deriveCacheKey('id.token.one', { ...scope, environment: 'prod' }),
    ],
    // The AAD binds the ciphertext to its pk: moved under another item's pk, it does not open.
    [
      'the right encryption key under another lookup key',
      { ...key, lookup: deriveCacheKey('x.y.z', scope).lookup },
    ],
  ])('refuses to open under %s', (_name, other) => {
    expect(() => open(seal(session, key), other)).toThrow(SealedEntryError);
  });

  it.each([
    ['a flipped ciphertext bit', (b: Buffer) => b.fill(b[20] ^ 1, 20, 21)],
    ['a flipped tag bit', (b: Buffer) => b.fill(b[b.length - 1] ^ 1, b.length - 1)],
    ['truncation', (b: Buffer) => b.subarray(0, 20)],
    ['garbage', () => Buffer.from('not a sealed entry at all, just bytes')],
  ])('refuses %s with a SealedEntryError', (_name, damage) => {
    expect(() => open(damage(Buffer.from(seal(session, key))), key)).toThrow(SealedEntryError);
  });
});
