import { describe, expect, it } from 'vitest';
import { deriveCacheKey } from '../../../../lambda/proxy/cache/cache-key.js';
import { LruMap } from '../../../../lambda/proxy/cache/lru.js';
import { MemoryTier } from '../../../../lambda/proxy/cache/memory-tier.js';
import type { CachedSession } from '../../../../lambda/proxy/cache/session.js';

describe('LruMap', () => {
  it('never holds more than its capacity and evicts the least recently used first', () => {
    // Prepare
    const lru = new LruMap<string, number>(3);
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      lru.set(k, v);

    // Act: reading 'a' makes 'b' the least recently used.
    lru.get('a');
    lru.set('d', 4);
    lru.set('e', 5);

    // Assess
    expect(lru.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => lru.get(k))).toEqual([1, undefined, undefined, 4, 5]);
  });

  it('replaces a key without growing', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1);
    lru.set('a', 2);
    expect(lru.size).toBe(1);
    expect(lru.get('a')).toBe(2);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses capacity %s', (capacity) => {
    expect(() => new LruMap(capacity)).toThrow(RangeError);
  });
});

describe('MemoryTier', () => {
  const now = 1_800_000_000_000;
  const session = (overrides: Partial<CachedSession> = {}): CachedSession => ({
    accessToken: 'access',
    tokenType: 'Bearer',
    accessExpiresAt: now + 599_000,
    refreshToken: 'refresh',
    refreshExpiresAt: now + 43_199_000,
    subjectExpiresAt: now + 3_600_000,
    rev: 'r',
    ...overrides,
  });
  const scope = { environment: 'local', apiKey: 'k' };

  it('is bounded by its capacity', () => {
    const tier = new MemoryTier(10);
    for (let i = 0; i < 25; i++) tier.put(deriveCacheKey(`t${i}`, scope), session());
    expect(tier.size).toBe(10);
    expect(tier.get(deriveCacheKey('t0', scope), now)).toBeUndefined();
    expect(tier.get(deriveCacheKey('t24', scope), now)).toBeDefined();
  });

  it('keeps a session with a stale access token while its refresh token is useful (the policy decides)', () => {
    const tier = new MemoryTier(10);
    const key = deriveCacheKey('t', scope);
    tier.put(key, session());
    expect(tier.get(key, now + 1_000_000)).toBeDefined();
  });

  it.each<[string, number, Partial<CachedSession>]>([
    ['once its ID token has expired', now + 3_600_000, {}],
    ['once neither token is valid', now + 599_000, { refreshToken: undefined, refreshExpiresAt: undefined }],
  ])('drops a session %s', (_name, at, overrides) => {
    const tier = new MemoryTier(10);
    const key = deriveCacheKey('t', scope);
    tier.put(key, session(overrides));
    expect(tier.get(key, at)).toBeUndefined();
    expect(tier.size).toBe(0);
  });
});
