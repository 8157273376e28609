/**
 * Bad input drills: property-based fuzzing (fast-check) of `POST /token` and of the assertion
 * doctor's input.
 *
 * - Requests that cannot succeed (bodies, headers, content types, sizes, unicode, near-JWT
 *   strings, huge and nested JSON, base64 bodies, other routes and methods) must get a
 *   well-formed JSON 4xx with a stable code, cost no KMS signature and no NHS call, and never
 *   throw.
 * - ID tokens only NHS can refuse (a forged signature, an unknown CIS2 key, too low an assurance
 *   level) must come back as a 4xx that names the subject token, with NHS's `message_id`, after a
 *   single attempt: the caller's mistake must not page an operator.
 * - The doctor must answer any string with a diagnosis, never throw, and never quote the assertion.
 */
import { SignCommand } from '@aws-sdk/client-kms';
import fc from 'fast-check';
import { diagnose } from '../../lambda/doctor/index.js';
import { systemClock } from '../../lambda/platform/clock.js';
import { b64url } from '../../lambda/platform/jws.js';
import { signClientAssertion } from '../../lambda/proxy/assertion.js';
import type { ProxyEvent } from '../../lambda/proxy/handler.js';
import { header, MAX_BODY_BYTES } from '../../lambda/proxy/request.js';
import { redact } from '../../lambda/proxy/telemetry.js';
import { HARNESS_API_KEY } from '../helpers/proxy-harness.js';
import { concludeDrill, type Drill, type DrillContext, tokenLine, Verdict } from './invariants.js';
import { type DrillRig, startRig } from './rig.js';

/** fast-check runs per property: the vitest subset, and `npm run drill`. */
const RUNS = { fast: 150, full: 2_000 } as const;
const FORWARDED_RUNS = { fast: 8, full: 120 } as const;
const DOCTOR_RUNS = { fast: 150, full: 3_000 } as const;

const CORRELATION_ID = /^[\x21-\x7e]{1,200}$/;
/** Characters that break a compact JWS wherever they land (none is base64url or a dot). */
const BREAKING_CHARS = [' ', '\n', '\t', '"', "'", '–', '—', '=', '+', '/', '…', '\u00a0', '\u200b', '\\'];

/** A genuine ID token's parts, re-encodable with changed header or claims. */
interface TokenParts {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly signature: string;
}

function partsOf(token: string): TokenParts {
  const [h, p, s] = token.split('.') as [string, string, string];
  const json = (segment: string) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  return { header: json(h), claims: json(p), signature: s };
}

function encode(parts: TokenParts): string {
  return `${b64url(JSON.stringify(parts.header))}.${b64url(JSON.stringify(parts.claims))}.${parts.signature}`;
}

/** Header or claim changes the platform's subject token checks (or its VerifyJWT) refuse. */
const REFUSED_CHANGES: readonly ((p: TokenParts) => TokenParts)[] = [
  (p) => ({ ...p, header: { ...p.header, kid: undefined } }),
  (p) => ({ ...p, header: { ...p.header, typ: 'JWS' } }),
  (p) => ({ ...p, header: { ...p.header, typ: undefined } }),
  (p) => ({ ...p, header: { ...p.header, alg: undefined } }),
  (p) => ({ ...p, header: { ...p.header, alg: 'none' } }),
  (p) => ({ ...p, header: { ...p.header, alg: 'HS256' } }),
  (p) => ({ ...p, header: { ...p.header, alg: 'PS512' } }),
  (p) => ({ ...p, claims: { ...p.claims, exp: undefined } }),
  (p) => ({ ...p, claims: { ...p.claims, exp: String(p.claims.exp) } }),
  (p) => ({ ...p, claims: { ...p.claims, exp: Math.floor(Date.now() / 1000) - 30 } }),
  (p) => ({ ...p, claims: { ...p.claims, exp: 0 } }),
  (p) => ({ ...p, claims: { ...p.claims, iss: undefined } }),
  (p) => ({ ...p, claims: { ...p.claims, iss: 'https://am.nhsidentity.spineservices.nhs.uk/other' } }),
  (p) => ({ ...p, claims: { ...p.claims, aud: undefined } }),
  (p) => ({ ...p, signature: '' }),
];

