/**
 * The cache policy with the token endpoint and the shared tier faked: margin, refresh and its
 * fallbacks, single flight, lease waiting, degradation, and the ID-token cap on `expires_in`.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../../lambda/platform/clock.js';
import type { CacheKey } from '../../../../lambda/proxy/cache/cache-key.js';
import {
  CachingTokenService,
  type CachingTokenServiceOptions,
} from '../../../../lambda/proxy/cache/caching-token-service.js';
import { MemoryTier } from '../../../../lambda/proxy/cache/memory-tier.js';
import {
  type CachedSession,
  CacheTierError,
  type SharedCacheTier,
} from '../../../../lambda/proxy/cache/session.js';
import { ProxyError } from '../../../../lambda/proxy/errors.js';
import type { TokenRequest } from '../../../../lambda/proxy/request.js';
import { METRIC, memoryTelemetry } from '../../../../lambda/proxy/telemetry.js';
import type { TokenResponse } from '../../../../lambda/proxy/token-endpoint/types.js';
import { newTrace, type Trace } from '../../../../lambda/proxy/trace.js';

const T0 = 1_800_000_000_000;

/** A shared tier in a Map; `failing` makes every call throw as an unreachable table would. */
class FakeSharedTier implements SharedCacheTier {
  readonly items = new Map<string, CachedSession>();
  readonly leases = new Set<string>();
  failing = false;
  calls = 0;
  async get(key: CacheKey): Promise<CachedSession | undefined> {
    this.check('get');
    return this.items.get(key.id);
  }
  async put(key: CacheKey, session: CachedSession): Promise<void> {
    this.check('put');
    this.items.set(key.id, session);
  }
  async lease(key: CacheKey, session: CachedSession): Promise<boolean> {
    this.check('lease');
    const id = `${key.id}/${session.rev}`;
    if (this.leases.has(id) || this.items.get(key.id)?.rev !== session.rev) return false;
    this.leases.add(id);
    return true;
  }
  private check(operation: 'get' | 'put' | 'lease'): void {
    this.calls++;
    if (this.failing) throw new CacheTierError(operation, 'ProvisionedThroughputExceededException');
  }
}

let counter = 0;
function tokenResponse(clock: ManualClock, withRefresh = true): TokenResponse {
  counter++;
  return {
    accessToken: `access-${counter}`,
    tokenType: 'Bearer',
    expiresInS: 599,
    issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
    refreshToken: withRefresh ? `refresh-${counter}` : undefined,
    refreshTokenExpiresInS: withRefresh ? 43_199 : undefined,
    receivedAt: clock.now(),
  };
}

function setup(overrides: Partial<CachingTokenServiceOptions> = {}) {
  const clock = new ManualClock(T0);
  const telemetry = memoryTelemetry();
  const client = {
    exchange: vi.fn(async (_subject: string, _trace: Trace) => tokenResponse(clock)),
    refresh: vi.fn(async (_refresh: string, _trace: Trace) => tokenResponse(clock)),
  };
  const options: CachingTokenServiceOptions = {
    client,
    scope: async () => ({ environment: 'local', apiKey: 'api-key' }),
    memory: new MemoryTier(100),
    clock,
    telemetry,
    marginS: 60,
    sessionOutlivesIdToken: false,
    leaseWaitMs: 200,
    keyMemoSize: 100,
    ...overrides,
  };
  const service = new CachingTokenService(options);
  const request = (subjectToken = 'id.token.a', ttlMs = 3_600_000): TokenRequest => ({
    subjectToken,
    subjectExpiresAt: clock.now() + ttlMs,
  });
  const get = async (req: TokenRequest) => {
    const trace = newTrace('c');
    const token = await service.getToken(req, trace);
    return { token, trace };
  };
  const count = (name: (typeof METRIC)[keyof typeof METRIC]) => telemetry.counters.get(name);
  return { clock, telemetry, client, service, request, get, count };
}

beforeEach(() => {
  counter = 0;
});

