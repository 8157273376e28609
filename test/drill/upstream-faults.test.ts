import { describe, expect, it } from 'vitest';
import { expectDrillHolds } from './expect-drill.js';
import { FAULT_CASES, mixedFaultsDrill, UPSTREAM_DRILLS } from './upstream-faults.js';

describe('upstream fault drills (fast)', () => {
  it.each(UPSTREAM_DRILLS.filter((d) => d !== mixedFaultsDrill).map((d) => [d.name, d] as const))(
    '%s: recovers, then gives up cleanly with the right code inside the deadline',
    async (_name, drill) => {
      const outcome = await expectDrillHolds(drill);
      expect(outcome.faultsInjected).toBeGreaterThan(0);
    },
  );

  it('survives a random mix of every fault kind under concurrency', async () => {
    const outcome = await expectDrillHolds(mixedFaultsDrill);
    expect(outcome.requests).toBeGreaterThan(0);
    expect(outcome.faultsInjected).toBeGreaterThan(0);
  });

  it('covers every fault kind the emulator can inject', () => {
    const kinds = new Set(FAULT_CASES.map((c) => c.fault.kind));
    expect([...kinds].sort()).toEqual([
      'delay',
      'drip',
      'drop',
      'html',
      'non-json',
      'oversized',
      'rate-limit',
      'status',
      'truncated',
    ]);
  });
});
