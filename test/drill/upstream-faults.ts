/**
 * Upstream fault drills: each failure the NHS token endpoint (or what stands in front of it) can
 * produce, injected through the emulator, first fewer times than the proxy attempts (it must
 * recover), then as many times (it must give up cleanly: a 502/503/504 with a stable code and the
 * last NHS `message_id`, inside the deadline), then a random mix of all of them under concurrency.
 */
import type { FaultSpec } from '../../emulator/index.js';
import type { ProxyErrorCode } from '../../lambda/proxy/errors.js';
import { concludeDrill, type Drill, type DrillContext, tokenLine, Verdict } from './invariants.js';
import { type DrillRig, runConcurrently, SLOW_FAULT, startRig } from './rig.js';

/** What a fault must lead to once it outlasts every attempt. */
interface Exhausted {
  readonly status: number;
  readonly code: ProxyErrorCode;
  /** Whether NHS's answers carried a `message_id` that the failure must surface. */
  readonly messageId: boolean;
  /** Attempts the proxy makes before giving up. */
  readonly attempts: number;
  /** Expected `Retry-After` header of the failure, if any. */
  readonly retryAfter?: string;
}

/** One upstream fault drill. */
interface FaultCase {
  readonly name: string;
  readonly fault: FaultSpec;
  readonly injected: string;
  readonly exhausted: Exhausted;
  /** Faults before success in the recovery half; 0 skips it (a fault the proxy must not wait out). */
  readonly recoverAfter: number;
  readonly retry?: DrillRetry;
  /** Extra time allowed over the deadline (a tight one for the deadline drill). */
  readonly slackMs?: number;
  /** Most the process may grow (RSS) over one round: a bounded read holds 64 KiB, not the body. */
  readonly maxRssGrowthBytes?: number;
}

/** The oversized body of the reproduction (the Lambda has 512 MB). */
const OVERSIZED_BYTES = 400 * 1024 * 1024;

type DrillRetry = Partial<DrillRig['policy']>;

const gateway = (status: 500 | 502 | 503 | 504): FaultCase => ({
  name: `nhs-${status}`,
  fault: { kind: 'status', status },
  injected: `NHS answers ${status} (platform JSON error with message_id)`,
  exhausted: { status: 502, code: 'nhs_unavailable', messageId: true, attempts: 3 },
  recoverAfter: 2,
});

/** Every single-kind upstream fault drill. */
export const FAULT_CASES: readonly FaultCase[] = [
  gateway(500),
  gateway(502),
  gateway(503),
  gateway(504),
  {
    name: 'nhs-429-retry-after',
    fault: { kind: 'rate-limit', retryAfterSeconds: 1 },
    injected: 'NHS answers 429 with Retry-After: 1',
    // Never retried: a retry inside the app's rolling minute only keeps it exhausted.
    exhausted: { status: 503, code: 'nhs_rate_limited', messageId: true, attempts: 1, retryAfter: '1' },
    recoverAfter: 0,
  },
  {
    name: 'nhs-429-retry-after-beyond-deadline',
    fault: { kind: 'rate-limit', retryAfterSeconds: 120 },
    injected: 'NHS answers 429 with Retry-After: 120 (past the platform quota window)',
    // Honoured up to the quota's own minute, so an absurd value cannot lock users out for longer.
    exhausted: { status: 503, code: 'nhs_rate_limited', messageId: true, attempts: 1, retryAfter: '60' },
    recoverAfter: 0,
  },
  {
    name: 'nhs-429-no-retry-after',
    fault: { kind: 'rate-limit' },
    injected: 'NHS answers 429 without Retry-After',
    exhausted: { status: 503, code: 'nhs_rate_limited', messageId: true, attempts: 1, retryAfter: '1' },
    recoverAfter: 0,
  },
  {
    name: 'nhs-html-502',
    fault: { kind: 'html' },
    injected: 'a load balancer answers 502 with an HTML page',
    exhausted: { status: 502, code: 'nhs_unavailable', messageId: false, attempts: 3 },
    recoverAfter: 2,
  },
  {
    name: 'nhs-truncated-200',
    fault: { kind: 'truncated' },
    injected: 'NHS answers 200 with a token body cut in half',
    exhausted: { status: 502, code: 'nhs_bad_response', messageId: false, attempts: 3 },
    recoverAfter: 2,
  },
  {
    name: 'nhs-non-json-200',
    fault: { kind: 'non-json' },
    injected: 'NHS answers 200 text/plain, not JSON',
    exhausted: { status: 502, code: 'nhs_bad_response', messageId: false, attempts: 3 },
    recoverAfter: 2,
  },
  {
    name: 'nhs-slow',
    fault: SLOW_FAULT,
    injected: `NHS answers after ${(SLOW_FAULT as { ms: number }).ms} ms (per-attempt timeout 250 ms)`,
    exhausted: { status: 504, code: 'nhs_timeout', messageId: false, attempts: 3 },
    recoverAfter: 2,
  },
  {
    name: 'nhs-slow-past-deadline',
    fault: SLOW_FAULT,
    injected: 'NHS answers after 600 ms; 5 attempts of 400 ms would overrun the 700 ms deadline',
    // The deadline, not the attempt count, ends the call: the second attempt is cut short.
    exhausted: { status: 504, code: 'nhs_timeout', messageId: false, attempts: 2 },
    recoverAfter: 1,
    retry: { maxAttempts: 5, attemptTimeoutMs: 400, deadlineMs: 700 },
    slackMs: 150,
  },
  {
    name: 'nhs-drop',
    fault: { kind: 'drop' },
    injected: 'NHS drops the connection without answering',
    exhausted: { status: 502, code: 'nhs_unavailable', messageId: false, attempts: 3 },
    recoverAfter: 2,
  },
  {
    name: 'nhs-oversized-200',
    fault: { kind: 'oversized', bytes: OVERSIZED_BYTES },
    injected: 'NHS answers 200 application/json with a 400 MB body',
    exhausted: { status: 502, code: 'nhs_bad_response', messageId: false, attempts: 3 },
    recoverAfter: 2,
    maxRssGrowthBytes: 128 * 1024 * 1024,
  },
  {
    name: 'nhs-drip',
    fault: { kind: 'drip', intervalMs: 100 },
    injected: 'NHS sends headers, then one byte every 100 ms, never finishing',
    exhausted: { status: 504, code: 'nhs_timeout', messageId: false, attempts: 3 },
    recoverAfter: 2,
  },
];

