/**
 * The browser doctor page: reads the form, runs the same `diagnose` the CLI runs, and renders the
 * verdict, the findings, the offending characters marked in place, the decoded header and claims,
 * and the repair. Everything is built with `textContent`, never parsed as HTML, since every value
 * shown comes from pasted text.
 *
 * The page's only network use is {@link fetchJwks}, on the user's click; its Content-Security-Policy
 * (see `../build.ts`) forbids everything else.
 */
import {
  bySeverity,
  type Diagnosis,
  diagnose,
  formatDiagnosis,
  TARGET_ENVIRONMENTS,
  tokenUrlOf,
} from '../../../lambda/doctor/index.js';
import { isoTimeMs, normaliseInput } from '../../../lambda/doctor/input.js';
import { analyseStructure, type OffendingChar } from '../../../lambda/doctor/structure.js';
import { decodeJws } from '../../../lambda/platform/jws.js';

/** A JWKS bigger than this is not a JWKS; the read stops there. */
const MAX_JWKS_BYTES = 1_000_000;
const JWKS_FETCH_TIMEOUT_MS = 10_000;

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
};

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const field = (id: string): string | undefined => byId<HTMLInputElement>(id).value.trim() || undefined;

/** The judge-at time: empty is now; otherwise an ISO-8601 date-time, as the CLI's `--at`. */
function judgeAt(text: string | undefined): number | undefined {
  if (text === undefined || text.toLowerCase() === 'now') return undefined;
  const ms = isoTimeMs(text);
  if (ms === undefined) throw new Error(`"${text}" is not an ISO-8601 time, e.g. 2026-11-28T10:00:00Z.`);
  return ms;
}

/** The URLs the page's security policy lets it fetch: https anywhere, http only on this machine. */
function fetchableUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`"${text}" is not a URL.`);
  }
  const loopback = ['127.0.0.1', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new Error('Only https URLs (or http on 127.0.0.1 / localhost) can be fetched.');
  return url;
}

