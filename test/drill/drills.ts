/**
 * Every drill, in report order: the list `npm run drill` runs at full size and the vitest subset
 * runs at fast size.
 */
import { BAD_INPUT_DRILLS } from './bad-input.js';
import { DEPENDENCY_DRILLS } from './dependency-faults.js';
import type { Drill } from './invariants.js';
import { ISOLATION_DRILLS } from './isolation.js';
import { LOAD_DRILLS } from './load.js';
import { QUOTA_DRILLS } from './quota.js';
import { SECRETS_DRILLS } from './secret-paths.js';
import { UPSTREAM_DRILLS } from './upstream-faults.js';

/** All drills. */
export const ALL_DRILLS: readonly Drill[] = [
  ...UPSTREAM_DRILLS,
  ...DEPENDENCY_DRILLS,
  ...BAD_INPUT_DRILLS,
  ...SECRETS_DRILLS,
  ...ISOLATION_DRILLS,
  ...LOAD_DRILLS,
  ...QUOTA_DRILLS,
];
