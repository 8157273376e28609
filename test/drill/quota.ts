/**
 * Quota drills: what the proxy costs NHS (and KMS) when NHS throttles, when callers send junk,
 * when one caller floods, and when a burst lands on many containers at once. The platform counts
 * every call against the app's 300 per rolling minute before it checks anything
 * (docs/nhs-platform.md §7), so each of these is a way to lock every clinician out.
 */
import { SignCommand } from '@aws-sdk/client-kms';
import { concludeDrill, type Drill, type DrillContext, Verdict } from './invariants.js';
import { runConcurrently, startRig } from './rig.js';
import { freshSub } from './upstream-faults.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Against an NHS that answers every call 429 with Retry-After: 1. */
export const alwaysThrottledDrill: Drill = {
  name: 'nhs-always-429',
  family: 'quota',
  injected: 'NHS answers every call 429 with Retry-After: 1; requests keep arriving in waves',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const waves = size === 'full' ? 60 : 24;
    const perWave = 5;
    const rig = await startRig({ size, forward, env: { CACHE: 'on' }, retry: { deadlineMs: 1_500 } });
    try {
      const verdict = new Verdict();
      rig.inject({ kind: 'rate-limit', retryAfterSeconds: 1 }, 100_000);
      // The first 429 is what tells a container NHS is throttling: calls already in flight when
      // it arrives cannot be recalled, so the drill learns it from one request, then floods.
      const first = await rig.post(await rig.idToken(freshSub('6')));
      const began = performance.now();

      // Act: waves 100 ms apart, each with fresh ID tokens, so no cache can hide NHS.
      const answers = [first];
      for (let w = 0; w < waves; w++) {
        const subs = Array.from({ length: perWave }, () => freshSub('6'));
        answers.push(
          ...(await runConcurrently(subs, perWave, async (sub) =>
            rig.post(await rig.idToken(sub), { expectSub: sub }),
          )),
        );
        await sleep(100);
      }
      const elapsedMs = performance.now() - began;

      // Assess: one call opened the breaker; after that, one probe per 1 s window.
      const windows = Math.ceil(elapsedMs / 1_000);
      const calls = rig.harness.emulator.records().length - 1;
      const signs = rig.harness.kms.commandCalls(SignCommand).length;
      verdict.check(
        calls <= windows + 1,
        `always-429: ${calls} NHS calls in ${windows} Retry-After windows (at most ${windows + 1})`,
      );
      verdict.check(signs === calls + 1, `always-429: ${signs} KMS signatures for ${calls + 1} NHS calls`);
      for (const ex of answers) {
        verdict.check(
          ex.status === 503 &&
            ex.body?.error === 'nhs_rate_limited' &&
            ex.headers['retry-after'] !== undefined,
          `always-429: request #${ex.seq} answered ${ex.status} ${String(ex.body?.error)} retry-after ${String(ex.headers['retry-after'])}`,
        );
      }
      verdict.note(`${answers.length} requests over ${Math.round(elapsedMs)} ms cost ${calls} NHS calls`);
      return await concludeDrill(rig, alwaysThrottledDrill, verdict, {
        did: `${answers.length} requests cost ${calls} NHS calls and ${signs} signatures over ${windows} windows`,
        startedAt,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The quota family, in report order. */
export const QUOTA_DRILLS: readonly Drill[] = [alwaysThrottledDrill];
