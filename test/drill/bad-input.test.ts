import { describe, expect, it } from 'vitest';
import { badRequestDrill, doctorInputDrill, nhsRefusedDrill } from './bad-input.js';
import { expectDrillHolds } from './expect-drill.js';

describe('bad input drills (fast)', () => {
  it('answers fuzzed requests that cannot succeed with a JSON 4xx, without KMS or NHS', async () => {
    const outcome = await expectDrillHolds(badRequestDrill);
    expect(outcome.kmsSigns).toBe(0);
    expect(outcome.upstreamCalls).toBe(0);
  });

  it("refuses forged and unknown-key ID tokens locally, and surfaces NHS's own refusals as the caller's 4xx", async () => {
    const outcome = await expectDrillHolds(nhsRefusedDrill);
    // Only the AAL1 tokens reach NHS; each of their failures carries NHS's message_id.
    expect(outcome.failuresNhsGaveMessageId).toBeGreaterThan(0);
    expect(outcome.failuresNhsGaveMessageId).toBeLessThan(outcome.requests);
    expect(outcome.failuresWithMessageId).toBe(outcome.failuresNhsGaveMessageId);
  });

  it('has the assertion doctor answer any input', async () => {
    await expectDrillHolds(doctorInputDrill);
  });
});