/** Strings that look like an ID token but that the proxy can refuse before signing anything. */
function nearJwt(genuine: string): fc.Arbitrary<string> {
  const parts = partsOf(genuine);
  const segments = fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/), { minLength: 1, maxLength: 6 });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...REFUSED_CHANGES).map((change) => encode(change(parts))) },
    // A breaking character anywhere: a paste artefact, a typographic dash, a quote, a line break.
    fc
      .tuple(fc.nat({ max: genuine.length }), fc.constantFrom(...BREAKING_CHARS))
      .map(([at, c]) => `${genuine.slice(0, at)}${c}${genuine.slice(at)}`),
    fc.constantFrom(
      `Bearer ${genuine}`,
      `"${genuine}"`,
      `${genuine}\n`,
      genuine.split('.').slice(0, 2).join('.'),
    ),
    segments.map((s) => s.join('.')),
    fc
      .tuple(fc.jsonValue(), fc.jsonValue(), fc.base64String())
      .map(
        ([h, p, s]) => `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(p))}.${s.replace(/=+$/, '')}`,
      ),
    fc
      .tuple(fc.object(), fc.object())
      .map(([h, p]) => encode({ header: h, claims: p, signature: parts.signature })),
  );
}

/** Bodies of a `POST /token` that cannot succeed. */
function badBody(genuine: string): fc.Arbitrary<string> {
  const nested = fc
    .tuple(
      fc.integer({ min: 1, max: 20_000 }),
      fc.constantFrom(['[', ']'], ['{"a":', '}'], ['{"subject_token":', '}']),
    )
    .map(([depth, [open, close]]) => `${(open as string).repeat(depth)}1${(close as string).repeat(depth)}`);
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.json(),
    nested,
    fc
      .integer({ min: MAX_BODY_BYTES - 64, max: MAX_BODY_BYTES * 3 })
      .map((n) => `{"subject_token":"${'a'.repeat(n)}"}`),
    fc
      .integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 2 })
      .map((n) => JSON.stringify({ subject_token: genuine, pad: 'x'.repeat(n) })),
    fc
      .anything()
      .filter((v) => typeof v !== 'string')
      .map((v) => JSON.stringify({ subject_token: v }) ?? '{}'),
    { weight: 6, arbitrary: nearJwt(genuine).map((token) => JSON.stringify({ subject_token: token })) },
    fc.constantFrom(
      '',
      '   ',
      'null',
      '[]',
      '{}',
      `subject_token=${genuine}`,
      JSON.stringify({ id_token: genuine }),
      JSON.stringify({ SUBJECT_TOKEN: genuine }),
      JSON.stringify({ __proto__: { subject_token: genuine } }),
      `{"__proto__":{"subject_token":"${genuine}"}}`,
      `{"subject_token":"${genuine}"`,
    ),
  );
}

/** A fuzzed event and whether the handler must log it as a token request. */
interface FuzzedEvent {
  readonly event: ProxyEvent;
  readonly expectLogLine: boolean;
}

/** Events that cannot succeed: a bad body, or a good one on a wrong route, method or media type. */
function badEvent(genuine: string): fc.Arbitrary<FuzzedEvent> {
  const goodBody = JSON.stringify({ subject_token: genuine });
  // Mostly a media type the proxy accepts, so most bodies reach the body and token checks.
  const contentType = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        undefined,
        'application/json',
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
      ),
    },
    fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/jsonp',
      'multipart/form-data; boundary=x',
      '',
      'json',
    ),
    fc.string({ maxLength: 40 }),
  );
  const correlation = fc.oneof(
    fc.constant(undefined),
    fc.stringMatching(/^[\x21-\x7e]{1,60}$/),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom('has space', 'x'.repeat(201), 'tab\there', 'é'),
  );
  const extraHeaders = fc.dictionary(
    fc
      .stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
      .filter((k) => !['content-type', 'x-correlation-id'].includes(k)),
    fc.string({ maxLength: 60 }),
    { maxKeys: 4 },
  );
  const route = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ method: 'POST', path: '/token' }) },
    fc.record({
      method: fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'post', ''),
      path: fc.constantFrom(
        '/token',
        '/token/',
        '/TOKEN',
        '/tokens',
        '/',
        '',
        '/constructor',
        '/__proto__',
        'constructor',
        'toString',
        '/token/../jwks.json',
      ),
    }),
  );
  const request = fc.record({
    route,
    contentType,
    correlation,
    extraHeaders,
    base64: fc.boolean(),
    // A genuine body only with a content type the proxy must refuse, or on another route.
    body: fc.oneof({ weight: 5, arbitrary: badBody(genuine) }, fc.constant(goodBody)),
  });
  return request
    .filter(({ body, route: r, contentType: ct }) => {
      if (body !== goodBody) return true;
      const acceptedType = ct === undefined || /^application\/json\s*(;|$)/i.test(ct.trim());
      return !(acceptedType && r.method === 'POST' && r.path.replace(/\/+$/, '') === '/token');
    })
    .map(({ route: r, contentType: ct, correlation: cid, extraHeaders: extra, base64, body }) => {
      const headers: Record<string, string> = { ...extra };
      if (ct !== undefined) headers['content-type'] = ct;
      if (cid !== undefined) headers['x-correlation-id'] = cid;
      const event: ProxyEvent = {
        httpMethod: r.method,
        path: r.path,
        headers,
        body: base64 ? Buffer.from(body).toString('base64') : body,
        isBase64Encoded: base64,
      };
      // The handler logs a token request once it reaches the token flow: POST /token with a
      // usable correlation id (or none, when it makes one up).
      const given = header(event, 'x-correlation-id');
      const usableId = given === undefined || given === '' || CORRELATION_ID.test(given);
      const toToken = r.method === 'POST' && ((r.path ?? '/').replace(/\/+$/, '') || '/') === '/token';
      return { event, expectLogLine: toToken && usableId };
    });
}

