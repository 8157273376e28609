/**
 * Undoes typographic substitutions a copy step made in a token (a dash for "-" or "--", invisible
 * spaces, typographic quotes, standard base64 characters) by trying the plausible originals and
 * keeping the first candidate whose signature verifies against the JWKS. A verifying signature
 * proves the repair exact: RS512 signatures do not verify by accident.
 */
import { type DecodedJws, decodeJws } from '../platform/jws.js';
import { type Finding, finding } from './findings.js';
import type { JwksKey } from './jwks.js';
import { findVerifyingKey } from './signature.js';
import { type OffendingChar, RSA_SIGNATURE_BYTES, type SegmentName } from './structure.js';

/** Candidates tried at most; an en dash doubles the count and an em dash triples it. */
export const MAX_REPAIR_CANDIDATES = 4096;

/** One character replaced by the repair. */
export interface RepairChange {
  readonly segment: SegmentName;
  /** Zero-based offset of the character within its segment, in the token as given. */
  readonly offset: number;
  readonly codePoint: string;
  readonly char: string;
  /** What it was replaced with: `"--"`, `"-"`, or `""` when removed. */
  readonly to: string;
}

/** The repair as reported: `assertion` is for the CLI to print on request and must never be logged. */
export interface Repair {
  readonly changes: readonly RepairChange[];
  readonly signatureVerified: boolean;
  /** The kid of the key the repaired signature verifies with. */
  readonly kid?: string;
  readonly assertion?: string;
}

/** The repair plus what the diagnosis needs from it. */
export interface RepairOutcome {
  readonly repair: Repair;
  /** The repaired token, decoded, when a candidate decodes. */
  readonly decoded?: DecodedJws;
  readonly findings: Finding[];
}

const describeChanges = (changes: readonly RepairChange[]): string =>
  changes
    .map((c) => `${c.segment} offset ${c.offset}: ${c.codePoint} → ${c.to ? `"${c.to}"` : 'removed'}`)
    .join('; ');

/** Builds candidate tokens by choosing one original per offending character (a mixed-radix count). */
function* candidates(token: string, chars: readonly OffendingChar[], limit: number) {
  const choice = chars.map(() => 0);
  for (let n = 0; n < limit; n += 1) {
    let text = '';
    let from = 0;
    chars.forEach((c, i) => {
      text += token.slice(from, c.index) + c.class.originals[choice[i]!]!;
      from = c.index + c.char.length;
    });
    text += token.slice(from);
    yield {
      text,
      changes: chars.map((c, i): RepairChange => ({ ...pick(c), to: c.class.originals[choice[i]!]! })),
    };
    // Advance the last position fastest, so the first candidate uses every most likely original.
    for (let i = chars.length - 1; i >= 0; i -= 1) {
      choice[i] = (choice[i]! + 1) % chars[i]!.class.originals.length;
      if (choice[i] !== 0) break;
    }
  }
}

const pick = ({ segment, offset, codePoint, char }: OffendingChar) => ({ segment, offset, codePoint, char });

/**
 * Tries to repair a token whose offending characters are typographic substitutes.
 *
 * @param keys - the JWKS keys; without them no candidate can be confirmed, and the first candidate
 *   that decodes with a signature of a common RSA size is returned unverified.
 * @returns `undefined` when no offending character has a plausible original.
 */
export async function repairAssertion(
  token: string,
  offending: readonly OffendingChar[],
  keys?: readonly JwksKey[],
): Promise<RepairOutcome | undefined> {
  if (!offending.some((c) => c.class.originals.length > 0)) return undefined;
  const unrepairable = offending.find((c) => c.class.originals.length === 0);
  if (unrepairable)
    return {
      repair: { changes: [], signatureVerified: false },
      findings: [
        finding(
          'REPAIR_FAILED',
          `Not repaired: ${unrepairable.codePoint} in the ${unrepairable.segment} has no plausible original.`,
          {
            segment: unrepairable.segment,
            offset: unrepairable.offset,
            codePoint: unrepairable.codePoint,
          },
        ),
      ],
    };

  const total = offending.reduce((n, c) => n * c.class.originals.length, 1);
  const tried = Math.min(total, MAX_REPAIR_CANDIDATES);
  // A candidate must have a signature as long as one of the keys, or of a common key when none is known.
  const keySizes = keys?.flatMap((k) => (k.modulusBits ? [k.modulusBits / 8] : [])) ?? [];
  const sizes = keySizes.length > 0 ? keySizes : RSA_SIGNATURE_BYTES;
  let plausible: { text: string; changes: RepairChange[]; decoded: DecodedJws } | undefined;
  let plausibleCount = 0;
  for (const candidate of candidates(token, offending, tried)) {
    let decoded: DecodedJws;
    try {
      decoded = decodeJws(candidate.text);
    } catch {
      continue;
    }
    if (!sizes.includes(decoded.signature.length)) continue;
    plausibleCount += 1;
    plausible ??= { ...candidate, decoded };
    const key = keys && (await findVerifyingKey(decoded, keys, decoded.header.kid));
    if (key) {
      const repair: Repair = {
        changes: candidate.changes,
        signatureVerified: true,
        kid: key.kid,
        assertion: candidate.text,
      };
      const named =
        key.kid === decoded.header.kid ? '' : ` (the header names kid "${String(decoded.header.kid)}")`;
      return {
        repair,
        decoded,
        findings: [
          finding(
            'REPAIR_VERIFIED',
            `Repaired: with ${describeChanges(candidate.changes)}, the signature verifies with kid "${key.kid}"${named}.`,
            { kid: key.kid, changes: candidate.changes },
          ),
        ],
      };
    }
  }

  const scope = tried < total ? `the first ${tried} of ${total}` : `the ${total}`;
  if (!plausible)
    return {
      repair: { changes: [], signatureVerified: false },
      findings: [
        finding(
          'REPAIR_FAILED',
          `Not repaired: none of ${scope} candidate repairs decodes to a token with a signature of a plausible length.`,
          { candidates: total, tried },
        ),
      ],
    };
  const why = keys
    ? `none of ${scope} candidate repairs verifies with the JWKS`
    : `without a JWKS the repair cannot be confirmed (${plausibleCount} of ${tried} candidate repairs tried decode)`;
  return {
    repair: { changes: plausible.changes, signatureVerified: false, assertion: plausible.text },
    decoded: plausible.decoded,
    findings: [
      finding(
        'REPAIR_UNVERIFIED',
        `Not confirmed: ${why}; the first plausible one is ${describeChanges(plausible.changes)}.`,
        {
          changes: plausible.changes,
          candidates: total,
          tried,
          plausible: plausibleCount,
        },
      ),
    ],
  };
}
