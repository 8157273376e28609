/**
 * The container's answer to NHS throttling. The platform counts every call against the app's
 * quota (300 in any rolling minute, docs/nhs-platform.md §7) before it checks anything, so a 429
 * retried, or followed by the next request's call, only keeps the minute exhausted for everyone.
 * After a 429 this breaker fails every call fast until `Retry-After` has passed, then lets exactly
 * one call through as a probe: at most one NHS call per `Retry-After` window per container.
 */
import type { Clock } from '../platform/clock.js';

/** Window used when NHS throttles without `Retry-After`. */
export const DEFAULT_THROTTLE_WINDOW_MS = 1_000;

/**
 * Longest window we honour. The platform's quota is per rolling minute, so a longer
 * `Retry-After` is not about that quota (an intermediary's mistake would otherwise lock every
 * user out for as long as it said).
 */
export const MAX_THROTTLE_WINDOW_MS = 60_000;

/** What the breaker is doing. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** The breaker's answer to a call: wait this long, or go (possibly as the one probe). */
export type Admission = { readonly waitMs: number } | { readonly probe: boolean };

/** A per-container breaker for NHS 429s; see the module comment. */
export class ThrottleBreaker {
  private openUntil = 0;
  private tripped = false;
  private probing = false;

  constructor(private readonly clock: Clock) {}

  /** `open` while the window runs, `half-open` once it has passed and until a probe answers. */
  get state(): BreakerState {
    if (!this.tripped) return 'closed';
    return this.clock.now() < this.openUntil ? 'open' : 'half-open';
  }

  /** Asks to call NHS; a call that goes must report its outcome with its admission. */
  admit(): Admission {
    if (!this.tripped) return { probe: false };
    const left = this.openUntil - this.clock.now();
    if (left > 0) return { waitMs: left };
    // One probe at a time: the others wait for its answer rather than join the stampede.
    if (this.probing) return { waitMs: DEFAULT_THROTTLE_WINDOW_MS };
    this.probing = true;
    return { probe: true };
  }

  /** NHS answered 429: open for `retryAfterMs` (default and cap as above). */
  throttled(retryAfterMs: number | undefined): void {
    const window = Math.min(MAX_THROTTLE_WINDOW_MS, Math.max(0, retryAfterMs ?? DEFAULT_THROTTLE_WINDOW_MS));
    this.openUntil = Math.max(this.openUntil, this.clock.now() + window);
    this.tripped = true;
    this.probing = false;
  }

  /**
   * NHS answered something other than 429. Only the probe's answer closes the breaker: a call
   * admitted before the 429 arrived says nothing about the window NHS asked for.
   */
  answered(admission: Admission): void {
    if (!('probe' in admission) || !admission.probe) return;
    this.tripped = false;
    this.probing = false;
  }

  /** An admitted call got no answer (timeout, network, our own failure): if it was the probe, the next call probes. */
  released(admission: Admission): void {
    if ('probe' in admission && admission.probe) this.probing = false;
  }

  /** Forgets any throttling (drills use it to stand for the window passing). */
  reset(): void {
    this.openUntil = 0;
    this.tripped = false;
    this.probing = false;
  }
}