/** A counterexample in words: its shape, never a token (it may hold a real ID token). */
function describeExample(example: unknown): string {
  const text = JSON.stringify(redact(example), (_, v) =>
    typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length})` : v,
  );
  return (text ?? String(example)).slice(0, 400);
}

/** Runs a property and records a counterexample as a violation. */
async function checkProperty<T>(
  verdict: Verdict,
  name: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<string | undefined>,
  numRuns: number,
  seed: number,
): Promise<void> {
  const result = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      const failure = await predicate(value);
      if (failure) throw new Error(failure);
    }),
    { numRuns, seed, endOnFailure: true },
  );
  verdict.note(`${name}: ${result.numRuns} runs (seed ${seed})`);
  if (result.failed) {
    const reason = result.errorInstance instanceof Error ? result.errorInstance.message : 'failed';
    verdict.check(false, `${name}: ${reason}; counterexample ${describeExample(result.counterexample)}`);
  }
}

async function refusedUpFront(rig: DrillRig, fuzzed: FuzzedEvent): Promise<string | undefined> {
  const signs = rig.harness.kms.commandCalls(SignCommand).length;
  const upstream = rig.upstreamCalls;
  const ex = await rig.send(fuzzed.event, { expectLogLine: fuzzed.expectLogLine });
  if (ex.escaped) return `${ex.escaped} escaped the handler`;
  if (ex.status < 400 || ex.status > 499) return `answered ${ex.status} ${String(ex.body?.error)}`;
  if (typeof ex.body?.error !== 'string') return `answer is not a JSON error (${ex.rawBody.slice(0, 60)})`;
  if (rig.harness.kms.commandCalls(SignCommand).length !== signs)
    return `signed an assertion (${ex.body.error})`;
  if (rig.upstreamCalls !== upstream) return `called NHS (${ex.body.error})`;
  return undefined;
}

/** Fuzzes `POST /token` with requests that cannot succeed. */
export const badRequestDrill: Drill = {
  name: 'bad-requests-fuzzed',
  family: 'bad-input',
  injected:
    'fast-check: bodies, headers, content types, sizes, unicode, near-JWTs, huge and nested JSON, routes',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const rig = await startRig({ size, forward });
    try {
      const verdict = new Verdict();
      const genuine = await rig.idToken('555000111222');
      await checkProperty(
        verdict,
        'refused up front',
        badEvent(genuine),
        (e) => refusedUpFront(rig, e),
        RUNS[size],
        20_261_128,
      );
      return await concludeDrill(rig, badRequestDrill, verdict, {
        did: 'a JSON 4xx with a stable code for every request; no KMS signature, no NHS call',
        startedAt,
        probe: false,
      });
    } finally {
      await rig.close();
    }
  },
};

/** A genuine-looking ID token only NHS can refuse, described so a counterexample reads well. */
type Refusable =
  | { readonly kind: 'forged-signature'; readonly at: number }
  | { readonly kind: 'assurance-level-1' }
  | { readonly kind: 'unknown-cis2-kid' };

const refusable: fc.Arbitrary<Refusable> = fc.oneof(
  fc.nat().map((at) => ({ kind: 'forged-signature', at }) as const),
  fc.constant({ kind: 'assurance-level-1' } as const),
  fc.constant({ kind: 'unknown-cis2-kid' } as const),
);

async function mintRefusable(rig: DrillRig, r: Refusable): Promise<string> {
  if (r.kind === 'assurance-level-1')
    return rig.idToken('555000111444', { authentication_assurance_level: 1, acr: 'AAL1_USERPASS' });
  if (r.kind === 'unknown-cis2-kid') return rig.idToken('555000111555', { header: { kid: 'rotated-away' } });
  const { header: h, claims, signature } = partsOf(await rig.idToken('555000111333'));
  // Another base64url character in the signature: same length, same structure, wrong bytes.
  const i = r.at % (signature.length - 1); // the last character also carries padding bits
  const swapped = signature[i] === 'A' ? 'B' : 'A';
  const forged = encode({
    header: h,
    claims,
    signature: `${signature.slice(0, i)}${swapped}${signature.slice(i + 1)}`,
  });
  rig.scanner.addSecret(forged);
  return forged;
}

/**
 * ID tokens that would be refused: a forged signature or an unknown CIS2 kid is refused by the
 * proxy's own verification (401, no signature, no NHS call); assurance level 1 only NHS can refuse
 * (a clean 4xx naming the subject token, with the message_id).
 */
export const nhsRefusedDrill: Drill = {
  name: 'subject-tokens-nhs-refuses',
  family: 'bad-input',
  injected: 'ID tokens with a forged signature, an unknown CIS2 kid, or assurance level 1',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const rig = await startRig({ size, forward });
    try {
      const verdict = new Verdict();
      await checkProperty(
        verdict,
        "refused as the caller's",
        refusable,
        async (kind) => {
          const callsBefore = rig.upstreamCalls;
          const ex = await rig.post(await mintRefusable(rig, kind));
          const attempts = tokenLine(rig, ex)?.fields.attempts;
          if (kind.kind !== 'assurance-level-1') {
            if (ex.status !== 401 || ex.body?.error !== 'subject_token_unverified')
              return `answered ${ex.status} ${String(ex.body?.error)}`;
            if (rig.upstreamCalls !== callsBefore) return 'a token refused locally reached NHS';
            return undefined;
          }
          if (ex.status < 400 || ex.status > 499 || ex.body?.error !== 'subject_token_rejected')
            return `answered ${ex.status} ${String(ex.body?.error)}`;
          if (typeof ex.body.message_id !== 'string') return 'no message_id';
          if (attempts !== 1) return `${String(attempts)} attempts for a refusal`;
          return undefined;
        },
        FORWARDED_RUNS[size],
        20_261_129,
      );
      return await concludeDrill(rig, nhsRefusedDrill, verdict, {
        did: "forged and unknown-kid tokens: 401 subject_token_unverified, no NHS call; AAL1: one attempt, then 4xx subject_token_rejected with NHS's message_id",
        startedAt,
        probe: false,
      });
    } finally {
      await rig.close();
    }
  },
};

/** Fuzzes the assertion doctor: any input gets a diagnosis, and its findings never quote the assertion. */
export const doctorInputDrill: Drill = {
  name: 'doctor-input-fuzzed',
  family: 'bad-input',
  injected: 'fast-check: any string as assertion, JWKS, token URL, API key; mutated real assertions',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const rig = await startRig({ size, forward });
    try {
      const verdict = new Verdict();
      const { emulator, app } = rig.harness;
      const signed = await signClientAssertion(app.signer, systemClock, {
        apiKey: HARNESS_API_KEY,
        tokenUrl: emulator.tokenUrl,
      });
      rig.scanner.addSecret(signed.assertion);
      const jwks = { keys: await app.jwks() };
      const assertion = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        nearJwt(signed.assertion),
        fc.constantFrom(
          signed.assertion,
          `client_assertion=${signed.assertion}&x=1`,
          `Bearer\n${signed.assertion}`,
        ),
      );
      const input = fc.record(
        {
          assertion,
          jwks: fc.oneof(
            fc.constant(jwks),
            fc.string(),
            fc.jsonValue(),
            fc.record({ keys: fc.array(fc.object(), { maxLength: 3 }) }),
          ),
          tokenUrl: fc.oneof(fc.constant(emulator.tokenUrl), fc.webUrl(), fc.string()),
          apiKey: fc.oneof(fc.constant(HARNESS_API_KEY), fc.string()),
          environment: fc.string({ maxLength: 20 }),
          nowMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
        },
        { requiredKeys: ['assertion'] },
      );
      await checkProperty(
        verdict,
        'doctor answers anything',
        input,
        async (value) => {
          let diagnosis: Awaited<ReturnType<typeof diagnose>>;
          try {
            diagnosis = await diagnose(value);
          } catch (err) {
            return `diagnose threw ${err instanceof Error ? err.name : typeof err}`;
          }
          if (diagnosis.verdict !== 'accept' && diagnosis.verdict !== 'reject')
            return `verdict ${String(diagnosis.verdict)}`;
          // The repaired assertion is the one field allowed to hold it (shown only on request).
          rig.scanner.addText({
            ...diagnosis,
            repair: diagnosis.repair && { ...diagnosis.repair, assertion: undefined },
          });
          return undefined;
        },
        DOCTOR_RUNS[size],
        20_261_130,
      );
      return await concludeDrill(rig, doctorInputDrill, verdict, {
        did: `a diagnosis for each of ${DOCTOR_RUNS[size]} inputs, never an exception, never the assertion in a finding`,
        startedAt,
        probe: false,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The bad input family, in report order. */
export const BAD_INPUT_DRILLS: readonly Drill[] = [badRequestDrill, nhsRefusedDrill, doctorInputDrill];