/** Every fault kind, for the random mix; delays always outlast the per-attempt timeout. */
export const ALL_FAULTS: readonly FaultSpec[] = [
  { kind: 'status', status: 500 },
  { kind: 'status', status: 502 },
  { kind: 'status', status: 503 },
  { kind: 'status', status: 504 },
  { kind: 'rate-limit', retryAfterSeconds: 0 },
  { kind: 'rate-limit' },
  { kind: 'html' },
  { kind: 'html', status: 503 },
  { kind: 'truncated' },
  { kind: 'non-json' },
  SLOW_FAULT,
  { kind: 'drop' },
  { kind: 'oversized', bytes: 1024 * 1024 },
  { kind: 'drip', intervalMs: 50 },
];

const UPSTREAM_CODES: readonly unknown[] = [
  'nhs_unavailable',
  'nhs_bad_response',
  'nhs_rate_limited',
  'nhs_timeout',
];

let userSeq = 0;
/** A CIS2 user id (`sub`) no other request of this process uses. */
export function freshSub(prefix = '9'): string {
  userSeq += 1;
  return `${prefix}${String(userSeq).padStart(11, '0')}`;
}

async function runFaultCase(rig: DrillRig, c: FaultCase, verdict: Verdict): Promise<void> {
  const { emulator } = rig.harness;
  const rssBefore = process.memoryUsage().rss;
  if (c.recoverAfter > 0) {
    // Recovery: fewer faults than attempts; each attempt must be re-signed with a fresh jti.
    const sub = freshSub();
    rig.inject(c.fault, c.recoverAfter);
    const before = emulator.records().length;
    const ex = await rig.post(await rig.idToken(sub), { expectSub: sub });
    const line = tokenLine(rig, ex);
    verdict.check(ex.status === 200, `${c.name}: recovery answered ${ex.status} ${String(ex.body?.error)}`);
    verdict.check(
      line?.fields.attempts === c.recoverAfter + 1,
      `${c.name}: recovery took ${String(line?.fields.attempts)} attempts, expected ${c.recoverAfter + 1}`,
    );
    // A delayed request is recorded only when the emulator answers it, after the proxy gave up on it.
    const sent = emulator.records().slice(before);
    verdict.check(
      c.fault.kind === 'delay' || sent.filter((r) => r.fault !== undefined).length === c.recoverAfter,
      `${c.name}: NHS served ${sent.filter((r) => r.fault).length} faults, expected ${c.recoverAfter}`,
    );
  }
  // Exhaustion: a fault on every attempt.
  const sub = freshSub();
  rig.inject(c.fault, c.exhausted.attempts + 2);
  const ex = await rig.post(await rig.idToken(sub), { expectSub: sub });
  const line = tokenLine(rig, ex);
  const want = c.exhausted;
  verdict.check(
    ex.status === want.status && ex.body?.error === want.code,
    `${c.name}: gave up with ${ex.status} ${String(ex.body?.error)}, expected ${want.status} ${want.code}`,
  );
  verdict.check(
    line?.fields.attempts === want.attempts,
    `${c.name}: gave up after ${String(line?.fields.attempts)} attempts, expected ${want.attempts}`,
  );
  verdict.check(
    (ex.body?.message_id !== undefined) === want.messageId,
    `${c.name}: message_id ${want.messageId ? 'missing' : 'unexpected'}`,
  );
  verdict.check(
    ex.headers['retry-after'] === want.retryAfter,
    `${c.name}: Retry-After ${String(ex.headers['retry-after'])}, expected ${String(want.retryAfter)}`,
  );
  if (c.maxRssGrowthBytes !== undefined) {
    const grew = process.memoryUsage().rss - rssBefore;
    verdict.check(
      grew <= c.maxRssGrowthBytes,
      `${c.name}: the process grew ${Math.round(grew / 2 ** 20)} MiB reading NHS's answers`,
    );
  }
  // Leftover faults must not reach the recovery probe, nor the breaker a 429 opened the next round.
  emulator.clearFaults();
  rig.harness.app.tokenClient.breaker.reset();
}

