/**
 * Quota drills: what the proxy costs NHS (and KMS) when NHS throttles, when callers send junk,
 * when one caller floods, and when a burst lands on many containers at once. The platform counts
 * every call against the app's 300 per rolling minute before it checks anything
 * (docs/nhs-platform.md §7), so each of these is a way to lock every clinician out.
 */
import { SignCommand } from '@aws-sdk/client-kms';
import { METRIC } from '../../lambda/proxy/telemetry.js';
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
    // Roomy attempts: the recovery probe's 120 exchanges must not time out on a busy machine.
    const rig = await startRig({
      size,
      forward,
      env: { CACHE: 'on' },
      retry: { attemptTimeoutMs: 1_000, deadlineMs: 3_000 },
    });
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

/** A genuine token's signature swapped for another of the same length: a forgery. */
function forged(token: string, salt: number): string {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const i = salt % (sig.length - 1);
  return `${h}.${p}.${sig.slice(0, i)}${sig[i] === 'A' ? 'B' : 'A'}${sig.slice(i + 1)}`;
}

/** A flood of forged ID tokens from one caller, with a genuine caller in the middle of it. */
export const forgedFloodDrill: Drill = {
  name: 'forged-id-token-flood',
  family: 'quota',
  injected:
    '1,000 forged ID tokens in the full run (half a bad signature under CIS2\'s kid, half an unknown kid "x"), one of them 20 times more, a genuine exchange in the middle',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const rig = await startRig({ size, forward, env: { CACHE: 'on' } });
    try {
      const verdict = new Verdict();
      const junk: string[] = [];
      const n = size === 'full' ? 1_000 : 200;
      for (let i = 0; i < n; i++) {
        const genuine = await rig.idToken(freshSub('7'), i % 2 ? { header: { kid: 'x' } } : {});
        const token = forged(genuine, i);
        rig.scanner.addSecret(token);
        junk.push(token);
      }
      const replayed = Array.from({ length: 20 }, () => junk[0] as string);
      const goodSub = freshSub('7');
      const good = await rig.idToken(goodSub);

      // Act
      const half = junk.length / 2;
      const first = await runConcurrently(junk.slice(0, half), 16, (t) => rig.post(t));
      const served = await rig.post(good, { expectSub: goodSub });
      const rest = await runConcurrently([...junk.slice(half), ...replayed], 16, (t) => rig.post(t));

      // Assess
      const signs = rig.harness.kms.commandCalls(SignCommand).length;
      const calls = rig.harness.emulator.records().length;
      verdict.check(served.status === 200, `forged flood: the genuine caller got ${served.status}`);
      verdict.check(signs === 1, `forged flood: ${signs} KMS signatures (1 expected, the genuine one)`);
      verdict.check(calls === 1, `forged flood: ${calls} NHS calls (1 expected, the genuine one)`);
      for (const ex of [...first, ...rest])
        verdict.check(
          ex.status === 401 && ex.body?.error === 'subject_token_unverified',
          `forged flood: request #${ex.seq} answered ${ex.status} ${String(ex.body?.error)}`,
        );
      const refused = rig.telemetry.counters.get(METRIC.idTokenRefused);
      verdict.check(
        refused === first.length + rest.length,
        `forged flood: IdTokenRefused counted ${refused}`,
      );
      return await concludeDrill(rig, forgedFloodDrill, verdict, {
        did: `${first.length + rest.length} forged tokens: 401 subject_token_unverified, ${signs - 1} signatures, ${calls - 1} NHS calls; the genuine exchange served`,
        startedAt,
        probe: false,
      });
    } finally {
      await rig.close();
    }
  },
};

/** One caller floods with new sign-ins; its share runs out, and another caller is still served. */
export const callerShareDrill: Drill = {
  name: 'caller-over-share',
  family: 'quota',
  injected: 'budget 20 NHS calls/min, 50 % per caller; caller A brings 15 new ID tokens, then caller B one',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const rig = await startRig({
      size,
      forward,
      env: { CACHE: 'on', NHS_BUDGET_PER_MINUTE: '20', NHS_BUDGET_CALLER_SHARE_PCT: '50' },
    });
    try {
      const verdict = new Verdict();
      const greedy = 'arn:aws:sts::111122223333:assumed-role/greedy-backend/i-1';
      const polite = 'arn:aws:sts::111122223333:assumed-role/polite-backend/i-2';

      // Act
      const flood = [];
      for (let i = 0; i < 15; i++) {
        const sub = freshSub('5');
        flood.push(await rig.post(await rig.idToken(sub), { expectSub: sub, caller: greedy }));
      }
      const otherSub = freshSub('5');
      const other = await rig.post(await rig.idToken(otherSub), { expectSub: otherSub, caller: polite });

      // Assess: 10 is caller A's share of 20; the rest are shed before signing, with Retry-After.
      const served = flood.filter((ex) => ex.status === 200).length;
      const shed = flood.filter((ex) => ex.status === 429 && ex.body?.error === 'rate_limited');
      verdict.check(served === 10, `caller share: caller A was served ${served} times, expected 10`);
      verdict.check(
        shed.length === 5,
        `caller share: ${shed.length} of caller A's requests shed, expected 5`,
      );
      verdict.check(
        shed.every((ex) => Number(ex.headers['retry-after']) > 0),
        'caller share: a shed answer without Retry-After',
      );
      verdict.check(other.status === 200, `caller share: caller B got ${other.status}`);
      const calls = rig.harness.emulator.records().length;
      verdict.check(calls === 11, `caller share: ${calls} NHS calls, expected 11`);
      verdict.check(
        rig.telemetry.counters.get(METRIC.requestShed) === 5,
        `caller share: RequestShed counted ${rig.telemetry.counters.get(METRIC.requestShed)}`,
      );
      return await concludeDrill(rig, callerShareDrill, verdict, {
        did: `caller A served ${served}, shed ${shed.length} with 429 rate_limited + Retry-After; caller B served`,
        startedAt,
        // The shed requests would succeed once the minute passes; not waited for here.
        probe: false,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The quota family, in report order. */
export const QUOTA_DRILLS: readonly Drill[] = [alwaysThrottledDrill, forgedFloodDrill, callerShareDrill];
