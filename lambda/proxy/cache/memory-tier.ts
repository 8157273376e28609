/**
 * The per-container tier: a bounded LRU of plaintext sessions. It lives only in the Lambda
 * container's memory, which already holds every token it handles, so nothing is encrypted here.
 */
import type { CacheKey } from './cache-key.js';
import { LruMap } from './lru.js';
import { type CachedSession, type LocalCacheTier, usefulUntil } from './session.js';

/** Sessions of the most recently served ID tokens of this container. */
export class MemoryTier implements LocalCacheTier {
  private readonly sessions: LruMap<string, CachedSession>;

  /** @param capacity - most sessions held; the least recently used go first. */
  constructor(capacity: number) {
    this.sessions = new LruMap(capacity);
  }

  /** Number of sessions held. */
  get size(): number {
    return this.sessions.size;
  }

  get(key: CacheKey, now: number): CachedSession | undefined {
    const session = this.sessions.get(key.id);
    if (session && usefulUntil(session) <= now) {
      this.sessions.delete(key.id);
      return undefined;
    }
    return session;
  }

  put(key: CacheKey, session: CachedSession): void {
    this.sessions.set(key.id, session);
  }
}
