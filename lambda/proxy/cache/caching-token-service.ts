/**
 * The cache policy in front of the token endpoint: which tier answers, when a cached access
 * token is still worth serving, when to refresh and who may, what to do when a refresh or the
 * table fails. The rules are spelled out in docs/token-cache.md; the comments here say why.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, sleepOn } from '../../platform/clock.js';
import { isProxyError, ProxyError, withTimeout } from '../errors.js';
import type { TokenRequest } from '../request.js';
import { METRIC, type Telemetry } from '../telemetry.js';
import type { TokenEndpointClient } from '../token-endpoint/client.js';
import type { TokenResponse } from '../token-endpoint/types.js';
import { type IssuedToken, reportedExpiry, type TokenService } from '../token-service.js';
import type { Trace } from '../trace.js';
import { type CacheKey, CacheKeyDeriver, type KeyScope } from './cache-key.js';
import {
  type CachedSession,
  type CacheOperation,
  CacheTierError,
  type LocalCacheTier,
  type SharedCacheTier,
} from './session.js';
import { SingleFlight } from './single-flight.js';

/** First pause between polls of a lease waiter; doubled after each poll. */
const FIRST_POLL_MS = 20;
/** Longest pause between polls, so a write is seen soon after it lands. */
const MAX_POLL_MS = 200;

/** Dependencies and settings of a {@link CachingTokenService}. */
export interface CachingTokenServiceOptions {
  readonly client: Pick<TokenEndpointClient, 'exchange' | 'refresh'>;
  /** What keys are bound to; read once, on the first request (the API key may come from Secrets Manager). */
  readonly scope: () => Promise<KeyScope>;
  readonly memory: LocalCacheTier;
  /** Absent when the environment has no shared table: single flight is then the only guard. */
  readonly shared?: SharedCacheTier;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  /** Seconds an access token (or refresh token) must have left to be used. */
  readonly marginS: number;
  /** Whether the `expires_in` handed out may run past the ID token's `exp`; see {@link reportedExpiry}. */
  readonly sessionOutlivesIdToken: boolean;
  /** How long a container that lost the lease race polls for the winner's session before exchanging. */
  readonly leaseWaitMs: number;
  /** How many ID tokens' derived keys are remembered. */
  readonly keyMemoSize: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A {@link TokenService} with a memory tier, an optional shared tier, refresh with a lease, and
 * single flight per ID token within the container. A cache failure never fails a request: it is
 * logged (error name only), counted as `CacheError`, and the request goes on upstream.
 */
export class CachingTokenService implements TokenService {
  private readonly marginMs: number;
  private readonly flights = new SingleFlight<CachedSession>();
  private readonly sleep: (ms: number) => Promise<void>;
  private keys?: CacheKeyDeriver;

  constructor(private readonly options: CachingTokenServiceOptions) {
    this.marginMs = options.marginS * 1000;
    this.sleep = options.sleep ?? ((ms) => sleepOn(options.clock, ms));
  }

  async getToken(request: TokenRequest, trace: Trace): Promise<IssuedToken> {
    const keys = this.keys ?? (await this.loadKeys(trace));
    const key = keys.derive(request.subjectToken);
    const { memory, telemetry } = this.options;
    const held = memory.get(key, this.options.clock.now());
    if (held && this.servable(held)) {
      trace.cache = 'memory';
      telemetry.metrics.count(METRIC.cacheHitMemory);
      return this.issue(held);
    }
    const flight = this.flights.run(key.id, () => this.resolve(request, key, held, trace));
    const session = await flight.promise;
    if (flight.joined) {
      // Served by another request's upstream call in this container: to this request, a memory hit.
      trace.cache = 'memory';
      telemetry.metrics.count(METRIC.cacheHitMemory);
    }
    return this.issue(session);
  }

  private async loadKeys(trace: Trace): Promise<CacheKeyDeriver> {
    // The scope holds the API key, a Secrets Manager read on a cold container: inside the deadline.
    const pending = this.options.scope();
    const scope =
      trace.deadlineAt === undefined
        ? await pending
        : await withTimeout(
            pending,
            trace.deadlineAt - this.options.clock.monotonicMs(),
            () =>
              new ProxyError(
                'secrets_unavailable',
                'the app credentials could not be read before the deadline',
              ),
            this.options.clock,
          );
    this.keys ??= new CacheKeyDeriver(scope, this.options.keyMemoSize);
    return this.keys;
  }

