/**
 * Bursts: `requests` concurrent `POST /token` for `users` users, counting the token exchanges NHS
 * sees, the KMS signatures and the failures, with the cache on and off. The floor is one exchange
 * and one signature per user. Across simulated containers: `containers` separate app instances built by `buildApp`
 * in this process with the int-like configuration, each with its own memory tier, signer and SDK
 * clients, sharing one table. KMS, the table and NHS are the stand-ins in their own process
 * (plain HTTP here: this counts calls, TLS does not change them), so RSA-4096 signing does not
 * stall this event loop as it never stalls a Lambda container. Requests for `users` users are
 * dealt round-robin so that every container sees every user, all fired at once. In-process single
 * flight cannot join requests of different instances: what keeps exchanges down across
 * containers is whatever the shared tier does. Exchanges, signatures (KMS `Sign` requests,
 * SDK retries included) and NHS failures are counted by the stand-ins.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { buildApp } from '../lambda/proxy/app.js';
import { createCacheDynamoClient } from '../lambda/proxy/cache/index.js';
import { KmsSigner } from '../lambda/proxy/signer/kms.js';
import { benchTelemetry, tokenEvent } from './common.js';
import { BENCH_AWS, BENCH_SDK_CONFIG, intLikeConfig } from './real-sdk.js';
import { adminGet, type StandInCounts, type StandIns } from './stand-ins.js';

/** Upstream cost of a burst. */
export interface BurstResult {
  readonly containers: number;
  readonly requests: number;
  readonly users: number;
  readonly exchanges: number;
  readonly signs: number;
  /** Requests not answered 200. */
  readonly failures: number;
  /** Token requests NHS answered with an error. */
  readonly nhsFailures: number;
  /** Failed answers by status and error code. */
  readonly failureCodes: Record<string, number>;
}

/** Fires `requests` concurrent requests for `users` users across `containers` app instances. */
export async function benchBurst(
  standIns: StandIns,
  tag: string,
  cache: 'on' | 'off',
  containers = 50,
  requests = 500,
  users = 10,
): Promise<BurstResult> {
  const endpoints = standIns.http;
  // This machine runs every container's CPU and the stand-ins' on two cores, so a burst takes
  // seconds that 50 Lambda containers and the KMS fleet would not: the KMS and table timeouts are
  // raised so that what is counted is the code's amplification, not this machine's queueing.
  const config = intLikeConfig(endpoints, { CACHE: cache, CACHE_TIMEOUT_MS: '5000' });
  const apps = await Promise.all(
    Array.from({ length: containers }, () =>
      buildApp(config, {
        signer: new KmsSigner({
          client: new KMSClient({ ...BENCH_SDK_CONFIG, endpoint: endpoints.kms }),
          keyId: BENCH_AWS.keyId,
          kidPrefix: config.profile.name,
          requiredKeySpec: 'RSA_4096',
          timeoutMs: 30_000,
        }),
        secretsManager: new SecretsManagerClient({ ...BENCH_SDK_CONFIG, endpoint: endpoints.secretsManager }),
        dynamo: createCacheDynamoClient(
          { ...BENCH_SDK_CONFIG, endpoint: endpoints.dynamodb },
          config.cacheTimeoutMs,
        ),
        telemetry: benchTelemetry({ fields: {} }, 'int'),
      }),
    ),
  );
  // Each container has read its public key (as at its first request) before the burst.
  await Promise.all(apps.map((app) => app.signer.publicJwk()));
  const { tokens } = await adminGet<{ tokens: string[] }>(
    standIns,
    `/id-tokens?scheme=http&count=${users}&prefix=${encodeURIComponent(`${tag}-burst-${cache}`)}`,
  );
  const events = tokens.map(tokenEvent);
  const before = await adminGet<StandInCounts>(standIns, '/counts');
  const results = await Promise.all(
    Array.from({ length: requests }, (_, i) => {
      const app = apps[i % containers] as (typeof apps)[number];
      return app.handler(events[Math.floor(i / containers) % users] as (typeof events)[number]);
    }),
  );
  const failureCodes: Record<string, number> = {};
  for (const r of results.filter((res) => res.statusCode !== 200)) {
    const code = `${r.statusCode} ${(JSON.parse(r.body) as { error?: string }).error ?? ''}`.trim();
    failureCodes[code] = (failureCodes[code] ?? 0) + 1;
  }
  const after = await adminGet<StandInCounts>(standIns, '/counts');
  const delta = (pick: (c: StandInCounts) => number | undefined) => (pick(after) ?? 0) - (pick(before) ?? 0);
  return {
    containers,
    requests,
    users,
    exchanges: delta((c) => c.nhs.http?.exchanges),
    signs: delta((c) => c.servers.kms_http?.operations['TrentService.Sign']),
    failures: results.filter((r) => r.statusCode !== 200).length,
    nhsFailures: delta((c) => c.nhs.http?.failures),
    failureCodes,
  };
}
