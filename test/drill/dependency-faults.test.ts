import { describe, expect, it } from 'vitest';
import { DEPENDENCY_DRILLS } from './dependency-faults.js';
import { expectDrillHolds } from './expect-drill.js';

describe('dependency fault drills (fast)', () => {
  it.each(DEPENDENCY_DRILLS.map((d) => [d.name, d] as const))(
    '%s: documented status and code, alarm metric, cache still serving, recovery',
    async (_name, drill) => {
      const outcome = await expectDrillHolds(drill);
      expect(outcome.faultsInjected).toBeGreaterThan(0);
    },
  );
});
