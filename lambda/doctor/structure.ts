/**
 * Structure of the compact JWS: segments, alphabet, and whether header and payload decode.
 * Decoding itself is `lambda/platform/jws.ts` (the platform's "Malformed JWT" condition); this module
 * explains a failure precisely: which segment, which character, at which offset.
 */
import { type DecodedJws, decodeJws } from '../platform/jws.js';
import type { JsonObject } from '../platform/rules.js';
import { type Finding, type FindingCode, finding } from './findings.js';

/** Name of a segment of the compact JWS; segments past the third are numbered from 1. */
export type SegmentName = 'header' | 'payload' | 'signature' | `segment ${number}`;

const SEGMENT_NAMES = ['header', 'payload', 'signature'] as const;
const segmentName = (i: number): SegmentName => SEGMENT_NAMES[i] ?? `segment ${i + 1}`;

/** What a character outside the base64url alphabet probably is, and what it may stand for. */
export interface CharClass {
  readonly code: Extract<FindingCode, `CHAR_${string}`>;
  /** Unicode name, for messages. */
  readonly name?: string;
  /** Plausible originals, most likely first; empty when nothing sensible can stand in for it. */
  readonly originals: readonly string[];
}

const cls = (code: CharClass['code'], name: string, originals: readonly string[]): CharClass => ({
  code,
  name,
  originals,
});

/**
 * Characters that copy steps put into tokens. Word processors and chat tools turn "--" into an
 * en dash and "---" (or "--") into an em dash; a lone "-" can become any hyphen-like character.
 */
const KNOWN_CHARS: ReadonlyMap<string, CharClass> = new Map([
  ['\u2013', cls('CHAR_TYPOGRAPHIC_DASH', 'EN DASH', ['--', '-'])],
  ['\u2014', cls('CHAR_TYPOGRAPHIC_DASH', 'EM DASH', ['---', '--', '-'])],
  ['\u2010', cls('CHAR_TYPOGRAPHIC_DASH', 'HYPHEN', ['-'])],
  ['\u2011', cls('CHAR_TYPOGRAPHIC_DASH', 'NON-BREAKING HYPHEN', ['-'])],
  ['\u2012', cls('CHAR_TYPOGRAPHIC_DASH', 'FIGURE DASH', ['-'])],
  ['\u2212', cls('CHAR_TYPOGRAPHIC_DASH', 'MINUS SIGN', ['-'])],
  ['\u2018', cls('CHAR_TYPOGRAPHIC_QUOTE', 'LEFT SINGLE QUOTATION MARK', [''])],
  ['\u2019', cls('CHAR_TYPOGRAPHIC_QUOTE', 'RIGHT SINGLE QUOTATION MARK', [''])],
  ['\u201c', cls('CHAR_TYPOGRAPHIC_QUOTE', 'LEFT DOUBLE QUOTATION MARK', [''])],
  ['\u201d', cls('CHAR_TYPOGRAPHIC_QUOTE', 'RIGHT DOUBLE QUOTATION MARK', [''])],
  [' ', cls('CHAR_WHITESPACE', 'SPACE', [''])],
  ['\t', cls('CHAR_WHITESPACE', 'CHARACTER TABULATION', [''])],
  ['\u00a0', cls('CHAR_WHITESPACE', 'NO-BREAK SPACE', [''])],
  ['\u2007', cls('CHAR_WHITESPACE', 'FIGURE SPACE', [''])],
  ['\u202f', cls('CHAR_WHITESPACE', 'NARROW NO-BREAK SPACE', [''])],
  ['\u200b', cls('CHAR_WHITESPACE', 'ZERO WIDTH SPACE', [''])],
  ['\u200c', cls('CHAR_WHITESPACE', 'ZERO WIDTH NON-JOINER', [''])],
  ['\u200d', cls('CHAR_WHITESPACE', 'ZERO WIDTH JOINER', [''])],
  ['\u2060', cls('CHAR_WHITESPACE', 'WORD JOINER', [''])],
  ['\ufeff', cls('CHAR_WHITESPACE', 'ZERO WIDTH NO-BREAK SPACE', [''])],
  ['\u00ad', cls('CHAR_WHITESPACE', 'SOFT HYPHEN', [''])],
  ['=', cls('CHAR_PADDING', 'EQUALS SIGN (base64 padding)', [''])],
  ['+', cls('CHAR_STANDARD_BASE64', 'PLUS SIGN (standard base64)', ['-'])],
  ['/', cls('CHAR_STANDARD_BASE64', 'SOLIDUS (standard base64)', ['_'])],
]);

const BASE64URL_CHAR = /^[A-Za-z0-9_-]$/;

/** Classifies a character outside the base64url alphabet. */
export function classifyChar(char: string): CharClass {
  return (
    KNOWN_CHARS.get(char) ?? {
      code: /^\s$/u.test(char) ? 'CHAR_WHITESPACE' : 'CHAR_INVALID',
      originals: /^\s$/u.test(char) ? [''] : [],
    }
  );
}

