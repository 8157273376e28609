/**
 * A source of the current time, passed in so tests and drills can move it: the wall clock (token
 * expiry, `iat`/`exp`) and a monotonic line with timers on it (deadlines, timeouts, backoff).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Milliseconds on a line that never jumps back (`performance.now()` in production), for
   * deadlines: a `Trace.deadlineAt` is a point on it.
   */
  monotonicMs(): number;
  /** Calls `fire` once `ms` have passed on {@link monotonicMs}; returns a function that cancels it. */
  setTimer(ms: number, fire: () => void): () => void;
}

/** The real clocks: `Date.now()`, `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer: (ms, fire) => {
    const timer = setTimeout(fire, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `clock`'s monotonic line. */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

/**
 * A clock for tests. Its wall time moves only when told to. Its monotonic time runs with real
 * time plus every {@link advance}, and its timers fire when either gets there: a test that never
 * advances it sees deadlines pass in real time as before, and one that does skips the wait.
 */
export class ManualClock implements Clock {
  private advancedMs = 0;
  private readonly timers = new Set<{ readonly at: number; readonly fire: () => void }>();

  constructor(private ms: number = Date.now()) {}
  now(): number {
    return this.ms;
  }
  monotonicMs(): number {
    return performance.now() + this.advancedMs;
  }
  setTimer(ms: number, fire: () => void): () => void {
    const timer = {
      at: this.monotonicMs() + ms,
      fire: () => {
        cancel();
        fire();
      },
    };
    const real = setTimeout(timer.fire, Math.max(0, ms));
    const cancel = () => {
      clearTimeout(real);
      this.timers.delete(timer);
    };
    this.timers.add(timer);
    return cancel;
  }
  /** Moves the clock (wall and monotonic) forward by `ms` milliseconds, firing the timers due. */
  advance(ms: number): void {
    this.ms += ms;
    this.advancedMs += ms;
    const now = this.monotonicMs();
    for (const timer of [...this.timers].sort((a, b) => a.at - b.at)) if (timer.at <= now) timer.fire();
  }
  /** Sets the wall clock to `ms` since the epoch (the monotonic line does not move). */
  set(ms: number): void {
    this.ms = ms;
  }
}
