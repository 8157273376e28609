/** The manual clock's monotonic line and timers, on which the deadline tests rely. */
import { describe, expect, it } from 'vitest';
import { ManualClock, sleepOn } from '../../../lambda/platform/clock.js';

describe('ManualClock', () => {
  it('fires a timer when advanced to it, in order, and not before', () => {
    // Prepare
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimer(600_000, () => fired.push('later'));
    clock.setTimer(300_000, () => fired.push('sooner'));

    // Act
    clock.advance(299_000);
    const early = [...fired];
    clock.advance(400_000);

    // Assess
    expect(early).toEqual([]);
    expect(fired).toEqual(['sooner', 'later']);
  });

  it('never fires a cancelled timer, nor a timer twice', () => {
    const clock = new ManualClock(0);
    let count = 0;
    const cancel = clock.setTimer(1_000, () => count++);
    clock.setTimer(1_000, () => count++);
    cancel();
    clock.advance(1_000);
    clock.advance(1_000);
    expect(count).toBe(1);
  });

  it('moves its monotonic line with advance but not with set', () => {
    const clock = new ManualClock(0);
    const before = clock.monotonicMs();
    clock.set(-5_000_000);
    clock.advance(900_000);
    expect(clock.now()).toBe(-4_100_000);
    expect(clock.monotonicMs() - before).toBeGreaterThanOrEqual(900_000);
    expect(clock.monotonicMs() - before).toBeLessThan(960_000);
  });

  it('still fires its timers in real time when nobody advances it', async () => {
    const clock = new ManualClock(0);
    await sleepOn(clock, 5);
    expect(clock.now()).toBe(0);
  });
});
