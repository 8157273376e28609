/**
 * Load: a bounded sustained run (20,000 requests over 100 users at 64 in flight in the full run)
 * with faults injected on a share of NHS calls and users signing in again now and then (a new ID
 * token, so a new exchange). Reports what was served, NHS calls, failures by code and latency,
 * and holds every invariant: isolation, message_id, deadline, no error cached, no leak.
 */
import { concludeDrill, type Drill, type DrillContext, Verdict } from './invariants.js';
import { runConcurrently, startRig } from './rig.js';
import { FORWARD_SAMPLE } from './secrets.js';
import { ALL_FAULTS, freshSub } from './upstream-faults.js';

const SIZES = {
  fast: { requests: 600, users: 20, concurrency: 16 },
  full: { requests: 20_000, users: 100, concurrency: 64 },
} as const;

/** Share of NHS calls that meet a fault. */
const FAULT_RATE = 0.05;
/** Chance that a request comes with a new ID token (the user signed in again). */
const NEW_SESSION_RATE = 0.05;
/** Largest share of requests that may fail: a request fails only when every attempt meets a fault. */
const MAX_FAILURE_SHARE = 0.01;

const UPSTREAM_CODES: readonly unknown[] = [
  'nhs_unavailable',
  'nhs_bad_response',
  'nhs_rate_limited',
  'nhs_timeout',
];

/** The sustained run. */
export const loadDrill: Drill = {
  name: 'load-sustained',
  family: 'load',
  injected: `every fault kind but 429 on ${FAULT_RATE * 100}% of NHS calls; ${NEW_SESSION_RATE * 100}% of requests bring a new ID token`,
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const { requests, users, concurrency } = SIZES[size];
    const rig = await startRig({
      size,
      // Tens of thousands of secrets: the leak guard gets a sample, the scanner all of them.
      forward: size === 'full' ? FORWARD_SAMPLE : forward,
      sharedTier: true,
      // Throttling is left out: a 429 rightly sheds every request for its window (quota drills).
      faultRate: { rate: FAULT_RATE, faults: ALL_FAULTS.filter((f) => f.kind !== 'rate-limit') },
    });
    try {
      const verdict = new Verdict();
      const subs = Array.from({ length: users }, () => freshSub('4'));
      const current = new Map<string, Promise<string>>();
      const tokenOf = (sub: string, renew: boolean) => {
        const held = current.get(sub);
        if (held && !renew) return held;
        const token = rig.idToken(sub);
        current.set(sub, token);
        return token;
      };

      // Act
      const answers = await runConcurrently(Array.from({ length: requests }), concurrency, async () => {
        const sub = subs[Math.floor(rig.random() * subs.length)] as string;
        const token = await tokenOf(sub, rig.random() < NEW_SESSION_RATE);
        return rig.post(token, { expectSub: sub });
      });
      const seconds = (performance.now() - startedAt) / 1000;

      // Assess
      const failed = answers.filter((ex) => ex.status !== 200);
      for (const ex of failed.slice(0, 20))
        verdict.check(
          UPSTREAM_CODES.includes(ex.body?.error),
          `load: request #${ex.seq} failed with ${ex.status} ${String(ex.body?.error)}`,
        );
      verdict.check(
        failed.length <= answers.length * MAX_FAILURE_SHARE,
        `load: ${failed.length} of ${answers.length} failed (more than ${MAX_FAILURE_SHARE * 100}%)`,
      );
      verdict.note(`throughput ${Math.round(answers.length / seconds)} req/s`);
      verdict.note(`NHS calls ${rig.upstreamCalls} for ${answers.length} requests`);
      return await concludeDrill(rig, loadDrill, verdict, {
        did: `${requests} requests, ${users} users, ${concurrency} in flight; cached sessions served, faults retried`,
        startedAt,
        deadlineSlackMs: 1_500,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The load family. */
export const LOAD_DRILLS: readonly Drill[] = [loadDrill];
