/**
 * Runs a drill at the vitest size and asserts it held every invariant: the subset of
 * `npm run drill` that `npm test` runs, judged by the same checker.
 */
import { expect } from 'vitest';
import type { Drill, DrillOutcome } from './invariants.js';
import { FORWARD_ALL, type ForwardLimits } from './secrets.js';

/** Runs `drill` fast and fails with its broken invariants listed, if any. */
export async function expectDrillHolds(
  drill: Drill,
  forward: ForwardLimits = FORWARD_ALL,
): Promise<DrillOutcome> {
  // Act
  const outcome = await drill.run({ size: 'fast', forward });

  // Assess
  expect(outcome.skipped, `${drill.name} was skipped`).toBeUndefined();
  expect(outcome.violations, `${drill.name} broke invariants`).toEqual([]);
  expect(outcome.leaks).toBe(0);
  expect(outcome.errorsCached).toBe(0);
  expect(outcome.escaped).toBe(0);
  return outcome;
}
