import { describe, expect, it } from 'vitest';
import { expectDrillHolds } from './expect-drill.js';
import { alwaysThrottledDrill } from './quota.js';

describe('quota drills (fast)', () => {
  it('against an always-429 NHS, costs at most one NHS call per Retry-After window', async () => {
    const outcome = await expectDrillHolds(alwaysThrottledDrill);
    expect(outcome.requests).toBe(121);
    // The drill's own verdict bounds the calls; the recovery probe's calls come on top.
    expect(outcome.behaviour).toMatch(/cost [1-9] NHS calls/);
  });
});
