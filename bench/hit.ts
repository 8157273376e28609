/**
 * Cache hit: `POST /token` through the real handler (API Gateway event in, response out) served
 * from the memory tier with production telemetry (Powertools Logger and EMF Metrics, written to a
 * null sink), next to the floor: a trivial handler driven through the same event path that writes
 * one equivalent log line (the same fields as the hit's `token_request` line) through its own
 * Powertools Logger.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyEvent } from '../lambda/proxy/handler.js';
import type { Telemetry } from '../lambda/proxy/telemetry.js';
import type { FakeKmsKey } from '../test/helpers/kms.js';
import { startHarness } from '../test/helpers/proxy-harness.js';
import { benchTelemetry, tokenEvent } from './common.js';
import { measure, type Summary } from './stats.js';

/** Result of the cache hit benchmark. */
export interface HitResult {
  readonly hit: Summary;
  readonly floor: Summary;
  readonly exchanges: number;
  /** Bytes the proxy's telemetry wrote per hit (log line and EMF line): proof it was not a no-op. */
  readonly bytesPerHit: number;
  /** Bytes the floor wrote per call. */
  readonly floorBytesPerCall: number;
}

/** The floor: does what any handler must (parse the body, log one line, answer JSON) and nothing else. */
function trivialHandler(
  telemetry: Telemetry,
  fields: Record<string, unknown>,
): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const body = JSON.parse(event.body ?? '{}') as { subject_token?: string };
    telemetry.log.info('token_request', fields);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({
        access_token: body.subject_token?.slice(0, 28),
        token_type: 'Bearer',
        expires_in: 599,
      }),
    };
  };
}

/** Measures `iterations` hits after `warmup`. */
export async function benchHit(kmsKey: FakeKmsKey, iterations = 20_000, warmup = 2_000): Promise<HitResult> {
  const telemetry = benchTelemetry();
  const h = await startHarness({
    env: { CACHE: 'on' },
    kmsKey,
    overrides: { telemetry, fetch: globalThis.fetch },
  });
  try {
    const event = tokenEvent(await h.emulator.idToken());
    const first = await h.app.handler(event);
    if (first.statusCode !== 200) throw new Error(`priming exchange failed: ${first.statusCode}`);
    await h.app.handler(event);
    if (telemetry.last.fields.cache !== 'memory') throw new Error('second request was not a memory hit');
    const floorTelemetry = benchTelemetry();
    const floorHandler = trivialHandler(floorTelemetry, { ...telemetry.last.fields });
    const floor = await measure(() => floorHandler(event), iterations, warmup);
    const before = telemetry.sink.bytes;
    const hit = await measure(() => h.app.handler(event), iterations, warmup);
    return {
      hit,
      floor,
      exchanges: h.emulator.records().length,
      bytesPerHit: (telemetry.sink.bytes - before) / (iterations + warmup),
      floorBytesPerCall: floorTelemetry.sink.bytes / (iterations + warmup),
    };
  } finally {
    await h.close();
  }
}
