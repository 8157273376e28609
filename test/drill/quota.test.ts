import { describe, expect, it } from 'vitest';
import { expectDrillHolds } from './expect-drill.js';
import { alwaysThrottledDrill, callerShareDrill, forgedFloodDrill } from './quota.js';

describe('quota drills (fast)', () => {
  it('against an always-429 NHS, costs at most one NHS call per Retry-After window', async () => {
    const outcome = await expectDrillHolds(alwaysThrottledDrill);
    expect(outcome.requests).toBe(121);
    // The drill's own verdict bounds the calls; the recovery probe's calls come on top.
    expect(outcome.behaviour).toMatch(/cost [1-9] NHS calls/);
  });

  it('forged ID tokens (200 here, 1,000 in npm run drill) cost no KMS signature and no NHS call; a genuine caller is served', async () => {
    const outcome = await expectDrillHolds(forgedFloodDrill);
    expect(outcome.requests).toBe(221);
    expect(outcome.served).toBe(1);
    expect(outcome.kmsSigns).toBe(1);
  });

  it('sheds a caller over its share with 429 while another caller is served', async () => {
    const outcome = await expectDrillHolds(callerShareDrill);
    expect(outcome.failuresByCode).toEqual({ '429 rate_limited': 5 });
  });
});
