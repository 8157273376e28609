/**
 * The performance targets (issue #15), checked by the benchmark against the median over the runs
 * of one invocation; the worst run is shown next to it. Tests never assert timings.
 */

/** One target on one figure. */
export interface Target {
  readonly label: string;
  /** The figure (a key of the `--json` summary) the target is checked on. */
  readonly key: string;
  /** Whether the figure must stay at or under the limit, or strictly under it. */
  readonly op: '<' | '<=';
  readonly limit: number;
  readonly unit: string;
}

/** Every target the benchmark reports on. */
export const TARGETS: readonly Target[] = [
  { label: 'Memory hit with real telemetry, p99', key: 'hit_p99_ms', op: '<', limit: 0.3, unit: 'ms' },
  {
    label: 'Memory hit within 10x the floor (both with telemetry), p50 ratio',
    key: 'hit_floor_ratio',
    op: '<=',
    limit: 10,
    unit: 'x',
  },
  {
    label: 'Our own CPU per miss (all but RSA and the network) vs the peer baseline',
    key: 'miss_vs_peer_ratio',
    op: '<=',
    limit: 0.8,
    unit: 'x',
  },
  {
    label: 'TLS handshakes per host per container after warm-up, misses 30 s apart',
    key: 'tls_handshakes_per_host',
    op: '<=',
    limit: 1,
    unit: '',
  },
  {
    label: 'Burst across 50 containers, shared tier on: exchanges per user',
    key: 'burst_containers_exchanges_per_user',
    op: '<=',
    limit: 1.2,
    unit: 'x users',
  },
  {
    label: 'Cold start beyond bare Node, int-like configuration',
    key: 'cold_start_int_beyond_node_ms',
    op: '<',
    limit: 150,
    unit: 'ms',
  },
  { label: 'Lambda bundle size', key: 'bundle_kib', op: '<', limit: 450, unit: 'KiB' },
];

/** Whether a value meets a target. */
export function meets(target: Target, value: number): boolean {
  return target.op === '<' ? value < target.limit : value <= target.limit;
}
