/**
 * Human-readable report of a diagnosis: one verdict line on top, then findings errors first,
 * then the repair. Contains the repaired assertion only when asked to.
 */
import type { Diagnosis } from './diagnose.js';
import { bySeverity } from './findings.js';

/** Options of {@link formatDiagnosis}. */
export interface FormatOptions {
  /** Print the repaired assertion (a credential while it is unexpired: only on explicit request). */
  readonly showRepaired?: boolean;
}

function verdictLine(d: Diagnosis): string {
  if (d.predicted)
    return `REJECT: the platform would answer ${d.predicted.status} ${d.predicted.error}: ${d.predicted.error_description}`;
  const unchecked = d.findings.some((f) =>
    ['SIGNATURE_NOT_CHECKED', 'AUD_NOT_CHECKED', 'AUD_UNKNOWN'].includes(f.code),
  );
  return unchecked
    ? 'ACCEPT (as far as checked): nothing the doctor could check is wrong; see the info findings for what was not checked'
    : 'ACCEPT: the platform would accept this assertion';
}

/** Renders a diagnosis as plain text lines for a terminal. */
export function formatDiagnosis(d: Diagnosis, options: FormatOptions = {}): string {
  const lines = [verdictLine(d), ''];
  const findings = bySeverity(d.findings);
  const width = Math.max(0, ...findings.map((f) => f.code.length));
  for (const f of findings) {
    lines.push(`${f.severity.padEnd(7)}  ${f.code.padEnd(width)}  ${f.message}`);
    lines.push(`${' '.repeat(9 + width + 2)}fix: ${f.fix}`);
  }
  if (findings.length === 0) lines.push('No findings.');

  const { repair } = d;
  if (repair) {
    lines.push('');
    const how = repair.signatureVerified ? `verified with kid "${repair.kid}"` : 'NOT verified';
    lines.push(`Repair (${how}, ${repair.changes.length} change(s)):`);
    for (const c of repair.changes)
      lines.push(
        `  ${c.segment} offset ${c.offset}: ${c.codePoint} "${c.char}" → ${c.to ? `"${c.to}"` : 'removed'}`,
      );
    if (repair.assertion)
      lines.push(
        options.showRepaired
          ? `Repaired assertion:\n${repair.assertion}`
          : '  The repaired assertion is not shown; run with --print-repaired to print it.',
      );
  }
  return `${lines.join('\n')}\n`;
}
