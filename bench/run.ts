/**
 * `npm run bench`: every performance figure the README quotes, measured in one run on this
 * machine, each next to its floor or peer. `npm run bench -- --json` prints one JSON object with
 * stable keys instead of the table. The benchmark reports; it does not assert.
 */
import { availableParallelism } from 'node:os';
import { benchBurst } from './burst.js';
import { benchColdStart } from './cold-start.js';
import { benchHit } from './hit.js';
import { benchMiss } from './miss.js';
import { benchSharedHit } from './shared-hit.js';
import { round } from './stats.js';
import { benchThroughput } from './throughput.js';

const asJson = process.argv.includes('--json');
const progress = (step: string) => {
  if (!asJson) process.stderr.write(`… ${step}\n`);
};

progress('cache hit (memory tier) vs trivial handler');
const hit = await benchHit();
progress('shared-tier hit (dynalite)');
const shared = await benchSharedHit();
progress('miss overhead vs oauth4webapi');
const miss = await benchMiss();
progress('burst amplification (cache on, then off)');
const burst = await benchBurst('on');
const burstNoCache = await benchBurst('off');
progress('cold start (synthesising the stack to get its bundle)');
const cold = await benchColdStart();
progress('throughput on loopback');
const throughput = await benchThroughput();

const summary = {
  hit_p50_ms: round(hit.hit.p50, 4),
  hit_p99_ms: round(hit.hit.p99, 4),
  hit_floor_p50_ms: round(hit.floor.p50, 4),
  hit_floor_p99_ms: round(hit.floor.p99, 4),
  hit_floor_ratio: round(hit.hit.p50 / hit.floor.p50, 2),
  shared_hit_roundtrips: round(shared.roundTripsPerRequest, 3),
  shared_hit_p50_ms: round(shared.latency.p50, 3),
  shared_hit_p99_ms: round(shared.latency.p99, 3),
  miss_overhead_ms: round(miss.ours.overhead.p50, 3),
  miss_overhead_p99_ms: round(miss.ours.overhead.p99, 3),
  miss_total_ms: round(miss.ours.total.p50, 3),
  miss_kms_ms: round(miss.ours.kms.p50, 3),
  miss_upstream_ms: round(miss.ours.upstream.p50, 3),
  miss_peer_overhead_ms: round(miss.peer.overhead.p50, 3),
  miss_vs_peer_ratio: round(miss.ours.overhead.p50 / miss.peer.overhead.p50, 2),
  burst_requests: burst.requests,
  burst_users: burst.users,
  burst_exchanges: burst.exchanges,
  burst_signs: burst.signs,
  burst_failures: burst.failures,
  burst_nocache_exchanges: burstNoCache.exchanges,
  burst_nocache_signs: burstNoCache.signs,
  bundle_kib: round(cold.bundleKiB, 1),
  cold_start_ms: round(cold.coldStartMs, 1),
  node_baseline_ms: round(cold.nodeBaselineMs, 1),
  cold_start_beyond_node_ms: round(cold.coldStartMs - cold.nodeBaselineMs, 1),
  rps_per_core: Math.round(throughput.rps),
  throughput_failures: throughput.failures,
  machine_cores: availableParallelism(),
  node: process.version,
};

if (asJson) {
  console.log(JSON.stringify(summary));
} else {
  const rows: [string, string, string, string][] = [
    [
      'cache hit (memory), handler',
      `p50 ${summary.hit_p50_ms} ms, p99 ${summary.hit_p99_ms} ms`,
      `trivial handler p50 ${summary.hit_floor_p50_ms} ms`,
      `${summary.hit_floor_ratio}x floor; target p99 < 0.3 ms`,
    ],
    [
      'cache hit (shared, dynalite)',
      `p50 ${summary.shared_hit_p50_ms} ms, p99 ${summary.shared_hit_p99_ms} ms`,
      '1 DynamoDB round trip',
      `${summary.shared_hit_roundtrips} round trips/request`,
    ],
    [
      'miss: our own work',
      `p50 ${summary.miss_overhead_ms} ms (p99 ${summary.miss_overhead_p99_ms})`,
      `oauth4webapi p50 ${summary.miss_peer_overhead_ms} ms`,
      `${summary.miss_vs_peer_ratio}x peer; target < 2 ms`,
    ],
    [
      'miss: whole exchange',
      `p50 ${summary.miss_total_ms} ms`,
      `KMS ${summary.miss_kms_ms} ms + NHS ${summary.miss_upstream_ms} ms`,
      'emulator + KMS mock on loopback',
    ],
    [
      'burst 1,000 req / 10 users',
      `${summary.burst_exchanges} exchanges, ${summary.burst_signs} signatures`,
      '10 and 10',
      `cache off: ${summary.burst_nocache_exchanges} / ${summary.burst_nocache_signs}`,
    ],
    ['Lambda bundle', `${summary.bundle_kib} KiB`, 'target < 450 KiB', 'minified ESM, SDK bundled'],
    [
      'cold start (import + first request)',
      `${summary.cold_start_ms} ms`,
      `bare node ${summary.node_baseline_ms} ms`,
      `+${summary.cold_start_beyond_node_ms} ms; target < +150 ms`,
    ],
    [
      'throughput (cache hits, loopback)',
      `${summary.rps_per_core} req/s`,
      '1 core (one event loop)',
      `${summary.throughput_failures} failures`,
    ],
  ];
  console.log('| measure | ours | floor / peer | ratio / note |\n|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\n${summary.machine_cores} cores, Node ${summary.node}`);
}
