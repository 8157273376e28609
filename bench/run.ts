/**
 * `npm run bench`: every performance figure, measured several times in one invocation on this
 * machine, each next to its floor or peer, with the targets checked. Options:
 * `--json` prints one JSON object (the medians over the runs, stable keys) instead of the report;
 * `--markdown` also writes the report to docs/performance.md; `--runs N` (default 3).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rsaKey } from '../test/helpers/kms.js';
import { HARNESS_KEY_ARN } from '../test/helpers/proxy-harness.js';
import { benchBurst } from './burst.js';
import { benchColdStart, buildBundleAsTheStackDoes } from './cold-start.js';
import { benchHit } from './hit.js';
import { benchMiss } from './miss.js';
import { failedTargets, renderMarkdown, type Section } from './report.js';
import { benchSharedHit } from './shared-hit.js';
import { round, type Spread, spread } from './stats.js';
import { benchThroughput } from './throughput.js';

const argv = process.argv.slice(2);
const asJson = argv.includes('--json');
const toMarkdown = argv.includes('--markdown');
const runsArg = argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(argv[runsArg + 1]) : 3;
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
const progress = (step: string) => {
  if (!asJson) process.stderr.write(`… ${step}\n`);
};

const startedAt = new Date();
const t0 = performance.now();
const workDir = mkdtempSync(join(tmpdir(), 'cis2-bench-'));
type Figures = Record<string, number>;
const perRun: Figures[] = [];
try {
  progress('RSA-4096 bench key; synthesising the stack to get its bundle');
  // Production signs with RSA-4096 (int and prod refuse any other KMS key spec); so does the bench.
  const kmsKey = { keyId: HARNESS_KEY_ARN, privateKey: rsaKey(4096) };
  const bundle = buildBundleAsTheStackDoes(join(workDir, 'cdk.out'));

  for (let run = 1; run <= runs; run++) {
    const f: Figures = {};
    progress(`run ${run}/${runs}: cache hit (memory tier) vs floor, real telemetry`);
    const hit = await benchHit(kmsKey);
    f.hit_p50_ms = round(hit.hit.p50, 4);
    f.hit_p99_ms = round(hit.hit.p99, 4);
    f.hit_floor_p50_ms = round(hit.floor.p50, 4);
    f.hit_floor_p99_ms = round(hit.floor.p99, 4);
    f.hit_floor_ratio = round(hit.hit.p50 / hit.floor.p50, 2);
    f.hit_log_bytes = round(hit.bytesPerHit, 0);
    f.hit_floor_log_bytes = round(hit.floorBytesPerCall, 0);

    progress(`run ${run}/${runs}: shared-tier hit (dynalite)`);
    const shared = await benchSharedHit(kmsKey);
    f.shared_hit_roundtrips = round(shared.roundTripsPerRequest, 3);
    f.shared_hit_p50_ms = round(shared.latency.p50, 3);
    f.shared_hit_p99_ms = round(shared.latency.p99, 3);

    progress(`run ${run}/${runs}: miss overhead vs oauth4webapi (KMS mock in process)`);
    const miss = await benchMiss(kmsKey);
    f.miss_overhead_ms = round(miss.ours.overhead.p50, 3);
    f.miss_overhead_p99_ms = round(miss.ours.overhead.p99, 3);
    f.miss_total_ms = round(miss.ours.total.p50, 3);
    f.miss_kms_ms = round(miss.ours.kms.p50, 3);
    f.miss_upstream_ms = round(miss.ours.upstream.p50, 3);
    f.miss_peer_overhead_ms = round(miss.peer.overhead.p50, 3);
    f.miss_overhead_vs_oauth4webapi = round(miss.ours.overhead.p50 / miss.peer.overhead.p50, 2);

    progress(`run ${run}/${runs}: burst amplification in one process (cache on, then off)`);
    const burst = await benchBurst(kmsKey, 'on');
    const burstNoCache = await benchBurst(kmsKey, 'off');
    f.burst_requests = burst.requests;
    f.burst_users = burst.users;
    f.burst_exchanges = burst.exchanges;
    f.burst_signs = burst.signs;
    f.burst_failures = burst.failures;
    f.burst_nocache_exchanges = burstNoCache.exchanges;
    f.burst_nocache_signs = burstNoCache.signs;
    f.burst_nocache_failures = burstNoCache.failures;

    progress(`run ${run}/${runs}: cold start (local configuration)`);
    const cold = benchColdStart(bundle, workDir, 5);
    f.bundle_kib = round(cold.bundleKiB, 1);
    f.cold_start_ms = round(cold.coldStartMs, 1);
    f.node_baseline_ms = round(cold.nodeBaselineMs, 1);
    f.cold_start_beyond_node_ms = round(cold.coldStartMs - cold.nodeBaselineMs, 1);

    progress(`run ${run}/${runs}: throughput on loopback`);
    const throughput = await benchThroughput(kmsKey);
    f.rps_per_core = Math.round(throughput.rps);
    f.throughput_failures = throughput.failures;
    perRun.push(f);
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

const spreads: Record<string, Spread> = {};
for (const key of Object.keys(perRun[0] ?? {})) spreads[key] = spread(perRun.map((f) => f[key] as number));
const summary: Record<string, number | string> = {};
for (const [key, s] of Object.entries(spreads)) summary[key] = s.median;
summary.runs = runs;
summary.machine_cores = availableParallelism();
summary.node = process.version;

const sections: Section[] = [
  {
    title: 'Cache hits',
    how:
      '`bench/hit.ts`: 20,000 timed calls after 2,000 warm-up through the real handler (API Gateway ' +
      'event in, response out) with the memory tier primed and production telemetry ' +
      '(`powertoolsTelemetry`: Powertools Logger and EMF Metrics) writing to a null sink; the bytes ' +
      'written per call prove the lines were serialised and written. The floor parses the body, writes ' +
      'one log line with the same fields through its own Powertools Logger, and answers JSON. ' +
      '`bench/shared-hit.ts`: a second app instance sharing only the table (dynalite on loopback, plain ' +
      'HTTP), a one-entry memory tier and two users alternating, so every request is a shared hit; round ' +
      'trips counted by middleware on its DynamoDB client.',
    figures: [
      { key: 'hit_p50_ms', label: 'Memory hit, p50', unit: 'ms' },
      { key: 'hit_p99_ms', label: 'Memory hit, p99', unit: 'ms' },
      { key: 'hit_floor_p50_ms', label: 'Floor (one log line), p50', unit: 'ms' },
      { key: 'hit_floor_p99_ms', label: 'Floor (one log line), p99', unit: 'ms' },
      { key: 'hit_floor_ratio', label: 'Memory hit / floor, p50', unit: 'x' },
      { key: 'hit_log_bytes', label: 'Telemetry bytes written per hit (log + EMF)', unit: 'B' },
      { key: 'hit_floor_log_bytes', label: 'Telemetry bytes written per floor call', unit: 'B' },
      { key: 'shared_hit_p50_ms', label: 'Shared hit, p50', unit: 'ms' },
      { key: 'shared_hit_p99_ms', label: 'Shared hit, p99', unit: 'ms' },
      { key: 'shared_hit_roundtrips', label: 'DynamoDB round trips per shared hit', unit: '' },
    ],
  },
  {
    title: 'Misses with the KMS mock in process',
    how:
      '`bench/miss.ts`: `CACHE=off`, 300 exchanges against the emulator (plain HTTP) with the ' +
      'aws-sdk-client-mock KMS signing with the RSA-4096 key in process, interleaved with 300 done by ' +
      "oauth4webapi's `genericTokenEndpointRequest` with the same signer. Time inside the signer and around " +
      "the NHS round trip is subtracted on both sides. The mock replaces the SDK's `send()`, so this " +
      'hides SDK and TLS cost; see the real-SDK miss section for what production pays. oauth4webapi ' +
      'sends `Content-Type: application/x-www-form-urlencoded;charset=UTF-8`; the emulator answers that ' +
      "with 415 as NHS's proxy compares the Content-Type exactly, but the evidence is mixed (NHS's own " +
      "tutorials send `;charset=UTF-8`; issue #11), so the peer's fetch sends the bare type here.",
    figures: [
      {
        key: 'miss_overhead_ms',
        label: 'Our own work per exchange (wall, less KMS and NHS), p50',
        unit: 'ms',
      },
      { key: 'miss_overhead_p99_ms', label: 'Our own work per exchange, p99', unit: 'ms' },
      { key: 'miss_total_ms', label: 'Whole exchange, p50', unit: 'ms' },
      { key: 'miss_kms_ms', label: 'of which KMS mock (RSA-4096 in process)', unit: 'ms' },
      { key: 'miss_upstream_ms', label: 'of which NHS emulator round trip', unit: 'ms' },
      { key: 'miss_peer_overhead_ms', label: 'oauth4webapi, same subtraction, p50', unit: 'ms' },
      { key: 'miss_overhead_vs_oauth4webapi', label: 'Ours / oauth4webapi', unit: 'x' },
    ],
  },
  {
    title: 'Bursts in one process',
    how:
      '`bench/burst.ts`: 1,000 concurrent requests for 10 users through one app instance; exchanges ' +
      'counted by the emulator, signatures by the KMS mock, failures are non-200 answers.',
    figures: [
      { key: 'burst_exchanges', label: 'Exchanges, cache on', unit: '' },
      { key: 'burst_signs', label: 'Signatures, cache on', unit: '' },
      { key: 'burst_failures', label: 'Failures, cache on', unit: '' },
      { key: 'burst_nocache_exchanges', label: 'Exchanges, cache off', unit: '' },
      { key: 'burst_nocache_signs', label: 'Signatures, cache off', unit: '' },
      { key: 'burst_nocache_failures', label: 'Failures, cache off', unit: '' },
    ],
  },
  {
    title: 'Bundle and cold start',
    how:
      '`bench/cold-start.ts`: synthesises the int stack, takes the function asset from the cloud ' +
      'assembly, and per run times 5 fresh processes (`--enable-source-maps`, as deployed) importing it ' +
      "with `ENVIRONMENT=local` and answering `GET /health`, against 5 bare `node -e ''` (medians).",
    figures: [
      { key: 'bundle_kib', label: 'Lambda bundle', unit: 'KiB' },
      { key: 'cold_start_ms', label: 'Cold start, local configuration', unit: 'ms' },
      { key: 'node_baseline_ms', label: "Bare `node -e ''`", unit: 'ms' },
      { key: 'cold_start_beyond_node_ms', label: 'Cold start beyond bare Node, local', unit: 'ms' },
    ],
  },
  {
    title: 'Throughput',
    how:
      '`bench/throughput.ts`: the local server in its own process (one event loop), 32 keep-alive ' +
      'clients in this one for 4 s after 1 s of warm-up, all cache hits.',
    figures: [
      { key: 'rps_per_core', label: 'Cache hits per second, one event loop', unit: 'req/s' },
      { key: 'throughput_failures', label: 'Failures', unit: '' },
    ],
  },
];

const seconds = (performance.now() - t0) / 1000;
const markdown = renderMarkdown(sections, spreads, {
  command: `npm run bench -- --markdown${runs === 3 ? '' : ` --runs ${runs}`}`,
  runs,
  startedAt,
  seconds,
  cores: availableParallelism(),
  node: process.version,
});
if (toMarkdown) writeFileSync('docs/performance.md', markdown);
if (asJson) {
  console.log(JSON.stringify(summary));
} else {
  console.log(markdown);
  for (const line of failedTargets(spreads)) process.stderr.write(`${line}\n`);
  process.stderr.write(`bench took ${Math.round(seconds)} s\n`);
}
