/**
 * What the cache keeps for one subject token, and the tier contracts the policy is written
 * against. A session is the NHS side of one CIS2 sign-in: the current access token and the
 * single-use refresh token that continues it.
 */
import type { CacheKey } from './cache-key.js';

/** A user's NHS session as cached. All instants are milliseconds since the epoch, by our clock. */
export interface CachedSession {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly issuedTokenType?: string;
  /** Our clock at receipt plus `expires_in`. */
  readonly accessExpiresAt: number;
  readonly refreshToken?: string;
  /** Our clock at receipt plus `refresh_token_expires_in`; set whenever `refreshToken` is. */
  readonly refreshExpiresAt?: number;
  /**
   * The ID token's `exp`. The key is derived from that exact token, so no request can reach the
   * session after this instant (request validation refuses an expired ID token).
   */
  readonly subjectExpiresAt: number;
  /**
   * Random id of this version of the session. A refresh lease is taken on a revision, so it can
   * only ever cover the refresh token that was read with it.
   */
  readonly rev: string;
}

/**
 * When a session stops being of any use: once neither token is valid, or once no request can
 * present its ID token any more. The shared tier's TTL attribute is this instant.
 */
export function usefulUntil(session: CachedSession): number {
  return Math.min(Math.max(session.accessExpiresAt, session.refreshExpiresAt ?? 0), session.subjectExpiresAt);
}

/** A value or a promise of it: the memory tier answers synchronously, the shared tier does not. */
export type Awaitable<T> = T | Promise<T>;

/** A place sessions are kept between requests. Freshness is judged by the policy, not the tier. */
export interface CacheTier {
  /** The session stored under `key`, unless none is or it is past {@link usefulUntil} at `now`. */
  get(key: CacheKey, now: number): Awaitable<CachedSession | undefined>;
  /** Stores `session` under `key`, replacing whatever was there. */
  put(key: CacheKey, session: CachedSession): Awaitable<void>;
}

/** The per-container tier: synchronous, so a memory hit costs no extra turn of the event loop. */
export interface LocalCacheTier extends CacheTier {
  get(key: CacheKey, now: number): CachedSession | undefined;
  put(key: CacheKey, session: CachedSession): void;
}

/** The tier shared by all containers, which also arbitrates who may redeem a refresh token. */
export interface SharedCacheTier extends CacheTier {
  get(key: CacheKey, now: number): Promise<CachedSession | undefined>;
  put(key: CacheKey, session: CachedSession): Promise<void>;
  /**
   * Takes the refresh lease on `session` (by its {@link CachedSession.rev}) until `now + leaseMs`.
   *
   * @returns `false` when another container holds an unexpired lease or the session was replaced;
   *   this container may take its own lease again.
   * @throws {@link CacheTierError} when the tier cannot answer.
   */
  lease(key: CacheKey, session: CachedSession, now: number): Promise<boolean>;
  /**
   * Claims the first exchange for `key`, which has no session yet, until `now + leaseMs`, so a
   * burst for one user across containers costs one exchange. Optional: without it every
   * container that misses exchanges.
   *
   * @returns `false` when another container holds an unexpired claim or a session arrived.
   * @throws {@link CacheTierError} when the tier cannot answer.
   */
  claimExchange?(key: CacheKey, now: number): Promise<boolean>;
}

/** Which tier operation failed; logged and counted, never surfaced to a caller. */
export type CacheOperation = 'get' | 'put' | 'lease' | 'claim';

/** A shared tier operation that failed: the service was unreachable, throttled or slow, or an entry was unusable. */
export class CacheTierError extends Error {
  constructor(
    readonly operation: CacheOperation,
    /** The AWS error name (`ProvisionedThroughputExceededException`, `TimeoutError`...) or `CorruptEntry`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`shared cache ${operation} failed: ${reason}`, options);
    this.name = 'CacheTierError';
  }
}