describe('CachingTokenService, memory tier only', () => {
  it('exchanges once, then serves the same token from memory', async () => {
    // Prepare
    const t = setup();
    const req = t.request();

    // Act
    const first = await t.get(req);
    const second = await t.get(req);

    // Assess
    expect(t.client.exchange).toHaveBeenCalledTimes(1);
    expect(second.token).toEqual(first.token);
    expect([first.trace.cache, second.trace.cache]).toEqual(['miss', 'memory']);
    expect(first.token.expiresAt).toBe(T0 + 599_000);
    expect([t.count(METRIC.cacheMiss), t.count(METRIC.cacheHitMemory)]).toEqual([1, 1]);
  });

  it('serves a token while it has more than the margin left, and refreshes it (no exchange) after', async () => {
    // Prepare
    const t = setup();
    const req = t.request();
    await t.get(req);

    // Act
    t.clock.set(T0 + 599_000 - 60_001);
    const justInside = await t.get(req);
    t.clock.advance(1);
    const atMargin = await t.get(req);

    // Assess
    expect(justInside.trace.cache).toBe('memory');
    expect(atMargin.trace.cache).toBe('refresh');
    expect(t.client.refresh).toHaveBeenCalledWith('refresh-1', expect.anything());
    expect(t.client.exchange).toHaveBeenCalledTimes(1);
    expect(atMargin.token.accessToken).toBe('access-2');
    // The refresh grant's answer has no issued_token_type; the session's is kept.
    expect(atMargin.token.issuedTokenType).toBe('urn:ietf:params:oauth:token-type:access_token');
  });

  it('exchanges instead when the refresh token is within the margin of its own expiry', async () => {
    const t = setup();
    t.client.exchange.mockImplementationOnce(async () => ({
      ...tokenResponse(t.clock),
      refreshTokenExpiresInS: 600,
    }));
    const req = t.request();
    await t.get(req);
    t.clock.advance(541_000);
    const after = await t.get(req);
    expect(after.trace.cache).toBe('miss');
    expect(t.client.refresh).not.toHaveBeenCalled();
    expect(t.client.exchange).toHaveBeenCalledTimes(2);
  });

  it.each([
    [
      'the refresh token (invalid_grant)',
      new ProxyError('refresh_rejected', 'NHS answered 401 invalid_grant'),
    ],
    [
      'the client secret (invalid_client)',
      new ProxyError('client_rejected', 'NHS answered 401 invalid_client', {
        upstream: { status: 401, error: 'invalid_client' },
      }),
    ],
  ])('falls back to a fresh exchange when NHS refuses %s', async (_what, refusal) => {
    // Prepare
    const t = setup();
    const req = t.request();
    await t.get(req);
    t.client.refresh.mockRejectedValueOnce(refusal);
    t.clock.advance(540_000);

    // Act
    const after = await t.get(req);

    // Assess
    // access-1 came from the first exchange; the refused refresh issued nothing.
    expect(after.token.accessToken).toBe('access-2');
    expect(after.trace.cache).toBe('miss');
    expect(t.client.exchange).toHaveBeenCalledTimes(2);
    expect(t.telemetry.lines.map((l) => l.message)).toContain('token_cache_refresh_rejected');
  });

  it('surfaces any other refresh failure without exchanging, and caches nothing from it', async () => {
    // Prepare
    const t = setup();
    const req = t.request();
    await t.get(req);
    t.client.refresh.mockRejectedValueOnce(
      new ProxyError('nhs_unavailable', 'NHS token endpoint failed with 503'),
    );
    t.clock.advance(540_000);

    // Act
    const failed = t.get(req);

    // Assess
    await expect(failed).rejects.toMatchObject({ code: 'nhs_unavailable' });
    expect(t.client.exchange).toHaveBeenCalledTimes(1);
    const retried = await t.get(req);
    expect(retried.trace.cache).toBe('refresh');
    expect(t.client.refresh).toHaveBeenCalledTimes(2);
  });

  it('collapses concurrent requests for one ID token into one exchange; a failure reaches all and is not kept', async () => {
    // Prepare
    const t = setup();
    t.client.exchange.mockRejectedValueOnce(new ProxyError('nhs_unavailable', 'down'));
    const req = t.request();

    // Act
    const failed = await Promise.allSettled(Array.from({ length: 20 }, () => t.get(req)));
    const served = await Promise.all(Array.from({ length: 20 }, () => t.get(req)));

    // Assess
    expect(failed.every((o) => o.status === 'rejected')).toBe(true);
    expect(new Set(served.map((s) => s.token.accessToken))).toEqual(new Set(['access-1']));
    expect(t.client.exchange).toHaveBeenCalledTimes(2);
    expect(served.filter((s) => s.trace.cache === 'miss')).toHaveLength(1);
    expect(t.count(METRIC.cacheHitMemory)).toBe(19);
  });

  it('keys on the exact ID token: another token of the same user is another session', async () => {
    const t = setup();
    await t.get(t.request('id.token.a'));
    const other = await t.get(t.request('id.token.b'));
    expect(other.trace.cache).toBe('miss');
    expect(t.client.exchange).toHaveBeenCalledTimes(2);
  });
});