  /** Gets a session for a request the memory tier could not serve; runs once per key at a time. */
  private async resolve(
    request: TokenRequest,
    key: CacheKey,
    held: CachedSession | undefined,
    trace: Trace,
  ): Promise<CachedSession> {
    const { shared } = this.options;
    let stale = held;
    let fromShared = false;
    // Whether the table answered that it holds nothing for this key (not that it failed).
    let tableMissed = false;
    if (shared) {
      const stored = await this.readShared(shared, key);
      tableMissed = stored === undefined;
      if (stored && this.servable(stored)) return this.servedFromShared(key, stored, trace);
      // What the table holds wins over this container's copy: another container may have
      // refreshed since, and then only the table's refresh token is still unused.
      if (stored) [stale, fromShared] = [stored, true];
    }
    if (!stale || !this.refreshable(stale)) {
      // Nothing usable anywhere: across containers, one exchanges and the others wait for it.
      if (shared && tableMissed && stale === undefined && !(await this.claimFirstExchange(shared, key))) {
        this.options.telemetry.metrics.count(METRIC.leaseContention);
        // Longer than a refresh waiter: an exchange takes a signature and an NHS round trip, and
        // waiting costs the caller less than a second exchange costs the app's NHS quota. But
        // never more than half the time left, so the fallback exchange still fits the deadline.
        const left = (trace.deadlineAt ?? Number.POSITIVE_INFINITY) - this.options.clock.monotonicMs();
        const waitMs = Math.min(this.options.leaseWaitMs * 3, Math.max(0, left / 2));
        const arrived = await this.awaitOtherWrite(shared, key, undefined, waitMs);
        if (arrived) return this.servedFromShared(key, arrived, trace);
      }
      return this.exchange(request, key, trace);
    }
    // Without a table item to lease (no table, or it failed or lost the item) this container's
    // single flight is the only guard; a refresh token another container already redeemed then
    // fails with invalid_grant and the fallback below exchanges instead.
    if (shared && fromShared && !(await this.takeLease(shared, key, stale))) {
      this.options.telemetry.metrics.count(METRIC.leaseContention);
      const refreshed = await this.awaitOtherWrite(shared, key, stale.rev, this.options.leaseWaitMs);
      if (refreshed) return this.servedFromShared(key, refreshed, trace);
      // Never fall back to the refresh token we could not lease: the holder may be redeeming it.
      return this.exchange(request, key, trace);
    }
    return this.refresh(request, key, stale, trace);
  }

  private async refresh(
    request: TokenRequest,
    key: CacheKey,
    stale: CachedSession,
    trace: Trace,
  ): Promise<CachedSession> {
    let response: TokenResponse;
    try {
      response = await this.options.client.refresh(stale.refreshToken as string, trace);
    } catch (err) {
      // A refused refresh token (used elsewhere, expired, revoked) says nothing about the ID
      // token, which passed validation: exchanging it is the normal way back. So does a refused
      // client secret (`invalid_client`): the exchange authenticates with the KMS-signed assertion
      // instead, and must not be held hostage by a wrong secret for the refresh token's 12 hours.
      // Any other failure (NHS down, rate limiting, timeouts) is surfaced: an exchange would meet
      // the same NHS and spend a KMS signature and a jti on it.
      if (!isProxyError(err) || (err.code !== 'refresh_rejected' && err.code !== 'client_rejected'))
        throw err;
      this.options.telemetry.log.warn('token_cache_refresh_rejected', {
        correlation_id: trace.correlationId,
        error_code: err.code,
        upstream_error: err.upstream?.error,
        message_id: err.messageId,
      });
      return this.exchange(request, key, trace);
    }
    const session = this.sessionOf(response, request, stale.issuedTokenType);
    await this.store(key, session);
    trace.cache = 'refresh';
    this.options.telemetry.metrics.count(METRIC.cacheMiss);
    return session;
  }

  private async exchange(request: TokenRequest, key: CacheKey, trace: Trace): Promise<CachedSession> {
    const response = await this.options.client.exchange(request.subjectToken, trace);
    const session = this.sessionOf(response, request, undefined);
    await this.store(key, session);
    trace.cache = 'miss';
    this.options.telemetry.metrics.count(METRIC.cacheMiss);
    return session;
  }

  private servedFromShared(key: CacheKey, session: CachedSession, trace: Trace): CachedSession {
    this.options.memory.put(key, session);
    trace.cache = 'shared';
    this.options.telemetry.metrics.count(METRIC.cacheHitShared);
    return session;
  }

