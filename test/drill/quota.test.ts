import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lambda/proxy/app.js';
import { memoryTelemetry } from '../../lambda/proxy/telemetry.js';
import { startDynalite } from '../helpers/dynalite.js';
import { startHarness } from '../helpers/proxy-harness.js';
import { expectDrillHolds } from './expect-drill.js';
import { alwaysThrottledDrill, callerShareDrill, forgedFloodDrill } from './quota.js';

describe('quota drills (fast)', () => {
  it('against an always-429 NHS, costs at most one NHS call per Retry-After window', async () => {
    const outcome = await expectDrillHolds(alwaysThrottledDrill);
    expect(outcome.requests).toBe(121);
    // The drill's own verdict bounds the calls; the recovery probe's calls come on top.
    expect(outcome.behaviour).toMatch(/cost [1-9] NHS calls/);
  });

  it('forged ID tokens (200 here, 1,000 in npm run drill) cost no KMS signature and no NHS call; a genuine caller is served', async () => {
    const outcome = await expectDrillHolds(forgedFloodDrill);
    expect(outcome.requests).toBe(221);
    expect(outcome.served).toBe(1);
    expect(outcome.kmsSigns).toBe(1);
  });

  it('sheds a caller over its share with 429 while another caller is served', async () => {
    const outcome = await expectDrillHolds(callerShareDrill);
    expect(outcome.failuresByCode).toEqual({ '429 rate_limited': 5 });
  });
});

describe('cross-container burst (shared tier)', () => {
  it('1,000 requests for 10 users across 50 containers sharing the table cost at most 12 exchanges', async () => {
    // Prepare: one emulator and table; 50 apps built from the same configuration, as 50 Lambda
    // containers would be, each with its own memory tier, single flight and breaker.
    const table = await startDynalite();
    const h = await startHarness({
      env: { CACHE_TABLE: table.tableName },
      overrides: { dynamo: table.newClient() },
    });
    try {
      const containers = [h.app];
      for (let i = 1; i < 50; i++)
        containers.push(
          await buildApp(h.config, {
            kms: h.kmsClient,
            dynamo: table.newClient(),
            telemetry: memoryTelemetry(),
          }),
        );
      const users = Array.from({ length: 10 }, (_, i) => `44400011${String(i).padStart(4, '0')}`);
      const tokens = await Promise.all(users.map((sub) => h.idToken({ sub })));
      const event = (token: string) => ({
        httpMethod: 'POST',
        path: '/token',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject_token: token }),
        isBase64Encoded: false,
      });

      // Act: every request at once, request i for user i % 10 on container (i * 7) % 50.
      const answers = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          (containers[(i * 7) % 50] as (typeof containers)[number]).handler(event(tokens[i % 10] as string)),
        ),
      );

      // Assess
      const failed = answers.filter((a) => a.statusCode !== 200).map((a) => JSON.parse(a.body).error);
      expect(failed).toEqual([]);
      const exchanges = h.emulator
        .records()
        .filter((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:token-exchange');
      expect(exchanges.length).toBeLessThanOrEqual(12);
      expect(new Set(exchanges.map((r) => r.subject))).toEqual(new Set(users));
      for (let u = 0; u < 10; u++) {
        const own = answers.filter((_, i) => i % 10 === u).map((a) => JSON.parse(a.body).access_token);
        for (const token of new Set(own)) expect(h.emulator.introspect(token)?.sub).toBe(users[u]);
      }
      console.info(`cross-container burst: 1000 requests, 50 containers, ${exchanges.length} exchanges`);
    } finally {
      await h.close();
      await table.stop();
    }
  }, 60_000);
});
