/**
 * Shared-tier hit: a second proxy instance, sharing only the DynamoDB table (dynalite on
 * loopback) with the instance that exchanged, serves two users alternately with a one-entry
 * memory tier, so every request misses memory and must be a shared-tier hit. Reports latency
 * through the handler and DynamoDB round trips per request (the design says exactly one).
 */
import { buildApp } from '../lambda/proxy/app.js';
import { startDynalite } from '../test/helpers/dynalite.js';
import type { FakeKmsKey } from '../test/helpers/kms.js';
import { startHarness } from '../test/helpers/proxy-harness.js';
import { benchTelemetry, tokenEvent } from './common.js';
import { type Summary, summarise } from './stats.js';

/** Result of the shared-tier benchmark. */
export interface SharedHitResult {
  readonly latency: Summary;
  readonly roundTripsPerRequest: number;
  readonly upstreamCallsByReader: number;
}

/** Measures `iterations` shared-tier hits after `warmup`. */
export async function benchSharedHit(
  kmsKey: FakeKmsKey,
  iterations = 2_000,
  warmup = 200,
): Promise<SharedHitResult> {
  const table = await startDynalite('bench-cache');
  const env = { CACHE: 'on', CACHE_TABLE: table.tableName, MEMORY_CACHE_SIZE: '1' };
  const h = await startHarness({
    env,
    kmsKey,
    overrides: { telemetry: benchTelemetry(), fetch: globalThis.fetch, dynamo: table.newClient() },
  });
  try {
    const events = [
      tokenEvent(await h.emulator.idToken({ sub: 'user-a' })),
      tokenEvent(await h.emulator.idToken({ sub: 'user-b' })),
    ];
    for (const event of events) {
      const primed = await h.app.handler(event);
      if (primed.statusCode !== 200) throw new Error(`priming exchange failed: ${primed.body}`);
    }
    const exchanges = h.emulator.records().length;
    let roundTrips = 0;
    const readerClient = table.newClient();
    readerClient.middlewareStack.add(
      (next) => (args) => {
        roundTrips++;
        return next(args);
      },
      { step: 'initialize', name: 'countRoundTrips' },
    );
    const reader = await buildApp(h.config, {
      signer: h.app.signer,
      telemetry: benchTelemetry(),
      dynamo: readerClient,
      fetch: globalThis.fetch,
    });
    const samples: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      if (i === warmup) roundTrips = 0;
      const t = performance.now();
      const res = await reader.handler(events[i % 2] as (typeof events)[number]);
      if (i >= warmup) samples.push(performance.now() - t);
      if (res.statusCode !== 200) throw new Error(`shared hit failed: ${res.statusCode} ${res.body}`);
    }
    return {
      latency: summarise(samples),
      roundTripsPerRequest: roundTrips / iterations,
      upstreamCallsByReader: h.emulator.records().length - exchanges,
    };
  } finally {
    await h.close();
    await table.stop();
  }
}
