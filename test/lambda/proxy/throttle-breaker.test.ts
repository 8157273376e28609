import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lambda/platform/clock.js';
import { MAX_THROTTLE_WINDOW_MS, ThrottleBreaker } from '../../../lambda/proxy/throttle-breaker.js';

describe('ThrottleBreaker', () => {
  it('lets calls go while closed', () => {
    const breaker = new ThrottleBreaker(new ManualClock(0));
    expect(breaker.admit()).toEqual({ probe: false });
    expect(breaker.state).toBe('closed');
  });

  it('fails fast for the Retry-After window, then admits exactly one probe', () => {
    // Prepare
    const clock = new ManualClock(0);
    const breaker = new ThrottleBreaker(clock);

    // Act
    breaker.throttled(3_000);
    const during = breaker.admit();
    clock.advance(3_000);
    const probe = breaker.admit();
    const second = breaker.admit();

    // Assess
    expect(during).toEqual({ waitMs: 3_000 });
    expect(probe).toEqual({ probe: true });
    expect(second).toHaveProperty('waitMs');
    expect(breaker.state).toBe('half-open');
  });

  it('closes on the probe answering, reopens on the probe being throttled again', () => {
    const clock = new ManualClock(0);
    const breaker = new ThrottleBreaker(clock);
    breaker.throttled(1_000);
    clock.advance(1_000);
    breaker.throttled(1_000);
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    breaker.answered(breaker.admit());
    expect(breaker.state).toBe('closed');
  });

  it('is not closed by a call admitted before the 429 that answers after it', () => {
    const breaker = new ThrottleBreaker(new ManualClock(0));
    const early = breaker.admit();
    breaker.throttled(5_000);
    breaker.answered(early);
    expect(breaker.state).toBe('open');
  });

  it('lets the next call probe when the probe got no answer', () => {
    const clock = new ManualClock(0);
    const breaker = new ThrottleBreaker(clock);
    breaker.throttled(0);
    breaker.released(breaker.admit());
    expect(breaker.admit()).toEqual({ probe: true });
  });

  it('caps an absurd Retry-After at a minute, and uses 1 s without one', () => {
    const clock = new ManualClock(0);
    const breaker = new ThrottleBreaker(clock);
    breaker.throttled(86_400_000);
    expect(breaker.admit()).toEqual({ waitMs: MAX_THROTTLE_WINDOW_MS });
    breaker.reset();
    breaker.throttled(undefined);
    expect(breaker.admit()).toEqual({ waitMs: 1_000 });
  });
});
