/**
 * `npm run bench`: every performance figure, measured several times in one invocation on this
 * machine, each next to its floor or peer, with the targets checked. Options:
 * `--json` prints one JSON object (the medians over the runs, stable keys) instead of the report;
 * `--markdown` also writes the report to docs/performance.md; `--runs N` (default 3).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureDoctorPage } from '../test/browser/measure.js';
import { rsaKey } from '../test/helpers/kms.js';
import { HARNESS_KEY_ARN } from '../test/helpers/proxy-harness.js';
import { benchBurst } from './burst.js';
import { capacity, KMS_RSA_REQUESTS_PER_SECOND, NHS_CALLS_PER_MINUTE_PER_APP } from './capacity.js';
import { benchColdStart, benchColdStartInt, buildBundleAsTheStackDoes } from './cold-start.js';
import type { MissScenarioResult, SpacedScenarioResult } from './container.js';
import { benchHit } from './hit.js';
import { benchMiss } from './miss.js';
import { BENCH_AWS, runContainer, startBenchStandIns } from './real-sdk.js';
import { failedTargets, renderMarkdown, type Section } from './report.js';
import { benchSharedHit } from './shared-hit.js';
import { adminGet, type StandIns } from './stand-ins.js';
import { round, type Spread, spread } from './stats.js';
import { benchThroughput } from './throughput.js';
import { generateCertificates } from './tls.js';

/** Idle gaps between misses for the connection reuse counts. */
const SPACINGS_S = [0, 2, 6, 30] as const;
/** Misses counted after the warm-up miss, per spacing. */
const SPACED_MISSES = 2;

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
const loadAtStart = loadavg()[0] ?? 0;
const t0 = performance.now();
const workDir = mkdtempSync(join(tmpdir(), 'cis2-bench-'));
type Figures = Record<string, number>;
const perRun: Figures[] = [];
/** Failure codes of the bursts, by burst and run, for the report. */
const burstFailures: string[] = [];
let standIns: StandIns | undefined;
try {
  progress('RSA-4096 bench key; synthesising the stack to get its bundle');
  // Production signs with RSA-4096 (int and prod refuse any other KMS key spec); so does the bench.
  const kmsKey = { keyId: HARNESS_KEY_ARN, privateKey: rsaKey(4096) };
  const bundle = buildBundleAsTheStackDoes(join(workDir, 'cdk.out'));
  progress('HTTPS stand-ins (KMS, Secrets Manager, DynamoDB, NHS) with throwaway certificates');
  const certs = generateCertificates(workDir);
  standIns = await startBenchStandIns(certs, kmsKey.privateKey);
  const ready = standIns;

  for (let run = 1; run <= runs; run++) {
    const f: Figures = {};
    const tag = `r${run}-${process.pid}`;
    // The spaced misses sleep for real (up to 30 s between misses), each in its own container
    // process, so they run in the background while the rest of the run measures.
    const spaced = Promise.all(
      SPACINGS_S.map((spacingS) =>
        runContainer<SpacedScenarioResult>(ready, certs.caFile, {
          scenario: 'spaced',
          tag: `${tag}-spaced`,
          misses: SPACED_MISSES,
          warmup: 1,
          spacingS,
        }),
      ),
    );
    spaced.catch(() => {});
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

    progress(`run ${run}/${runs}: burst in one container (cache on, then off)`);
    const burst = await benchBurst(ready, `${tag}-one`, 'on', 1, 1_000);
    const burstNoCache = await benchBurst(ready, `${tag}-one`, 'off', 1, 1_000);
    f.burst_requests = burst.requests;
    f.burst_users = burst.users;
    f.burst_exchanges = burst.exchanges;
    f.burst_signs = burst.signs;
    f.burst_failures = burst.failures;
    f.burst_nocache_exchanges = burstNoCache.exchanges;
    f.burst_nocache_signs = burstNoCache.signs;
    f.burst_nocache_failures = burstNoCache.failures;
    f.burst_nocache_nhs_failures = burstNoCache.nhsFailures;

    progress(`run ${run}/${runs}: cold start (local configuration)`);
    const cold = benchColdStart(bundle, workDir, 5);
    f.bundle_kib = round(cold.bundleKiB, 1);
    f.cold_start_ms = round(cold.coldStartMs, 1);
    f.node_baseline_ms = round(cold.nodeBaselineMs, 1);
    f.cold_start_beyond_node_ms = round(cold.coldStartMs - cold.nodeBaselineMs, 1);

    progress(`run ${run}/${runs}: the doctor page in headless Chromium`);
    const page = await measureDoctorPage(1);
    f.doctor_page_kib = round(page.htmlBytes / 1024, 1);
    f.doctor_page_gzip_kib = round(page.gzipBytes / 1024, 1);
    f.doctor_page_first_paint_ms = round(page.firstPaintMs, 1);
    f.doctor_page_ready_ms = round(page.readyMs, 1);
    f.doctor_page_diagnose_ms = round(page.diagnoseMs, 1);

    progress(`run ${run}/${runs}: throughput on loopback`);
    const throughput = await benchThroughput(kmsKey);
    f.rps_per_core = Math.round(throughput.rps);
    f.throughput_failures = throughput.failures;

    progress(`run ${run}/${runs}: misses through the real SDK over HTTPS, and the peer baseline`);
    const real = await runContainer<MissScenarioResult>(ready, certs.caFile, {
      scenario: 'miss',
      tag,
      misses: 100,
      warmup: 20,
      hits: 300,
    });
    f.miss_cpu_ms = round(real.https.total as number, 3);
    f.miss_cpu_http_ms = round(real.http.total as number, 3);
    f.miss_cpu_tls_ms = round((real.https.total as number) - (real.http.total as number), 3);
    f.miss_cpu_sdk_ms = round(real.http.sdk as number, 3);
    f.miss_cpu_nhs_http_ms = round(real.http.nhs_http as number, 3);
    f.miss_cpu_ours_ms = round(real.http.ours as number, 3);
    f.miss_wall_ms = round(real.https.wall as number, 2);
    f.peer_miss_cpu_ms = round(real.peerMissCpuMs, 3);
    f.peer_rsa_cpu_ms = round(real.peerRsaCpuMs, 3);
    f.miss_vs_peer_ratio = round(f.miss_cpu_ms / f.peer_miss_cpu_ms, 2);
    f.real_memory_hit_ms = round(real.memoryHitMs, 4);
    f.real_shared_hit_ms = round(real.sharedHitMs, 3);
    f.peer_hit_ms = round(real.peerHitMs, 3);
    f.peer_hit_ratio = round(real.memoryHitMs / real.peerHitMs, 3);
    f.peer_shared_hit_ratio = round(real.sharedHitMs / real.peerHitMs, 2);

    progress(`run ${run}/${runs}: bursts across 50 containers sharing the table (cache on, then off)`);
    const burstC = await benchBurst(ready, tag, 'on');
    const burstCOff = await benchBurst(ready, tag, 'off');
    f.burst_containers = burstC.containers;
    f.burst_containers_requests = burstC.requests;
    f.burst_containers_exchanges = burstC.exchanges;
    f.burst_containers_exchanges_per_user = round(burstC.exchanges / burstC.users, 2);
    f.burst_containers_signs = burstC.signs;
    f.burst_containers_failures = burstC.failures;
    f.burst_containers_nocache_exchanges = burstCOff.exchanges;
    f.burst_containers_nocache_signs = burstCOff.signs;
    f.burst_containers_nocache_failures = burstCOff.failures;
    for (const [label, b] of [
      ['one container, cache on', burst],
      ['one container, cache off', burstNoCache],
      ['50 containers, shared tier on', burstC],
      ['50 containers, cache off', burstCOff],
    ] as const) {
      const codes = Object.entries(b.failureCodes).map(([code, n]) => `${n} × ${code}`);
      if (codes.length > 0) burstFailures.push(`run ${run}, ${label}: ${codes.join(', ')}`);
    }

    progress(`run ${run}/${runs}: cold start with the int-like configuration, and its first request`);
    const { tokens } = await adminGet<{ tokens: string[] }>(
      ready,
      `/id-tokens?scheme=https&count=5&prefix=${tag}-cold`,
    );
    const coldInt = benchColdStartInt(bundle, workDir, {
      caFile: certs.caFile,
      endpoints: ready.https,
      aws: BENCH_AWS,
      idTokens: tokens,
    });
    f.cold_start_int_ms = round(coldInt.coldStartMs, 1);
    f.cold_start_int_beyond_node_ms = round(coldInt.coldStartMs - coldInt.nodeBaselineMs, 1);
    f.first_miss_ms = round(coldInt.firstMissMs, 1);

    progress(`run ${run}/${runs}: waiting for the spaced misses (up to ${SPACINGS_S.at(-1)} s apart)`);
    for (const result of await spaced) {
      const hosts = Object.values(result.perHost);
      const s = result.spacingS;
      f[`tls_handshakes_per_host_${s}s`] = Math.max(0, ...hosts.map((c) => c.tls));
      f[`tcp_connections_per_host_${s}s`] = Math.max(0, ...hosts.map((c) => c.tcp));
      // A host the container opened no new connection to after warm-up counts 0.
      for (const host of ['tokenUrl', 'kms', 'dynamodb', 'secretsManager'])
        f[`tls_handshakes_${host}_${s}s`] = result.perHost[host]?.tls ?? 0;
    }
    f.tls_handshakes_per_host = f[`tls_handshakes_per_host_${SPACINGS_S.at(-1)}s`] as number;

    const cap = capacity(
      f.burst_containers_exchanges_per_user,
      burstC.signs / Math.max(1, burstC.exchanges),
      f.miss_cpu_ms,
    );
    f.nhs_calls_per_user_hour = round(cap.nhsCallsPerUserHour, 2);
    f.users_per_app = Math.floor(cap.usersPerApp);
    f.users_per_app_ideal = Math.floor(cap.usersPerAppIdeal);
    f.kms_signs_per_s_at_nhs_limit = round(cap.kmsSignsPerSecondAtNhsLimit, 2);
    f.kms_rsa_quota_share = round(cap.kmsQuotaShare, 4);
    f.misses_per_core_s = Math.round(cap.missesPerCoreSecond);
    perRun.push(f);
  }
} finally {
  await standIns?.close();
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
    title: 'Misses through the real SDK over HTTPS',
    how:
      '`bench/container.ts` (`miss`), in its own process: the app built by `buildApp` with the int ' +
      'configuration (RSA-4096 KMS key required, credentials from the secret, shared tier on) and real ' +
      '`KMSClient`, `SecretsManagerClient` and DynamoDB clients pointed with `endpoint` at local HTTPS ' +
      'stand-ins (`bench/stand-ins.ts`, another process: a KMS that really signs with the RSA-4096 key over ' +
      "the awsJson1_1 `TrentService.Sign`/`GetPublicKey` protocol, Secrets Manager's `GetSecretValue`, " +
      'dynalite, the NHS emulator with its `tls` option), certificates made at run time by `openssl` and ' +
      'trusted through NODE_EXTRA_CA_CERTS. 100 misses (fresh users) after 20 warm-up, alternating with ' +
      "the same against plain-HTTP twins of every stand-in. CPU is the process's `process.cpuUsage()` " +
      'per miss: RSA happens in the stand-in, as in KMS. The split: the SDK part is CPU while an SDK ' +
      'command is in flight (outermost middleware), the NHS HTTP part is CPU inside `fetch` including ' +
      'reading the body, ours is the rest (all three measured over plain HTTP); TLS is the HTTPS miss less ' +
      'the HTTP miss. Hits here are wall time over HTTPS too.',
    figures: [
      { key: 'miss_cpu_ms', label: 'Our CPU per miss, HTTPS (all but RSA)', unit: 'ms' },
      { key: 'miss_cpu_sdk_ms', label: 'of which AWS SDK (KMS Sign, table read and writes)', unit: 'ms' },
      { key: 'miss_cpu_nhs_http_ms', label: 'of which HTTP client to NHS (fetch)', unit: 'ms' },
      { key: 'miss_cpu_tls_ms', label: 'of which TLS (HTTPS less plain HTTP)', unit: 'ms' },
      { key: 'miss_cpu_ours_ms', label: 'of which our code (the rest)', unit: 'ms' },
      { key: 'miss_cpu_http_ms', label: 'Our CPU per miss, plain HTTP', unit: 'ms' },
      {
        key: 'miss_wall_ms',
        label: 'Miss wall time, HTTPS (stand-ins sign and verify RSA-4096)',
        unit: 'ms',
      },
      { key: 'real_memory_hit_ms', label: 'Memory hit, same process, p50 wall', unit: 'ms' },
      { key: 'real_shared_hit_ms', label: 'Shared hit over HTTPS (second instance), p50 wall', unit: 'ms' },
    ],
  },
  {
    title: 'Peer baseline',
    how:
      '`bench/peer.ts`, written from the description in issue #15 of the closest peer design, not from ' +
      'its code: the PEM key read from the secret once per container, RS512 signed in process ' +
      '(`crypto.sign`), a table read and a write on every request, a new exchange at 60 s or less left, ' +
      'one Powertools log line per request. Run in the same container process against the same HTTPS ' +
      'stand-ins, fresh users for misses, one user for hits. Its RSA CPU is measured around the ' +
      'synchronous sign and subtracted, so both sides exclude RSA.',
    figures: [
      { key: 'peer_miss_cpu_ms', label: 'Peer CPU per miss (less its RSA)', unit: 'ms' },
      { key: 'peer_rsa_cpu_ms', label: "Peer's in-process RSA-4096 sign, per request", unit: 'ms' },
      { key: 'miss_vs_peer_ratio', label: 'Our miss CPU / peer miss CPU', unit: 'x' },
      { key: 'peer_hit_ms', label: 'Peer hit (table read and write), p50 wall', unit: 'ms' },
      { key: 'peer_hit_ratio', label: 'Our memory hit / peer hit', unit: 'x' },
      { key: 'peer_shared_hit_ratio', label: 'Our shared hit / peer hit', unit: 'x' },
    ],
  },
  {
    title: 'Connections and TLS handshakes',
    how:
      `\`bench/container.ts\` (\`spaced\`): one container process per spacing, all at once in the background ` +
      `of each run. After one warm-up miss, ${SPACED_MISSES} misses (fresh users) each after a real sleep of ` +
      `0, 2, 6 or 30 s; no idle time is simulated. TCP connections and TLS handshakes are counted in the ` +
      'container where both the SDK (`https.Agent`) and `fetch` (undici) open them (`tls.connect`), per ' +
      'host; the figure is the busiest host. The KMS, Secrets Manager and DynamoDB stand-ins never close ' +
      'idle connections and advertise no keep-alive timeout, so their counts show what the SDK itself does ' +
      "(its `https.Agent` keeps idle sockets). The emulator keeps Node's server default (idle connections " +
      'closed after 5 s, advertised as `Keep-Alive: timeout=5`), but fetch (undici) closes a connection ' +
      'idle for 4 s on its own by default (`keepAliveTimeout`, 4 s), so the NHS count above 4 s is the ' +
      "client's choice either way; how long NHS's gateway keeps an idle connection is not known here. " +
      'Handshakes after warm-up are resumed TLS sessions where the client offers one.',
    figures: SPACINGS_S.flatMap((sp) => [
      {
        key: `tcp_connections_per_host_${sp}s`,
        label: `TCP connections, busiest host, ${sp} s apart`,
        unit: '',
      },
      {
        key: `tls_handshakes_per_host_${sp}s`,
        label: `TLS handshakes, busiest host, misses ${sp} s apart`,
        unit: '',
      },
      { key: `tls_handshakes_tokenUrl_${sp}s`, label: `of which to NHS, ${sp} s apart`, unit: '' },
      { key: `tls_handshakes_kms_${sp}s`, label: `to KMS, ${sp} s apart`, unit: '' },
      { key: `tls_handshakes_dynamodb_${sp}s`, label: `to DynamoDB, ${sp} s apart`, unit: '' },
    ]),
  },
  {
    title: 'Bursts across containers',
    how:
      '`bench/burst.ts`: 50 app instances built by `buildApp` in one process, each its own ' +
      'memory tier, signer and SDK clients, sharing one table; KMS, the table and NHS are the stand-ins ' +
      '(plain HTTP: the counts do not depend on TLS). 500 requests for 10 users dealt so that every ' +
      'container sees every user, fired at once; exchanges and failures counted by the emulator, ' +
      'signatures as KMS `Sign` requests at the stand-in (SDK retries included), failures also as non-200 ' +
      'answers. Two cores carry every container and the stand-ins, so the KMS call timeout is raised to ' +
      "30 s and `CACHE_TIMEOUT_MS` to 5 s: what is counted is the code's amplification, not this " +
      "machine's queueing. In-process single flight cannot join different instances' requests.",
    figures: [
      { key: 'burst_containers', label: 'Containers', unit: '' },
      { key: 'burst_containers_exchanges', label: 'Exchanges for 10 users, shared tier on', unit: '' },
      { key: 'burst_containers_exchanges_per_user', label: 'Exchanges per user, shared tier on', unit: '' },
      { key: 'burst_containers_signs', label: 'Signatures, shared tier on', unit: '' },
      { key: 'burst_containers_failures', label: 'Failures, shared tier on', unit: '' },
      { key: 'burst_containers_nocache_exchanges', label: 'Exchanges, cache off', unit: '' },
      { key: 'burst_containers_nocache_signs', label: 'Signatures, cache off', unit: '' },
      { key: 'burst_containers_nocache_failures', label: 'Failures, cache off', unit: '' },
    ],
  },
  {
    title: 'Bursts in one process',
    how:
      '`bench/burst.ts` with one container: 1,000 concurrent requests for 10 users through one app ' +
      'instance (int-like configuration, shared tier on) against the stand-ins, counted as in the burst ' +
      'across containers below. The floor is 10 exchanges and 10 signatures.',
    figures: [
      { key: 'burst_exchanges', label: 'Exchanges, cache on', unit: '' },
      { key: 'burst_signs', label: 'Signatures, cache on', unit: '' },
      { key: 'burst_failures', label: 'Failures, cache on', unit: '' },
      { key: 'burst_nocache_exchanges', label: 'Exchanges, cache off', unit: '' },
      { key: 'burst_nocache_signs', label: 'Signatures, cache off', unit: '' },
      { key: 'burst_nocache_failures', label: 'Failures, cache off', unit: '' },
      { key: 'burst_nocache_nhs_failures', label: 'Error answers from NHS, cache off', unit: '' },
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
    title: 'Cold start, int-like configuration',
    how:
      'The same bundle with `ENVIRONMENT=int`, `SIGNING_KEY_ID`, `SECRET_ID` and `CACHE_TABLE`, so all three ' +
      "SDK clients are built at init, pointed at the HTTPS stand-ins with the SDK's `AWS_ENDPOINT_URL_KMS`, " +
      '`_SECRETS_MANAGER` and `_DYNAMODB` and trusting the bench CA. The NHS host keeps its real name ' +
      '(`int.api.service.nhs.uk`: the `aud`, SNI and Host header); a preload only sends its TLS connections ' +
      'to the stand-in on loopback. Per run 5 fresh processes, each with a new user: the cold start is the ' +
      "process's wall time less its first `POST /token`, which is reported on its own (GetPublicKey, " +
      'GetSecretValue, table read, Sign, NHS, table write, every connection new).',
    figures: [
      {
        key: 'cold_start_int_ms',
        label: 'Cold start, int-like (spawn, import, `GET /health`, exit)',
        unit: 'ms',
      },
      { key: 'cold_start_int_beyond_node_ms', label: 'Cold start beyond bare Node, int-like', unit: 'ms' },
      { key: 'first_miss_ms', label: 'First request after it (a miss)', unit: 'ms' },
    ],
  },
  {
    title: 'The doctor page',
    how:
      '`test/browser/measure.ts`: builds the page (`npm run build:doctor-page`), opens it from `file://` in ' +
      "a fresh headless Chromium tab (Debian's `chromium`), and times first contentful paint, the end of " +
      'DOMContentLoaded, and Diagnose on an assertion with an en dash in its signature against an RSA-4096 ' +
      'JWKS until the verified repair is shown.',
    figures: [
      { key: 'doctor_page_kib', label: 'Page size (one HTML file)', unit: 'KiB' },
      { key: 'doctor_page_gzip_kib', label: 'Page size, gzipped', unit: 'KiB' },
      { key: 'doctor_page_first_paint_ms', label: 'First contentful paint', unit: 'ms' },
      { key: 'doctor_page_ready_ms', label: 'Ready (script run, form usable)', unit: 'ms' },
      { key: 'doctor_page_diagnose_ms', label: 'Diagnose and verified repair', unit: 'ms' },
    ],
  },
  {
    title: 'Capacity',
    how:
      "Computed in `bench/capacity.ts` from this run's medians and the platform limits: NHS allows " +
      `${NHS_CALLS_PER_MINUTE_PER_APP} token calls per rolling minute per app (docs/nhs-platform.md §7). An active ` +
      "user's token (599 s) is renewed once it has 60 s or less left, so one grant per 539 s, times the " +
      'For an hour-long session: its first exchange costs the exchanges per user measured in the burst ' +
      'across containers (conservative: every container meets the user at once), each later renewal one ' +
      'refresh (assumed: the refresh lease is not measured here). KMS signs for exchanges only (refresh grants use the client ' +
      `secret); at the NHS limit that is at most 5 Sign requests per second against the account's RSA ` +
      `quota of ${KMS_RSA_REQUESTS_PER_SECOND.toLocaleString('en-GB')} per second, shared with every RSA operation in ` +
      'the Region (AWS KMS request quotas, https://docs.amazonaws.cn/en_us/kms/latest/developerguide/requests-per-second.html; ' +
      'quotas vary by Region and are adjustable: check Service Quotas for eu-west-2).',
    figures: [
      { key: 'nhs_calls_per_user_hour', label: 'NHS calls per active user per hour', unit: '' },
      { key: 'users_per_app', label: 'Active users one app serves at the NHS rate limit', unit: '' },
      { key: 'users_per_app_ideal', label: 'The same with one call per grant (no amplification)', unit: '' },
      {
        key: 'kms_signs_per_s_at_nhs_limit',
        label: 'KMS Sign requests per second at the NHS limit',
        unit: '/s',
      },
      { key: 'kms_rsa_quota_share', label: 'Share of the KMS RSA request quota', unit: '' },
      { key: 'misses_per_core_s', label: 'Misses per core-second on our CPU', unit: '' },
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
const notes = [
  '## Notes',
  '',
  '- Burst failures by answer (status and error code): ' +
    (burstFailures.length === 0 ? 'none.' : `${burstFailures.join('; ')}.`),
  "- With 1,000 concurrent requests in one container the SDK's HTTP handler queues beyond its 50 " +
    'sockets (it warns `socket usage at capacity=50`), as it would in one Lambda container given such a burst.',
  '- Regenerate this page with `npm run bench:docs` (3 runs); `npm run -s bench -- --json` prints the ' +
    'medians only; `--runs N` changes the number of runs.',
];
const markdown = renderMarkdown(
  sections,
  spreads,
  {
    command: `npm run bench -- --markdown${runs === 3 ? '' : ` --runs ${runs}`}`,
    runs,
    startedAt,
    seconds,
    cores: availableParallelism(),
    node: process.version,
    loadAtStart,
  },
  notes,
);
if (toMarkdown) {
  writeFileSync('docs/performance.md', markdown);
  // The page is checked by `npm run lint` like every file: lay it out as biome would (table padding).
  execFileSync('node_modules/.bin/biome', ['format', '--write', 'docs/performance.md'], { stdio: 'pipe' });
}
if (asJson) {
  console.log(JSON.stringify(summary));
} else {
  console.log(markdown);
  for (const line of failedTargets(spreads)) process.stderr.write(`${line}\n`);
  process.stderr.write(`bench took ${Math.round(seconds)} s\n`);
}