function faultDrill(c: FaultCase): Drill {
  const drill: Drill = {
    name: c.name,
    family: 'upstream',
    injected: c.injected,
    async run({ size, forward }: DrillContext) {
      const startedAt = performance.now();
      const rig = await startRig({ size, forward, retry: c.retry, env: { CACHE: 'on' } });
      try {
        const verdict = new Verdict();
        const rounds = size === 'full' ? 4 : 1;
        for (let i = 0; i < rounds; i++) await runFaultCase(rig, c, verdict);
        const e = c.exhausted;
        const did =
          (c.recoverAfter > 0 ? `recovered after ${c.recoverAfter} fault(s), fresh jti per attempt; ` : '') +
          `gave up after ${e.attempts} attempt(s) with ${e.status} ${e.code}` +
          (e.messageId ? ' + last message_id' : '') +
          (e.retryAfter ? ` + Retry-After ${e.retryAfter}` : '');
        return await concludeDrill(rig, drill, verdict, { did, startedAt, deadlineSlackMs: c.slackMs });
      } finally {
        await rig.close();
      }
    },
  };
  return drill;
}

/** A random mix of every fault kind at a fault rate per NHS call, under concurrent load. */
export const mixedFaultsDrill: Drill = {
  name: 'nhs-mixed-concurrent',
  family: 'upstream',
  injected: 'every fault kind at random on 30% of NHS calls, 16 requests in flight',
  async run({ size, forward }) {
    const startedAt = performance.now();
    const rig = await startRig({
      size,
      forward,
      env: { CACHE: 'on' },
      faultRate: { rate: 0.3, faults: ALL_FAULTS },
    });
    try {
      const verdict = new Verdict();
      const users = Array.from({ length: 20 }, () => freshSub('8'));
      const requests = size === 'full' ? 600 : 40;
      // A fresh ID token per request, so each one reaches NHS whatever the cache holds.
      const answers = await runConcurrently(Array.from({ length: requests }), 16, async (_, i) => {
        const sub = users[i % users.length] as string;
        return rig.post(await rig.idToken(sub), { expectSub: sub });
      });
      for (const ex of answers.filter((a) => a.status !== 200)) {
        verdict.check(
          UPSTREAM_CODES.includes(ex.body?.error),
          `mixed: request #${ex.seq} failed with ${ex.status} ${String(ex.body?.error)}`,
        );
      }
      verdict.check(rig.faultsQueued > 0, 'mixed: no fault was injected');
      return await concludeDrill(rig, mixedFaultsDrill, verdict, {
        did: 'retried each fault with a fresh jti inside the deadline',
        startedAt,
        // 16 requests in flight share one event loop with the emulator and the KMS mock.
        deadlineSlackMs: 600,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The upstream fault family, in report order. */
export const UPSTREAM_DRILLS: readonly Drill[] = [...FAULT_CASES.map(faultDrill), mixedFaultsDrill];
