/**
 * The shared tier for real: two proxy instances that share only a DynamoDB table (dynalite on
 * loopback, started here), one NHS emulator, and one clock that the tests move so tokens expire
 * without waiting. Instance A is the HTTP harness; instance B is a second app on the same table.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SignCommand } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../../lambda/platform/clock.js';
import { type App, buildApp } from '../../../../lambda/proxy/app.js';
import { deriveCacheKey } from '../../../../lambda/proxy/cache/cache-key.js';
import { open, SealedEntryError } from '../../../../lambda/proxy/cache/sealed.js';
import type { CachedSession } from '../../../../lambda/proxy/cache/session.js';
import { METRIC, memoryTelemetry } from '../../../../lambda/proxy/telemetry.js';
import { type DynaliteTable, startDynalite } from '../../../helpers/dynalite.js';
import { type FakeKmsKey, rsaKey } from '../../../helpers/kms.js';
import { inspect, registerSecret } from '../../../helpers/leak-guard.js';
import {
  HARNESS_API_KEY,
  HARNESS_CLIENT_SECRET,
  HARNESS_KEY_ARN,
  startHarness,
} from '../../../helpers/proxy-harness.js';

const kmsKey: FakeKmsKey = { keyId: HARNESS_KEY_ARN, privateKey: rsaKey() };
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SCOPE = { environment: 'local', apiKey: HARNESS_API_KEY };
/** From receipt, an access token is served for 599 s minus the 60 s margin. */
const SERVED_FOR_MS = 539_000;

/** One proxy instance, driven through its handler with API Gateway events. */
interface Instance {
  readonly app: App;
  readonly telemetry: ReturnType<typeof memoryTelemetry>;
  readonly dynamo: DynamoDBClient;
  token(idToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Registers the tokens in every NHS answer with the leak guard before the proxy sees them. */
const secretRegisteringFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  for (const m of (await response.clone().text()).matchAll(/"(?:access|refresh)_token"\s*:\s*"([^"]+)"/g)) {
    registerSecret(m[1]);
  }
  return response;
};

function instance(app: App, telemetry: Instance['telemetry'], dynamo: DynamoDBClient): Instance {
  return {
    app,
    telemetry,
    dynamo,
    async token(idToken) {
      const res = await app.handler({
        httpMethod: 'POST',
        path: '/token',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject_token: idToken }),
        isBase64Encoded: false,
      });
      const body = JSON.parse(res.body) as Record<string, unknown>;
      if (typeof body.access_token === 'string') registerSecret(body.access_token);
      else inspect(body);
      return { status: res.statusCode, body };
    },
  };
}

/** Instance A (the harness, with the emulator) and instance B, sharing `table` and `clock`. */
async function startPair(table: DynaliteTable, env: Record<string, string> = {}) {
  const clock = new ManualClock();
  const cacheEnv = { CACHE_TABLE: table.tableName, ...env };
  const dynamoA = table.newClient();
  const h = await startHarness({
    kmsKey,
    env: cacheEnv,
    emulator: { clock },
    overrides: { clock, dynamo: dynamoA },
  });
  const a = instance(h.app, h.telemetry, dynamoA);
  const telemetryB = memoryTelemetry();
  const dynamoB = table.newClient();
  const appB = await buildApp(h.config, {
    signer: h.app.signer,
    telemetry: telemetryB,
    clock,
    dynamo: dynamoB,
    fetch: secretRegisteringFetch,
  });
  const b = instance(appB, telemetryB, dynamoB);
  const grants = () => h.emulator.records().map((r) => (r.grantType === EXCHANGE ? 'exchange' : r.grantType));
  return { h, a, b, clock, grants };
}

/** The session stored for `idToken`, decrypted as only the holder of that ID token can. */
async function storedSession(table: DynaliteTable, idToken: string): Promise<CachedSession> {
  const key = deriveCacheKey(idToken, SCOPE);
  const { Item } = await table.client.send(
    new GetItemCommand({ TableName: table.tableName, Key: { pk: { S: key.id } } }),
  );
  const session = open(Item?.ct?.B as Uint8Array, key);
  registerSecret(session.refreshToken);
  return session;
}

const count = (i: Instance, name: (typeof METRIC)[keyof typeof METRIC]) => i.telemetry.counters.get(name);

