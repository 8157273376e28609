/**
 * Amplification: 1,000 concurrent `POST /token` for 10 users through the handler against the
 * emulator, counting the token exchanges NHS sees and the KMS signatures; then the same with the
 * cache turned off, for contrast. The floor is one exchange and one signature per user.
 */
import { SignCommand } from '@aws-sdk/client-kms';
import { DEFAULT_RETRY_POLICY } from '../lambda/token-client.js';
import type { FakeKmsKey } from '../test/helpers/kms.js';
import { startHarness } from '../test/helpers/proxy-harness.js';
import { benchTelemetry, tokenEvent } from './common.js';

/** Upstream cost of a burst. */
export interface BurstResult {
  readonly requests: number;
  readonly users: number;
  readonly exchanges: number;
  readonly signs: number;
  readonly failures: number;
}

/** Fires `requests` concurrent requests spread over `users` ID tokens. */
export async function benchBurst(
  kmsKey: FakeKmsKey,
  cache: 'on' | 'off',
  requests = 1_000,
  users = 10,
): Promise<BurstResult> {
  const h = await startHarness({
    env: { CACHE: cache },
    kmsKey,
    // The production retry policy, not the harness's short test timeouts: RSA-4096 signing in this
    // process serialises a cache-off burst for seconds, which production (KMS remote) never does.
    client: { retry: DEFAULT_RETRY_POLICY },
    overrides: { telemetry: benchTelemetry(), fetch: globalThis.fetch },
  });
  try {
    const events = await Promise.all(
      Array.from({ length: users }, async (_, i) =>
        tokenEvent(await h.emulator.idToken({ sub: `user-${i}` })),
      ),
    );
    const results = await Promise.all(
      Array.from({ length: requests }, (_, i) => h.app.handler(events[i % users] as (typeof events)[number])),
    );
    return {
      requests,
      users,
      exchanges: h.emulator.records().filter((r) => r.grantType?.endsWith('token-exchange')).length,
      signs: h.kms.commandCalls(SignCommand).length,
      failures: results.filter((r) => r.statusCode !== 200).length,
    };
  } finally {
    await h.close();
  }
}
