/**
 * Isolation: users' tokens never cross. Many users, each with several ID tokens (sessions), send
 * interleaved requests at high concurrency through both cache tiers; the emulator says whose each
 * access token is, and it must be the caller's ID token subject, every time (the shared check in
 * invariants.ts), with no token ever handed to two subjects.
 */
import { METRIC } from '../../lambda/proxy/telemetry.js';
import { concludeDrill, type Drill, type DrillContext, Verdict } from './invariants.js';
import { runConcurrently, shuffle, startRig } from './rig.js';
import { freshSub } from './upstream-faults.js';

const SIZES = {
  fast: { users: 12, sessions: 2, rounds: 4, concurrency: 16 },
  full: { users: 100, sessions: 3, rounds: 8, concurrency: 64 },
} as const;

/** Interleaved users under concurrency, through memory and shared cache tiers. */
export const isolationDrill: Drill = {
  name: 'isolation-interleaved-users',
  family: 'isolation',
  injected: 'many users, several ID tokens each, requests shuffled and concurrent, both cache tiers',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const { users, sessions, rounds, concurrency } = SIZES[size];
    // A small memory tier, so answers come from memory, the table and NHS alike.
    const rig = await startRig({
      size,
      forward,
      sharedTier: true,
      // Production-like timeouts: a cold burst of 64 exchanges on one loop with the emulator and
      // KMS mock outlasts the other drills' 250 ms attempts, and isolation is not about timeouts.
      retry: { attemptTimeoutMs: 4_000, deadlineMs: 8_000 },
      env: { MEMORY_CACHE_SIZE: String(Math.ceil((users * sessions) / 4)) },
    });
    try {
      const verdict = new Verdict();
      // Prepare: several sessions per user; users that differ by one digit, to catch key mix-ups.
      const base = freshSub('5');
      const subs = Array.from(
        { length: users },
        (_, i) => `${base.slice(0, -3)}${String(i).padStart(3, '0')}`,
      );
      const tokens = (
        await Promise.all(
          subs.map(async (sub) =>
            Promise.all(
              Array.from({ length: sessions }, async () => ({ sub, token: await rig.idToken(sub) })),
            ),
          ),
        )
      ).flat();
      const requests = shuffle(Array.from({ length: rounds }, () => tokens).flat(), rig.random);

      // Act
      await runConcurrently(requests, concurrency, ({ sub, token }) => rig.post(token, { expectSub: sub }));

      // Assess: ownership is checked for every answer by concludeDrill.
      const hits = rig.telemetry.lines.filter(
        (l) => l.fields.cache === 'memory' || l.fields.cache === 'shared',
      );
      verdict.note(`cache hits ${hits.length} of ${requests.length}`);
      // In-process dynalite shares the loop with everything else: under a cold burst some reads
      // time out, and the cache rightly treats them as misses (more NHS calls, never a wrong token).
      verdict.note(`CacheError=${rig.telemetry.counters.get(METRIC.cacheError)}`);
      verdict.check(rig.table !== undefined, 'isolation ran without the shared tier');
      return await concludeDrill(rig, isolationDrill, verdict, {
        did: `${users} users × ${sessions} sessions interleaved; every token introspected to its caller`,
        startedAt,
        deadlineSlackMs: 1_000,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The isolation family. */
export const ISOLATION_DRILLS: readonly Drill[] = [isolationDrill];