describe('shared cache tier on dynalite', () => {
  let table: DynaliteTable;
  let pair: Awaited<ReturnType<typeof startPair>>;

  beforeAll(async () => {
    table = await startDynalite();
  });
  afterAll(() => table.stop());
  afterEach(async () => {
    inspect(...pair.b.telemetry.lines);
    await pair.h.close();
  });

  it('serves a second instance from the table with zero upstream calls and one GetItem', async () => {
    // Prepare
    pair = await startPair(table);
    const { h, a, b } = pair;
    const idToken = await h.idToken({ sub: '555000111222' });
    const sends = vi.spyOn(b.dynamo, 'send');

    // Act
    const fromA = await a.token(idToken);
    const fromB = await b.token(idToken);
    const againFromB = await b.token(idToken);

    // Assess
    expect(pair.grants()).toEqual(['exchange']);
    expect([fromA.status, fromB.status, againFromB.status]).toEqual([200, 200, 200]);
    expect(fromB.body.access_token).toBe(fromA.body.access_token);
    expect(h.emulator.introspect(fromB.body.access_token as string)).toMatchObject({
      sub: '555000111222',
      active: true,
    });
    expect(sends).toHaveBeenCalledTimes(1);
    expect(sends.mock.calls[0]?.[0]).toBeInstanceOf(GetItemCommand);
    expect([
      count(b, METRIC.cacheHitShared),
      count(b, METRIC.cacheHitMemory),
      count(b, METRIC.cacheMiss),
    ]).toEqual([1, 1, 0]);
    expect(b.telemetry.lines.at(-2)?.fields).toMatchObject({ cache: 'shared' });
  });

  it('honours the margin, then refreshes once (no KMS signature) and the other instance reads the refreshed token', async () => {
    // Prepare
    pair = await startPair(table);
    const { h, a, b, clock } = pair;
    const idToken = await h.idToken();
    const first = await a.token(idToken);
    await b.token(idToken);
    const signs = h.kms.commandCalls(SignCommand).length;

    // Act
    clock.advance(SERVED_FOR_MS - 1);
    const insideMargin = [await a.token(idToken), await b.token(idToken)];
    clock.advance(1);
    const refreshed = await a.token(idToken);
    const fromB = await b.token(idToken);

    // Assess
    expect(insideMargin.map((r) => r.body.access_token)).toEqual([
      first.body.access_token,
      first.body.access_token,
    ]);
    expect(insideMargin[0]?.body.expires_in).toBe(60);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect(refreshed.body.expires_in).toBe(599);
    expect(fromB.body.access_token).toBe(refreshed.body.access_token);
    expect(pair.grants()).toEqual(['exchange', 'refresh_token']);
    expect(h.kms.commandCalls(SignCommand)).toHaveLength(signs);
    expect(h.telemetry.lines.at(-1)?.fields).toMatchObject({ cache: 'refresh', grant: 'refresh_token' });
    expect(count(b, METRIC.cacheHitShared)).toBe(2);
  });

  it('leases the refresh: two instances refreshing the same entry at once make exactly one refresh_token call', async () => {
    // Prepare: both hold the session; the refresh is slowed so both see it stale at the same time.
    pair = await startPair(table);
    const { h, a, b, clock } = pair;
    const idToken = await h.idToken();
    await a.token(idToken);
    await b.token(idToken);
    clock.advance(SERVED_FOR_MS);
    h.emulator.injectFaults({ kind: 'delay', ms: 300 });

    // Act
    const [fromA, fromB] = await Promise.all([a.token(idToken), b.token(idToken)]);

    // Assess
    expect(pair.grants()).toEqual(['exchange', 'refresh_token']);
    expect([fromA.status, fromB.status]).toEqual([200, 200]);
    expect(fromB.body.access_token).toBe(fromA.body.access_token);
    expect(count(a, METRIC.leaseContention) + count(b, METRIC.leaseContention)).toBe(1);
    expect(count(a, METRIC.cacheHitShared) + count(b, METRIC.cacheHitShared)).toBe(2);
  });

  it('when the lease holder is slower than LEASE_WAIT_MS, the other exchanges and never reuses the refresh token', async () => {
    // Prepare
    pair = await startPair(table, { LEASE_WAIT_MS: '150' });
    const { h, a, b, clock } = pair;
    const idToken = await h.idToken();
    await a.token(idToken);
    await b.token(idToken);
    clock.advance(SERVED_FOR_MS);
    h.emulator.injectFaults({ kind: 'delay', ms: 700 });

    // Act
    const [fromA, fromB] = await Promise.all([a.token(idToken), b.token(idToken)]);

    // Assess
    expect([fromA.status, fromB.status]).toEqual([200, 200]);
    expect(pair.grants().sort()).toEqual(['exchange', 'exchange', 'refresh_token']);
    expect(h.emulator.records().every((r) => r.status === 200)).toBe(true);
    expect(count(a, METRIC.leaseContention) + count(b, METRIC.leaseContention)).toBe(1);
  });

  it('falls back to a fresh exchange when NHS refuses the refresh token (invalid_grant)', async () => {
    // Prepare: someone redeems the single-use refresh token behind the proxy's back.
    pair = await startPair(table);
    const { h, a, clock } = pair;
    const idToken = await h.idToken();
    await a.token(idToken);
    const { refreshToken } = await storedSession(table, idToken);
    const stolen = await fetch(h.emulator.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: HARNESS_API_KEY,
        client_secret: HARNESS_CLIENT_SECRET,
        refresh_token: refreshToken as string,
      }).toString(),
    });
    registerSecret(...Object.values((await stolen.json()) as Record<string, string>));
    clock.advance(SERVED_FOR_MS);

    // Act
    const res = await a.token(idToken);

    // Assess
    expect(res.status).toBe(200);
    expect(
      h.emulator.records().map((r) => [r.grantType === EXCHANGE ? 'exchange' : r.grantType, r.status]),
    ).toEqual([
      ['exchange', 200],
      ['refresh_token', 200],
      ['refresh_token', 401],
      ['exchange', 200],
    ]);
    expect(h.emulator.records()[2]?.error).toBe('invalid_grant');
    expect(h.telemetry.lines.at(-1)?.fields).toMatchObject({ cache: 'miss', grant: 'token-exchange' });
    expect((await storedSession(table, idToken)).accessToken).toBe(res.body.access_token);
  });

  it('treats a corrupted item as a miss, counts CacheError, and overwrites it', async () => {
    // Prepare
    pair = await startPair(table);
    const { h, a, b } = pair;
    const idToken = await h.idToken();
    await a.token(idToken);
    const key = deriveCacheKey(idToken, SCOPE);
    const [item] = (await table.scan()).filter((i) => i.pk?.S === key.id);
    await table.client.send(
      new PutItemCommand({ TableName: table.tableName, Item: { ...item, ct: { B: new Uint8Array(80) } } }),
    );

    // Act
    const res = await b.token(idToken);

    // Assess
    expect(res.status).toBe(200);
    expect(pair.grants()).toEqual(['exchange', 'exchange']);
    expect(count(b, METRIC.cacheError)).toBe(1);
    expect(b.telemetry.lines.find((l) => l.message === 'token_cache_error')?.fields).toEqual({
      operation: 'get',
      error: 'CorruptEntry',
    });
    expect((await storedSession(table, idToken)).accessToken).toBe(res.body.access_token);
  });

  it('stores nothing usable: no piece of any token in the item, and another ID token cannot decrypt it', async () => {
    // Prepare
    pair = await startPair(table);
    const { h, a } = pair;
    const idToken = await h.idToken();
    const otherIdToken = await h.idToken();

    // Act
    const res = await a.token(idToken);

    // Assess
    const key = deriveCacheKey(idToken, SCOPE);
    const item = (await table.scan()).find((i) => i.pk?.S === key.id);
    expect(Object.keys(item ?? {}).sort()).toEqual(['ct', 'expiresAt', 'pk', 'rev', 'v']);
    const session = await storedSession(table, idToken);
    expect(session.accessToken).toBe(res.body.access_token);
    const ct = Buffer.from(item?.ct?.B as Uint8Array);
    const stored = [
      item?.pk?.S,
      item?.rev?.S,
      item?.v?.N,
      item?.expiresAt?.N,
      ...(['latin1', 'utf8', 'base64', 'base64url', 'hex'] as const).map((e) => ct.toString(e)),
    ].join('\n');
    for (const secret of [
      idToken.split('.')[1] as string,
      session.accessToken,
      session.refreshToken as string,
    ]) {
      for (let i = 0; i + 8 <= secret.length; i++) expect(stored).not.toContain(secret.slice(i, i + 8));
    }
    expect(() => open(ct, deriveCacheKey(otherIdToken, SCOPE))).toThrow(SealedEntryError);
    // TTL: the session is unreachable once the ID token expires, refresh token or not.
    const exp = JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString()).exp;
    expect(Number(item?.expiresAt?.N)).toBe(exp);
  });
});

