/** Timing helpers for the benchmarks: warm-up, repeated samples, percentiles. */

/** Summary of a sample of durations in milliseconds. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Percentile (nearest rank) of a sample. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Summarises durations. */
export function summarise(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

/**
 * Runs `fn` `warmup` times unmeasured, then `iterations` times measured one by one.
 */
export async function measure(
  fn: () => Promise<unknown>,
  iterations: number,
  warmup: number,
): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn();
    samples[i] = performance.now() - t;
  }
  return summarise(samples);
}

/** Rounds for display. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One figure over the runs of one invocation. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** Min, median (lower middle for an even count) and max of one figure's values across runs. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Process CPU time (user + system) in milliseconds since an earlier `process.cpuUsage()`. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}
