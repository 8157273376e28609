/**
 * Cache hit: `POST /token` through the real handler (API Gateway event in, response out) served
 * from the memory tier, next to the floor: a trivial handler driven through the same event path.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyEvent } from '../lambda/handler.js';
import { startHarness } from '../test/helpers/proxy-harness.js';
import { benchTelemetry, tokenEvent } from './common.js';
import { measure, type Summary } from './stats.js';

/** Result of the cache hit benchmark. */
export interface HitResult {
  readonly hit: Summary;
  readonly floor: Summary;
  readonly exchanges: number;
}

/** The floor: does what any handler must (parse the body, answer JSON) and nothing else. */
async function trivialHandler(event: ProxyEvent): Promise<APIGatewayProxyResult> {
  const body = JSON.parse(event.body ?? '{}') as { subject_token?: string };
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({
      access_token: body.subject_token?.slice(0, 28),
      token_type: 'Bearer',
      expires_in: 599,
    }),
  };
}

/** Measures `iterations` hits after `warmup`. */
export async function benchHit(iterations = 20_000, warmup = 2_000): Promise<HitResult> {
  const h = await startHarness({
    env: { CACHE: 'on' },
    overrides: { telemetry: benchTelemetry(), fetch: globalThis.fetch },
  });
  try {
    const event = tokenEvent(await h.emulator.idToken());
    const first = await h.app.handler(event);
    if (first.statusCode !== 200) throw new Error(`priming exchange failed: ${first.statusCode}`);
    const floor = await measure(() => trivialHandler(event), iterations, warmup);
    const hit = await measure(() => h.app.handler(event), iterations, warmup);
    return { hit, floor, exchanges: h.emulator.records().length };
  } finally {
    await h.close();
  }
}
