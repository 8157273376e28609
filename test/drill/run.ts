/**
 * `npm run drill`: runs every drill at full size, one after another (they share the process-wide
 * KMS mock), checks the leak guard after each, prints the "what it survives" table, writes the
 * outcomes to `.local/drill-results.json`, and exits non-zero if any invariant broke.
 *
 * Options: `--size fast` (the vitest sizes), `--only <substring>` (drills whose name contains it),
 * `--write-docs` (replace the table in docs/drills.md with this run's).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { captureOutput, findLeaks } from '../helpers/leak-guard.js';
import { ALL_DRILLS } from './drills.js';
import type { DrillOutcome } from './invariants.js';
import { skippedDrill } from './invariants.js';
import { progressLine, renderTable, renderViolations, totals } from './report.js';
import type { DrillSize } from './rig.js';
import { FORWARD_ALL, FORWARD_SAMPLE } from './secrets.js';

/** The budget for the whole run on 2 cores. */
const BUDGET_MS = 5 * 60_000;
const RESULTS_FILE = '.local/drill-results.json';
const DOCS_FILE = 'docs/drills.md';
const TABLE_START = '<!-- drill-table:start -->';
const TABLE_END = '<!-- drill-table:end -->';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_EC2_METADATA_DISABLED ??= 'true';
process.env.AWS_REGION ??= 'eu-west-2';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: 'full' },
    only: { type: 'string' },
    'write-docs': { type: 'boolean', default: false },
  },
});
const size = args.size as DrillSize;
if (size !== 'fast' && size !== 'full') throw new Error(`--size must be fast or full, got ${size}`);

// Everything the process prints is checked for secrets too.
captureOutput();

const startedAt = performance.now();
const outcomes: DrillOutcome[] = [];
for (const drill of ALL_DRILLS.filter((d) => !args.only || d.name.includes(args.only))) {
  let outcome: DrillOutcome;
  try {
    outcome = await drill.run({ size, forward: size === 'full' ? FORWARD_SAMPLE : FORWARD_ALL });
  } catch (err) {
    // A drill that crashes is a broken drill run, reported as a failure, never silently skipped.
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    outcome = {
      ...skippedDrill(drill, 'crashed'),
      skipped: undefined,
      violations: [`the drill crashed: ${reason}`],
    };
  }
  const leaks = findLeaks();
  if (leaks.length > 0)
    outcome = {
      ...outcome,
      leaks: outcome.leaks + leaks.length,
      violations: [...outcome.violations, `leak guard: ${leaks.join('; ')}`],
    };
  outcomes.push(outcome);
  console.log(progressLine(outcome));
}
const elapsedMs = Math.round(performance.now() - startedAt);

const table = renderTable(outcomes);
console.log(`\n${table}\n`);
const violations = renderViolations(outcomes);
if (violations) console.log(`Broken invariants:\n${violations}\n`);
const sum = totals(outcomes);
console.log(
  `${sum.drills} drills, ${sum.requests} requests, ${sum.faultsInjected} faults injected, ` +
    `${sum.failed} failed, ${sum.skipped} skipped, in ${(elapsedMs / 1000).toFixed(1)} s (size ${size})`,
);
if (elapsedMs > BUDGET_MS) console.log(`warning: over the ${BUDGET_MS / 60_000}-minute budget`);

mkdirSync('.local', { recursive: true });
writeFileSync(
  RESULTS_FILE,
  `${JSON.stringify({ finishedAt: new Date().toISOString(), size, elapsedMs, totals: sum, outcomes }, null, 2)}\n`,
);
console.log(`results written to ${RESULTS_FILE}`);

if (args['write-docs']) {
  const docs = readFileSync(DOCS_FILE, 'utf8');
  const from = docs.indexOf(TABLE_START);
  const to = docs.indexOf(TABLE_END);
  if (from < 0 || to < from) throw new Error(`${DOCS_FILE} has no ${TABLE_START} … ${TABLE_END} section`);
  const stamp = `_Last full run: ${new Date().toISOString().slice(0, 10)}, ${(elapsedMs / 1000).toFixed(0)} s on ${(await import('node:os')).availableParallelism()} cores._`;
  writeFileSync(
    DOCS_FILE,
    `${docs.slice(0, from + TABLE_START.length)}\n${stamp}\n\n${table}\n${docs.slice(to)}`,
  );
  console.log(`table written to ${DOCS_FILE}`);
}

process.exit(sum.failed > 0 ? 1 : 0);
