import { describe, expect, it } from 'vitest';
import { badRequestDrill, doctorInputDrill, nhsRefusedDrill } from './bad-input.js';
import { expectDrillHolds } from './expect-drill.js';

describe('bad input drills (fast)', () => {
  it('answers fuzzed requests that cannot succeed with a JSON 4xx, without KMS or NHS', async () => {
    const outcome = await expectDrillHolds(badRequestDrill);
    expect(outcome.kmsSigns).toBe(0);
    expect(outcome.upstreamCalls).toBe(0);
  });

  it("surfaces ID tokens only NHS can refuse as the caller's 4xx with the message_id", async () => {
    const outcome = await expectDrillHolds(nhsRefusedDrill);
    expect(outcome.failuresWithMessageId).toBe(outcome.requests);
  });

  it('has the assertion doctor answer any input', async () => {
    await expectDrillHolds(doctorInputDrill);
  });
});
