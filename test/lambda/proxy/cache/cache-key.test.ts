import { hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CACHE_KEY_SALT,
  CacheKeyDeriver,
  deriveCacheKey,
  ENCRYPTION_KEY_LABEL,
  LOOKUP_KEY_LABEL,
} from '../../../../lambda/proxy/cache/cache-key.js';

const scope = { environment: 'int', apiKey: 'app-key-1' };
const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI1NTUifQ.c2lnbmF0dXJl';

describe('deriveCacheKey', () => {
  it('is HKDF-SHA256 over the exact token bytes with the documented salt and labels', () => {
    // Act
    const key = deriveCacheKey(token, scope);

    // Assess
    const expected = (label: string) =>
      Buffer.from(hkdfSync('sha256', Buffer.from(token), CACHE_KEY_SALT, `${label}|int|app-key-1`, 32));
    expect(key.lookup).toEqual(expected(LOOKUP_KEY_LABEL));
    expect(key.encryption).toEqual(expected(ENCRYPTION_KEY_LABEL));
    expect(key.id).toBe(expected(LOOKUP_KEY_LABEL).toString('base64url'));
    expect(key.encryption.equals(key.lookup)).toBe(false);
    expect(key.encryption).toHaveLength(32);
  });

  it.each([
    ['another environment', { ...scope, environment: 'prod' }, token],
    ['another API key', { ...scope, apiKey: 'app-key-2' }, token],
    ['a token one character different', scope, `${token.slice(0, -1)}f`],
  ])('gives different keys for %s', (_name, otherScope, otherToken) => {
    const a = deriveCacheKey(token, scope);
    const b = deriveCacheKey(otherToken, otherScope);
    expect(b.id).not.toBe(a.id);
    expect(b.encryption.equals(a.encryption)).toBe(false);
  });

  it('never collides or leaks the token for arbitrary distinct tokens (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (t1, t2) => {
        fc.pre(t1 !== t2);
        const [a, b] = [deriveCacheKey(t1, scope), deriveCacheKey(t2, scope)];
        expect(a.id).not.toBe(b.id);
        expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
      { numRuns: 200 },
    );
  });
});

describe('CacheKeyDeriver', () => {
  it('remembers recent tokens and derives the same keys as deriveCacheKey', () => {
    // Prepare
    const deriver = new CacheKeyDeriver(scope, 2);

    // Act
    const first = deriver.derive(token);
    const again = deriver.derive(token);

    // Assess
    expect(again).toBe(first);
    expect(first).toEqual(deriveCacheKey(token, scope));
  });

  it('is bounded: a forgotten token is derived again, to the same keys', () => {
    const deriver = new CacheKeyDeriver(scope, 1);
    const first = deriver.derive('a.b.c');
    deriver.derive('d.e.f');
    const again = deriver.derive('a.b.c');
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
