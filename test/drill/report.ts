/**
 * The drill report: the "what it survives" table (markdown, for the terminal and README.md ("What it survives"))
 * and the list of broken invariants.
 */
import type { DrillOutcome } from './invariants.js';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** Totals over all drills, for the table's last row and the exit decision. */
export interface DrillTotals {
  readonly drills: number;
  readonly failed: number;
  readonly skipped: number;
  readonly requests: number;
  readonly faultsInjected: number;
  readonly failuresNhsGaveMessageId: number;
  readonly failuresWithMessageId: number;
  readonly leaks: number;
  readonly errorsCached: number;
  readonly escaped: number;
}

/** Adds up the outcomes. */
export function totals(outcomes: readonly DrillOutcome[]): DrillTotals {
  const sum = (pick: (o: DrillOutcome) => number) => outcomes.reduce((n, o) => n + pick(o), 0);
  return {
    drills: outcomes.length,
    failed: outcomes.filter((o) => o.violations.length > 0).length,
    skipped: outcomes.filter((o) => o.skipped !== undefined).length,
    requests: sum((o) => o.requests),
    faultsInjected: sum((o) => o.faultsInjected),
    failuresNhsGaveMessageId: sum((o) => o.failuresNhsGaveMessageId),
    failuresWithMessageId: sum((o) => o.failuresWithMessageId),
    leaks: sum((o) => o.leaks),
    errorsCached: sum((o) => o.errorsCached),
    escaped: sum((o) => o.escaped),
  };
}

function verdictOf(o: DrillOutcome): string {
  if (o.skipped !== undefined) return 'skipped';
  return o.violations.length === 0 ? 'pass' : `**FAIL** (${o.violations.length})`;
}

/** The markdown "what it survives" table, one row per drill plus totals. */
export function renderTable(outcomes: readonly DrillOutcome[]): string {
  const rows = [
    '| Drill | Injected | What the proxy did | Requests | Faults injected | Failures with message_id | Tokens leaked | Errors cached | p50 / p99 ms | Result |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const o of outcomes) {
    rows.push(
      `| \`${o.name}\` | ${cell(o.injected)} | ${cell(o.behaviour)} | ${o.requests} | ${o.faultsInjected} | ` +
        `${o.failuresWithMessageId}/${o.failuresNhsGaveMessageId} | ${o.leaks} | ${o.errorsCached} | ` +
        `${o.latencyMs.p50} / ${o.latencyMs.p99} | ${verdictOf(o)} |`,
    );
  }
  const t = totals(outcomes);
  rows.push(
    `| **all ${t.drills} drills** | | ${t.escaped} exceptions escaped | **${t.requests}** | **${t.faultsInjected}** | ` +
      `**${t.failuresWithMessageId}/${t.failuresNhsGaveMessageId}** | **${t.leaks}** | **${t.errorsCached}** | | ` +
      `${t.failed === 0 ? 'pass' : `**${t.failed} FAILED**`}${t.skipped ? `, ${t.skipped} skipped` : ''} |`,
  );
  return rows.join('\n');
}

/** Every broken invariant, grouped by drill; empty when all passed. */
export function renderViolations(outcomes: readonly DrillOutcome[]): string {
  return outcomes
    .filter((o) => o.violations.length > 0)
    .map((o) => [`${o.name}:`, ...o.violations.map((v) => `  - ${v}`)].join('\n'))
    .join('\n');
}

/** One line per drill as it finishes, for the terminal. */
export function progressLine(o: DrillOutcome): string {
  const notes = o.notes.length ? ` [${o.notes.join('; ')}]` : '';
  return `${verdictOf(o).replaceAll('*', '').padEnd(10)} ${o.name.padEnd(38)} ${String(o.durationMs).padStart(6)} ms  ${o.requests} requests${notes}`;
}
