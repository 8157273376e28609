/**
 * The stampede the cache exists to stop: 1,000 concurrent `POST /token` over HTTP for 10 distinct
 * ID tokens, through the handler against the emulator, with both tiers on.
 */
import { SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../../../lambda/proxy/telemetry.js';
import { type DynaliteTable, startDynalite } from '../../../helpers/dynalite.js';
import { type Harness, startHarness } from '../../../helpers/proxy-harness.js';

const REQUESTS = 1_000;
const USERS = 10;

describe('a burst of requests', () => {
  let table: DynaliteTable;
  let h: Harness;

  beforeAll(async () => {
    table = await startDynalite();
    h = await startHarness({
      env: { CACHE_TABLE: table.tableName },
      overrides: { dynamo: table.newClient() },
      // Production's attempt timeout: 1,000 requests on one event loop with the emulator can hold
      // an answer past the harness's 2 s, and a retried attempt is a second exchange by design.
      client: { retry: { attemptTimeoutMs: 8_000, deadlineMs: 20_000 } },
    });
  });
  afterAll(async () => {
    await h.close();
    await table.stop();
  });

  it(`${REQUESTS} concurrent requests for ${USERS} ID tokens make exactly ${USERS} exchanges and ${USERS} KMS signatures`, async () => {
    // Prepare
    const idTokens = await Promise.all(
      Array.from({ length: USERS }, (_, i) => h.idToken({ sub: `55500011${String(i).padStart(4, '0')}` })),
    );
    const signsBefore = h.kms.commandCalls(SignCommand).length;

    // Act
    const started = performance.now();
    const responses = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => h.postToken({ subject_token: idTokens[i % USERS] })),
    );
    const elapsedMs = performance.now() - started;

    // Assess
    expect(responses.filter((r) => r.status !== 200)).toEqual([]);
    const records = h.emulator.records();
    expect(records).toHaveLength(USERS);
    expect(records.every((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:token-exchange')).toBe(
      true,
    );
    expect(h.kms.commandCalls(SignCommand).length - signsBefore).toBe(USERS);
    // Every user got their own token, and the same one on each of their requests.
    for (let u = 0; u < USERS; u++) {
      const tokens = new Set(responses.filter((_, i) => i % USERS === u).map((r) => r.body.access_token));
      expect(tokens.size).toBe(1);
      expect(h.emulator.introspect([...tokens][0] as string)?.sub).toBe(
        `55500011${String(u).padStart(4, '0')}`,
      );
    }
    const counters = h.telemetry.counters;
    expect(counters.get(METRIC.cacheMiss)).toBe(USERS);
    expect(counters.get(METRIC.cacheHitMemory)).toBe(REQUESTS - USERS);
    expect(counters.get(METRIC.upstreamExchange)).toBe(USERS);
    console.info(`burst: ${REQUESTS} requests, ${USERS} exchanges, ${Math.round(elapsedMs)} ms`);
  });
});
