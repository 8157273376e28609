import { describe, expect, it } from 'vitest';
import { expectDrillHolds } from './expect-drill.js';
import { isolationDrill } from './isolation.js';
import { loadDrill } from './load.js';

describe('isolation and load drills (fast)', () => {
  it("never hands one user's token to another under interleaved concurrency", async () => {
    const outcome = await expectDrillHolds(isolationDrill);
    expect(outcome.served).toBe(outcome.requests);
  });

  it('holds every invariant through a sustained run with faults injected', async () => {
    // The leak guard re-checks a sample; the drill's scanner checks everything.
    const outcome = await expectDrillHolds(loadDrill, { secrets: 150, texts: 150 });
    expect(outcome.requests).toBe(600);
    expect(outcome.upstreamCalls).toBeLessThan(outcome.requests);
  });
});