  /** Tries to take the refresh lease; if the table cannot answer, refreshes anyway (see resolve). */
  private async takeLease(shared: SharedCacheTier, key: CacheKey, session: CachedSession): Promise<boolean> {
    try {
      return await shared.lease(key, session, this.options.clock.now());
    } catch (err) {
      this.reportCacheError('lease', err);
      return true;
    }
  }

  /** Tries to claim the first exchange; if the table cannot answer, exchanges anyway. */
  private async claimFirstExchange(shared: SharedCacheTier, key: CacheKey): Promise<boolean> {
    if (!shared.claimExchange) return true;
    try {
      return await shared.claimExchange(key, this.options.clock.now());
    } catch (err) {
      this.reportCacheError('claim', err);
      return true;
    }
  }

  /**
   * Polls the table for the session the lease or claim holder will write (one whose revision is
   * not `staleRev`), with doubling pauses of at most {@link MAX_POLL_MS}, for at most `waitMs`.
   * Gives up early if the table fails.
   */
  private async awaitOtherWrite(
    shared: SharedCacheTier,
    key: CacheKey,
    staleRev: string | undefined,
    waitMs: number,
  ): Promise<CachedSession | undefined> {
    const deadline = this.options.clock.monotonicMs() + waitMs;
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(MAX_POLL_MS, pause * 2)) {
      const left = deadline - this.options.clock.monotonicMs();
      if (left <= 0) return undefined;
      await this.sleep(Math.min(pause, left));
      const stored = await this.readShared(shared, key);
      if (stored === null) return undefined;
      if (stored && stored.rev !== staleRev && this.servable(stored)) return stored;
    }
  }

  /** The table's session for `key`; `null` (reported) when the table failed or the item is unusable. */
  private async readShared(
    shared: SharedCacheTier,
    key: CacheKey,
  ): Promise<CachedSession | undefined | null> {
    try {
      return await shared.get(key, this.options.clock.now());
    } catch (err) {
      this.reportCacheError('get', err);
      return null;
    }
  }

  /** Keeps a new session in both tiers; a failed table write only costs other containers a miss. */
  private async store(key: CacheKey, session: CachedSession): Promise<void> {
    this.options.memory.put(key, session);
    if (!this.options.shared) return;
    try {
      await this.options.shared.put(key, session);
    } catch (err) {
      this.reportCacheError('put', err);
    }
  }

  private reportCacheError(operation: CacheOperation, err: unknown): void {
    const reason =
      err instanceof CacheTierError ? err.reason : err instanceof Error ? err.name : 'UnknownError';
    this.options.telemetry.metrics.count(METRIC.cacheError);
    this.options.telemetry.log.warn('token_cache_error', { operation, error: reason });
  }

  private servable(session: CachedSession): boolean {
    return session.accessExpiresAt - this.marginMs > this.options.clock.now();
  }

  private refreshable(session: CachedSession): boolean {
    return (
      session.refreshToken !== undefined &&
      (session.refreshExpiresAt ?? 0) - this.marginMs > this.options.clock.now()
    );
  }

  private sessionOf(
    response: TokenResponse,
    request: TokenRequest,
    issuedTokenType: string | undefined,
  ): CachedSession {
    const refreshExpiresAt =
      response.refreshToken && response.refreshTokenExpiresInS !== undefined
        ? response.receivedAt + response.refreshTokenExpiresInS * 1000
        : undefined;
    return {
      accessToken: response.accessToken,
      tokenType: response.tokenType,
      // The refresh grant's answer has no issued_token_type; the session's first one still holds.
      issuedTokenType: response.issuedTokenType ?? issuedTokenType,
      accessExpiresAt: response.receivedAt + response.expiresInS * 1000,
      refreshToken: refreshExpiresAt === undefined ? undefined : response.refreshToken,
      refreshExpiresAt,
      subjectExpiresAt: request.subjectExpiresAt,
      rev: randomBytes(12).toString('base64url'),
    };
  }

  private issue(session: CachedSession): IssuedToken {
    return {
      accessToken: session.accessToken,
      tokenType: session.tokenType,
      expiresAt: reportedExpiry(
        session.accessExpiresAt,
        session.subjectExpiresAt,
        this.options.sessionOutlivesIdToken,
      ),
      issuedTokenType: session.issuedTokenType,
    };
  }
}