describe('shared cache tier when DynamoDB goes away', () => {
  it('keeps answering 200 from memory and upstream, counting CacheError', async () => {
    // Prepare
    const table = await startDynalite();
    const clock = new ManualClock();
    const h = await startHarness({
      kmsKey,
      env: { CACHE_TABLE: table.tableName },
      emulator: { clock },
      overrides: { clock, dynamo: table.newClient() },
    });
    try {
      const cached = await h.idToken();
      expect((await h.postToken({ subject_token: cached })).status).toBe(200);

      // Act
      await table.stop();
      const fresh = await h.postToken({ subject_token: await h.idToken() });
      const fromMemory = await h.postToken({ subject_token: cached });
      clock.advance(SERVED_FOR_MS);
      const refreshed = await h.postToken({ subject_token: cached });

      // Assess
      expect([fresh.status, fromMemory.status, refreshed.status]).toEqual([200, 200, 200]);
      const caches = h.telemetry.lines
        .filter((l) => l.message === 'token_request')
        .map((l) => l.fields.cache);
      expect(caches).toEqual(['miss', 'miss', 'memory', 'refresh']);
      // get + put for the new ID token, get + put for the refresh.
      expect(h.telemetry.counters.get(METRIC.cacheError)).toBe(4);
      const warning = h.telemetry.lines.find((l) => l.message === 'token_cache_error');
      expect(warning).toMatchObject({ level: 'warn', fields: { operation: 'get', error: 'ECONNREFUSED' } });
    } finally {
      await h.close();
      await table.stop();
    }
  });
});
