/**
 * Normalises what people paste as "the assertion": surrounding whitespace and quotes, a
 * `Bearer ` prefix, a whole form body, line breaks from wrapped text. Each is reported, then
 * removed, so the rest of the doctor looks at the assertion that was presumably sent.
 *
 * Only paste artefacts are removed here. Characters inside the token (a space, a dash) stay:
 * the structure check names them with their offset and the repair decides what they were.
 */
import { URN } from '../platform/rules.js';
import { type Finding, finding } from './findings.js';

/** The assertion as it will be diagnosed, and what was done to the pasted text. */
export interface NormalisedInput {
  readonly assertion: string;
  readonly findings: Finding[];
  /**
   * `client_assertion_type` of a pasted form body: the string when present, `null` when a whole
   * body lacks it, `undefined` when no whole body was pasted (nothing to check).
   */
  readonly clientAssertionType?: string | null;
}

/** Opening → closing quote pairs people wrap tokens in, typographic ones included. */
const QUOTE_PAIRS: Readonly<Record<string, string>> = {
  '"': '"',
  "'": "'",
  '`': '`',
  '\u201c': '\u201d',
  '\u201d': '\u201d',
  '\u2018': '\u2019',
  '\u2019': '\u2019',
  '\u201e': '\u201c',
  '\u00ab': '\u00bb',
};

// A JWS has no "=" or "&", so text with one of the token request's fields is a form body.
const FORM_BODY = /(?:^|&)(?:client_assertion|client_assertion_type|grant_type)=/;
const BEARER = /^bearer\s+/i;
// A line break plus the indentation a wrapped paste adds after it.
const LINE_BREAK = /\r\n?[ \t]*|\n[ \t]*/g;

function stripQuotes(text: string): { text: string; quotes?: string } {
  const close = QUOTE_PAIRS[text[0] ?? ''];
  if (text.length < 2 || !close || !text.endsWith(close)) return { text };
  return { text: text.slice(1, -1).trim(), quotes: `${text[0]}…${close}` };
}

/**
 * Extracts the assertion from pasted text.
 *
 * A form body counts as whole (so its `client_assertion_type` is checked) when it carries a
 * `grant_type` or `client_assertion_type`; a lone `client_assertion=...` is just a labelled token.
 */
export function normaliseInput(pasted: string): NormalisedInput {
  const findings: Finding[] = [];
  let text = pasted.trim();
  // A file's final line break is not a paste artefact.
  if (text !== pasted.replace(/\r?\n$/, ''))
    findings.push(finding('INPUT_WHITESPACE', 'Whitespace around the assertion was removed.'));

  const unquoted = stripQuotes(text);
  if (unquoted.quotes) {
    text = unquoted.text;
    findings.push(
      finding('INPUT_QUOTES', `Quotes ${unquoted.quotes} around the assertion were removed.`, {
        quotes: unquoted.quotes,
      }),
    );
  }

  let clientAssertionType: string | null | undefined;
  if (FORM_BODY.test(text)) {
    // URLSearchParams decodes exactly as the platform's form parser does, "+" as a space included.
    const form = new URLSearchParams(text);
    text = form.get('client_assertion') ?? '';
    if (form.has('grant_type') || form.has('client_assertion_type'))
      clientAssertionType = form.get('client_assertion_type');
    findings.push(
      finding('INPUT_FORM_BODY', 'The input is a form body; its client_assertion field was diagnosed.', {
        fields: [...new Set(form.keys())],
      }),
    );
  }

  if (BEARER.test(text)) {
    text = text.replace(BEARER, '');
    findings.push(finding('INPUT_BEARER_PREFIX', 'A "Bearer " prefix was removed.'));
  }

  const breaks = text.match(LINE_BREAK)?.length ?? 0;
  if (breaks > 0) {
    text = text.replace(LINE_BREAK, '');
    findings.push(
      finding('INPUT_LINE_BREAKS', `${breaks} line break(s) inside the assertion were removed.`, {
        count: breaks,
      }),
    );
  }

  if (clientAssertionType !== undefined && clientAssertionType !== URN.clientAssertionType)
    findings.push(
      finding(
        'FORM_ASSERTION_TYPE_INVALID',
        clientAssertionType === null
          ? 'The form body has no client_assertion_type.'
          : `The form body's client_assertion_type is "${clientAssertionType}".`,
        { expected: URN.clientAssertionType, actual: clientAssertionType },
      ),
    );
  if (text === '') findings.push(finding('ASSERTION_MISSING', 'There is no assertion in the input.'));
  return { assertion: text, findings, clientAssertionType };
}

/**
 * The moment an ISO-8601 date-time names, in ms, or `undefined` when `text` is not one.
 * `Date.parse` also takes loose formats; an ISO-8601 date-time starts with YYYY-MM-DD. The CLI's
 * `--at` and the doctor page's "judge at" both read it so.
 */
export function isoTimeMs(text: string): number | undefined {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}