/** `U+2013` notation for a character. */
export const codePointOf = (char: string): string =>
  `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** A character outside the base64url alphabet, located in the token. */
export interface OffendingChar {
  readonly segment: SegmentName;
  /** Zero-based offset within the segment, counted in characters (code points). */
  readonly offset: number;
  /** Index in the token string (UTF-16 code units), for rebuilding it. */
  readonly index: number;
  readonly char: string;
  readonly codePoint: string;
  readonly class: CharClass;
}

/** What the structure check learnt. */
export interface StructureReport {
  readonly findings: Finding[];
  readonly offending: readonly OffendingChar[];
  /** The strictly decoded token, when the platform could decode it. */
  readonly decoded?: DecodedJws;
  /** Header and payload, each when its own segment decodes (even if another part does not). */
  readonly header?: JsonObject;
  readonly payload?: JsonObject;
}

/** At most this many characters are listed one by one; a pasted document would list thousands. */
export const MAX_CHAR_FINDINGS = 20;

/** Signature sizes of the RSA keys in use (2048, 3072, 4096 bits): a signature is as long as the modulus. */
export const RSA_SIGNATURE_BYTES: readonly number[] = [256, 384, 512];

function offendingChars(segments: readonly string[]): OffendingChar[] {
  const found: OffendingChar[] = [];
  let index = 0;
  segments.forEach((text, i) => {
    let offset = 0;
    for (const char of text) {
      if (!BASE64URL_CHAR.test(char))
        found.push({
          segment: segmentName(i),
          offset,
          index,
          char,
          codePoint: codePointOf(char),
          class: classifyChar(char),
        });
      offset += 1;
      index += char.length;
    }
    index += 1; // the dot
  });
  return found;
}

function charFinding(c: OffendingChar): Finding {
  const what = c.class.name ? `${c.codePoint} ${c.class.name}` : c.codePoint;
  const shown = /^\s$|^[\u200b-\u200d\u2060\ufeff\u00ad]$/u.test(c.char) ? '' : ` "${c.char}"`;
  return finding(
    c.class.code,
    `The ${c.segment} has${shown} ${what} at offset ${c.offset}, outside base64url.`,
    {
      segment: c.segment,
      offset: c.offset,
      codePoint: c.codePoint,
      char: c.char,
    },
  );
}

/**
 * Decodes one of header or payload on its own, with the strict decoder: the other part is the
 * empty object `{}` (`e30`) and the signature empty, so only this segment can fail.
 */
function decodePart(segment: string, part: 'header' | 'payload'): JsonObject | undefined {
  try {
    const decoded = decodeJws(part === 'header' ? `${segment}.e30.` : `e30.${segment}.`);
    return decoded[part];
  } catch {
    return undefined;
  }
}

/**
 * Checks a token's structure the way the platform decodes it, and says exactly what is wrong:
 * segment count, every character outside the alphabet (up to {@link MAX_CHAR_FINDINGS}),
 * impossible segment lengths, and header or payload that are not base64url JSON objects.
 */
export function analyseStructure(token: string): StructureReport {
  const findings: Finding[] = [];
  const segments = token.split('.');
  if (segments.length !== 3)
    findings.push(
      finding('SEGMENT_COUNT', `The assertion has ${segments.length} segment(s); a compact JWS has 3.`, {
        actual: segments.length,
        expected: 3,
      }),
    );

  const offending = offendingChars(segments);
  findings.push(...offending.slice(0, MAX_CHAR_FINDINGS).map(charFinding));
  if (offending.length > MAX_CHAR_FINDINGS)
    findings.push(
      finding(
        'CHARS_TRUNCATED',
        `${offending.length - MAX_CHAR_FINDINGS} more characters outside base64url are not listed.`,
        {
          count: offending.length - MAX_CHAR_FINDINGS,
        },
      ),
    );

  const dirty = new Set(offending.map((c) => c.segment));
  const parts: { header?: JsonObject; payload?: JsonObject } = {};
  segments.slice(0, 3).forEach((text, i) => {
    const name = SEGMENT_NAMES[i]!;
    if (dirty.has(name)) return;
    if (text.length % 4 === 1) {
      findings.push(
        finding(
          'SEGMENT_LENGTH',
          `The ${name} is ${text.length} characters long, which no byte string encodes to.`,
          {
            segment: name,
            length: text.length,
          },
        ),
      );
      return;
    }
    if (name === 'signature') return;
    const value = decodePart(text, name);
    if (value) parts[name] = value;
    else
      findings.push(
        finding(
          name === 'header' ? 'HEADER_UNDECODABLE' : 'PAYLOAD_UNDECODABLE',
          `The ${name} is base64url but does not decode to a UTF-8 JSON object.`,
          { segment: name },
        ),
      );
  });

  let decoded: DecodedJws | undefined;
  try {
    decoded = decodeJws(token);
  } catch {
    // Explained by the findings above.
  }
  if (decoded && !RSA_SIGNATURE_BYTES.includes(decoded.signature.length))
    findings.push(
      finding(
        'SIGNATURE_LENGTH',
        `The signature is ${decoded.signature.length} bytes; an RSA 2048/3072/4096 signature is 256/384/512.`,
        {
          segment: 'signature',
          bytes: decoded.signature.length,
        },
      ),
    );
  return { findings, offending, decoded, ...parts };
}