/** Fetches the JWKS at the URL the user typed into the JWKS box. Sends no cookies and no referrer. */
async function fetchJwks(): Promise<void> {
  const status = byId('jwks-status');
  status.className = 'status';
  try {
    const text = field('jwks-url');
    if (!text) throw new Error('Type the JWKS URL first.');
    const url = fetchableUrl(text);
    status.textContent = `Fetching ${url.href} …`;
    const response = await fetch(url, {
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
      signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS),
    }).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}. The server may not allow reads from other sites (CORS): open the URL, copy the JSON and paste it above.`,
      );
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.text();
    if (body.length > MAX_JWKS_BYTES) throw new Error(`the answer is over ${MAX_JWKS_BYTES} bytes`);
    byId<HTMLTextAreaElement>('jwks').value = body;
    status.textContent = `Fetched ${body.length} characters from ${url.href} (HTTP ${response.status}).`;
  } catch (error) {
    status.className = 'status error';
    status.textContent = `Could not fetch the JWKS: ${(error as Error).message}`;
  }
}

const describeChar = (c: OffendingChar): string =>
  `${c.segment} offset ${c.offset}: ${c.codePoint}${c.class.name ? ` ${c.class.name}` : ''}`;

/** The token with its segments coloured and every character outside base64url marked in place. */
function renderHighlight(token: string, offending: readonly OffendingChar[]): void {
  const pre = byId('highlight');
  const list = byId('offending');
  pre.replaceChildren();
  list.replaceChildren();
  const marks = new Map(offending.map((c) => [c.index, c]));
  let index = 0;
  token.split('.').forEach((segment, i) => {
    if (i > 0) pre.append(el('span', { class: 'dot' }, '.'));
    const span = el('span', { class: `seg-${['header', 'payload', 'signature'][i] ?? 'extra'}` });
    let text = '';
    for (const char of segment) {
      const bad = marks.get(index);
      if (bad) {
        span.append(text);
        text = '';
        const shown = /^\s$|^[\u200b-\u200d\u2060\ufeff\u00ad]$/u.test(char) ? '\u2423' : char;
        span.append(
          el(
            'mark',
            {
              class: 'bad',
              'data-segment': bad.segment,
              'data-offset': String(bad.offset),
              'data-code-point': bad.codePoint,
              title: describeChar(bad),
            },
            shown,
          ),
        );
      } else text += char;
      index += char.length;
    }
    span.append(text);
    pre.append(span);
    index += 1;
  });
  for (const c of offending)
    list.append(el('li', {}, el('code', {}, JSON.stringify(c.char)), ` ${describeChar(c)}`));
  byId('highlight-section').hidden = offending.length === 0;
}

/** `exp` and friends as readable times next to the raw claims. */
function timeNotes(claims: Record<string, unknown>): string {
  return ['iat', 'nbf', 'exp']
    .filter((name) => typeof claims[name] === 'number' && Number.isFinite(claims[name]))
    .map((name) => `${name} = ${new Date((claims[name] as number) * 1000).toISOString()}`)
    .join(', ');
}

function renderDecoded(token: string, diagnosis: Diagnosis, offending: readonly OffendingChar[]): void {
  const structure = analyseStructure(token);
  let { header, payload } = structure;
  let note = '';
  const repaired = diagnosis.repair?.assertion;
  if ((!header || !payload) && repaired) {
    const decoded = decodeJws(repaired);
    header ??= decoded.header;
    payload ??= decoded.payload;
    note = `Decoded from the ${diagnosis.repair?.signatureVerified ? 'verified' : 'unverified'} repair. `;
  }
  byId('decoded-header').textContent = header ? JSON.stringify(header, null, 2) : '(does not decode)';
  byId('decoded-claims').textContent = payload ? JSON.stringify(payload, null, 2) : '(does not decode)';
  byId('decoded-note').textContent = note + (payload ? timeNotes(payload) : '');
  byId('decoded-section').hidden = !header && !payload && offending.length === 0 && token === '';
}

function renderRepair(diagnosis: Diagnosis): void {
  const { repair } = diagnosis;
  byId('repair-section').hidden = !repair;
  const reveal = byId('repair-reveal');
  const repaired = byId<HTMLTextAreaElement>('repaired');
  const button = byId<HTMLButtonElement>('show-repaired');
  repaired.value = '';
  repaired.hidden = true;
  button.setAttribute('aria-expanded', 'false');
  button.textContent = 'Show repaired assertion';
  reveal.hidden = true;
  if (!repair) return;
  byId('repair-summary').textContent = repair.signatureVerified
    ? `Verified: with ${repair.changes.length} change(s), the signature verifies with kid "${repair.kid}".`
    : 'Not verified: no candidate repair could be confirmed against the JWKS; see the findings.';
  byId('repair-changes').replaceChildren(
    ...repair.changes.map((c) =>
      el(
        'li',
        {},
        `${c.segment} offset ${c.offset}: ${c.codePoint} ${JSON.stringify(c.char)} → ${c.to ? JSON.stringify(c.to) : 'removed'}`,
      ),
    ),
  );
  // Only a verified repair is offered: an unverified one is a guess, not the assertion that was made.
  if (repair.signatureVerified && repair.assertion) {
    const assertion = repair.assertion;
    reveal.hidden = false;
    button.onclick = () => {
      const show = repaired.hidden;
      repaired.value = show ? assertion : '';
      repaired.hidden = !show;
      button.setAttribute('aria-expanded', String(show));
      button.textContent = show ? 'Hide repaired assertion' : 'Show repaired assertion';
    };
  }
}

function render(token: string, diagnosis: Diagnosis): void {
  const verdict = byId('verdict');
  verdict.className = diagnosis.verdict;
  // The CLI's verdict line, so both say the same; it never contains the assertion.
  verdict.textContent = formatDiagnosis(diagnosis).split('\n')[0]!;
  const { predicted } = diagnosis;
  byId('predicted').textContent = predicted
    ? `Predicted platform answer: HTTP ${predicted.status} ${JSON.stringify({ error: predicted.error, error_description: predicted.error_description })}`
    : 'Predicted platform answer: an access token (HTTP 200), as far as the doctor could check.';
  byId('findings').replaceChildren(
    ...bySeverity(diagnosis.findings).map((f) =>
      el(
        'li',
        { 'data-code': f.code, 'data-severity': f.severity },
        el('span', { class: `sev ${f.severity}` }, f.severity),
        el('code', { class: 'code' }, f.code),
        f.message,
        el('span', { class: 'fix' }, `Fix: ${f.fix}`),
      ),
    ),
  );
  const { offending } = analyseStructure(token);
  renderHighlight(token, offending);
  renderDecoded(token, diagnosis, offending);
  renderRepair(diagnosis);
  const result = byId('result');
  result.hidden = false;
  // The verdict comes first: bring it into view below the long form.
  result.scrollIntoView({ block: 'start' });
}

async function run(): Promise<void> {
  const error = byId('input-error');
  error.textContent = '';
  try {
    const text = byId<HTMLTextAreaElement>('assertion').value;
    if (!text.trim()) throw new Error('Paste an assertion or a form body first.');
    const environment = field('environment');
    const tokenUrl = field('token-url') ?? (environment ? tokenUrlOf(environment) : undefined);
    const jwks = byId<HTMLTextAreaElement>('jwks').value.trim() || undefined;
    const diagnosis = await diagnose({
      assertion: text,
      jwks,
      tokenUrl,
      environment,
      apiKey: field('api-key'),
      nowMs: judgeAt(field('judge-at')),
    });
    render(normaliseInput(text).assertion, diagnosis);
  } catch (err) {
    error.textContent = (err as Error).message;
  }
}

const select = byId<HTMLSelectElement>('environment');
for (const name of TARGET_ENVIRONMENTS) select.append(el('option', { value: name }, name));
byId('doctor-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void run();
});
byId('fetch-jwks').addEventListener('click', () => void fetchJwks());
document.documentElement.dataset.ready = 'true';