describe('CachingTokenService, expires_in and the ID token exp', () => {
  it('by default caps the reported expiry at the ID token exp, from cache as from NHS', async () => {
    const t = setup();
    const req = t.request('id.token.a', 120_000);
    const first = await t.get(req);
    const cached = await t.get(req);
    expect(first.token.expiresAt).toBe(T0 + 120_000);
    expect(cached.token.expiresAt).toBe(T0 + 120_000);
  });

  it('with sessionOutlivesIdToken reports the access token own expiry', async () => {
    const t = setup({ sessionOutlivesIdToken: true });
    const first = await t.get(t.request('id.token.a', 120_000));
    expect(first.token.expiresAt).toBe(T0 + 599_000);
  });
});

describe('CachingTokenService with a shared tier', () => {
  it('serves another container from the table with no upstream call', async () => {
    // Prepare
    const shared = new FakeSharedTier();
    const a = setup({ shared });
    const b = setup({ shared });

    // Act
    const fromA = await a.get(a.request());
    const fromB = await b.get({ ...a.request(), subjectExpiresAt: T0 + 3_600_000 });

    // Assess
    expect(fromB.token.accessToken).toBe(fromA.token.accessToken);
    expect(fromB.trace.cache).toBe('shared');
    expect(b.client.exchange).not.toHaveBeenCalled();
    expect(b.count(METRIC.cacheHitShared)).toBe(1);
  });

  it('carries on upstream and in memory when every table call fails, counting CacheError', async () => {
    // Prepare
    const shared = new FakeSharedTier();
    shared.failing = true;
    const t = setup({ shared });
    const req = t.request();

    // Act
    const first = await t.get(req);
    const second = await t.get(req);
    t.clock.advance(540_000);
    const refreshed = await t.get(req);

    // Assess
    expect([first.trace.cache, second.trace.cache, refreshed.trace.cache]).toEqual([
      'miss',
      'memory',
      'refresh',
    ]);
    // get + put on the miss, get + put on the refresh: with no table item there is nothing to
    // lease, so the memory tier's refresh token is redeemed under single flight alone.
    expect(t.count(METRIC.cacheError)).toBe(4);
    const warnings = t.telemetry.lines.filter((l) => l.message === 'token_cache_error');
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      fields: { operation: 'get', error: 'ProvisionedThroughputExceededException' },
    });
    expect(Object.keys(warnings[0]?.fields ?? {}).sort()).toEqual(['error', 'operation']);
  });

  it('refreshes anyway, counting CacheError, when the table reads but cannot take the lease', async () => {
    const shared = new FakeSharedTier();
    const t = setup({ shared });
    const req = t.request();
    await t.get(req);
    vi.spyOn(shared, 'lease').mockRejectedValueOnce(new CacheTierError('lease', 'TimeoutError'));
    t.clock.advance(540_000);
    const after = await t.get(req);
    expect(after.trace.cache).toBe('refresh');
    expect(t.client.refresh).toHaveBeenCalledTimes(1);
    expect(t.count(METRIC.cacheError)).toBe(1);
    expect(t.count(METRIC.leaseContention)).toBe(0);
  });

  it('treats an unusable table entry as a miss and overwrites it', async () => {
    const shared = new FakeSharedTier();
    const t = setup({ shared });
    const get = vi.spyOn(shared, 'get').mockRejectedValueOnce(new CacheTierError('get', 'CorruptEntry'));
    const first = await t.get(t.request());
    expect(first.trace.cache).toBe('miss');
    expect(t.count(METRIC.cacheError)).toBe(1);
    expect(shared.items.size).toBe(1);
    get.mockRestore();
  });

  it('when another container holds the lease and never writes, waits at most leaseWaitMs then exchanges', async () => {
    // Prepare
    const shared = new FakeSharedTier();
    const a = setup({ shared, leaseWaitMs: 150 });
    await a.get(a.request());
    const [stored] = [...shared.items.entries()];
    shared.leases.add(`${stored?.[0]}/${stored?.[1].rev}`);
    const b = setup({ shared, leaseWaitMs: 150 });
    b.clock.set(T0 + 540_000);

    // Act
    const started = performance.now();
    const fromB = await b.get({ subjectToken: 'id.token.a', subjectExpiresAt: T0 + 3_600_000 });
    const waited = performance.now() - started;

    // Assess
    expect(fromB.trace.cache).toBe('miss');
    expect(b.client.refresh).not.toHaveBeenCalled();
    expect(b.client.exchange).toHaveBeenCalledTimes(1);
    expect(b.count(METRIC.leaseContention)).toBe(1);
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(1_000);
  });
});
