/**
 * An independent check of the emulator: random client assertions, signed with jose's `SignJWT`,
 * and random CIS2 subject tokens, POSTed over HTTP, and each answer compared with the answer NHS's
 * platform gives according to its own JavaScript, transcribed below straight from
 * NHSDigital/identity-service-api (commit 5100cca).
 *
 * Nothing here imports `lambda/platform/rules.ts`: the expected answers come from this file's own
 * transcription of `validate-client-assertion-claims.js`, `validate-subject-token-claims.js`,
 * `SelectIdTokenIssuer.js` and `proxies/default.xml`, so a rule the shared module gets wrong shows
 * up as a disagreement rather than agreeing with itself.
 */
// biome-ignore-all lint/suspicious/noDoubleEquals: the transcription keeps the platform's loose comparisons.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.js';
import { ManualClock } from '../../lambda/platform/clock.js';
import { type AppKey, makeAppKey } from '../helpers/emulator-fixtures.js';

const API_KEY = 'PropertyTestApp00000000000000001';
const JS = 'proxies/live/apiproxy/resources/jsc/validate-client-assertion-claims.js';

/**
 * The platform's answers (status, error, error_description), copied from the policies that send
 * them: the JS messages (`validate-client-assertion-claims.js` lines 23-42, status 400, sent by
 * `RaiseFault.InvalidJwt` as `invalid_request`), `AssignMessage.ClientCredentialsInvalidSubject`,
 * `AssignMessage.NoMatchingPublicKeyClientCredentials` and `AssignMessage.AudClaimInvalid`.
 */
const ANSWERS = {
  alg: [
    400,
    'invalid_request',
    "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'",
  ],
  expired: [400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - JWT has expired"],
  kid: [400, 'invalid_request', "Missing 'kid' header in client_assertion JWT"],
  typ: [400, 'invalid_request', "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"],
  expMissing: [400, 'invalid_request', "Missing 'exp' claim in client_assertion JWT"],
  expType: [400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - must be an integer"],
  issSub: [400, 'invalid_request', "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"],
  jtiMissing: [400, 'invalid_request', "Missing 'jti' claim in client_assertion JWT"],
  jtiType: [
    400,
    'invalid_request',
    "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID",
  ],
  expTooFar: [
    400,
    'invalid_request',
    "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future",
  ],
  apiKey: [401, 'invalid_request', "Invalid 'iss'/'sub' claims in client_assertion JWT"],
  kidUnknown: [
    401,
    'invalid_request',
    "Invalid 'kid' header in client_assertion JWT - no matching public key",
  ],
  aud: [401, 'invalid_request', "Missing or invalid 'aud' claim in client_assertion JWT"],
  // validate-subject-token-claims.js lines 17-27 (status per line 33-43) and SelectIdTokenIssuer.js lines 14-20.
  subjectKid: [400, 'invalid_request', "Missing 'kid' header in subject_token JWT"],
  subjectTyp: [400, 'invalid_request', "Invalid 'typ' header in subject_token JWT - must be 'JWT'"],
  subjectAlg: [400, 'invalid_request', "Missing 'alg' header in subject_token JWT"],
  subjectExpMissing: [400, 'invalid_request', "Missing 'exp' claim in subject_token JWT"],
  subjectExpType: [400, 'invalid_request', "Invalid 'exp' claim in subject_token JWT - must be an integer"],
  subjectExpired: [400, 'invalid_request', "Invalid 'exp' claim in subject_token JWT - JWT has expired"],
  subjectIssMissing: [400, 'invalid_request', "Missing 'iss' claim in subject_token JWT"],
  subjectAudMissing: [401, 'invalid_request', "Missing 'aud' claim in subject_token JWT"],
  subjectIss: [400, 'invalid_request', "Missing or non-matching 'iss' claim in subject_token JWT"],
  subjectAudSelect: [400, 'invalid_request', "Missing 'aud' claim in subject_token JWT"],
  // AssignMessage.NoMatchingPublicKeySubjectToken.
  subjectKidUnknown: [
    401,
    'invalid_request',
    "Invalid 'kid' header in subject_token JWT - no matching public key",
  ],
} as const;
type Answer = keyof typeof ANSWERS;

/**
 * `validate-client-assertion-claims.js` lines 47-81 as the platform runs them, in its own words:
 * the conditions are copied, `new Date()` is the moment judged at. The `as any` is where the
 * JavaScript relies on coercion TypeScript will not type.
 */
// biome-ignore lint/suspicious/noExplicitAny: the platform's JavaScript is untyped; so is its transcription.
function platformScript(jwtHeaders: any, jwtPayload: any, nowMs: number): Answer | undefined {
  const expExpiry = jwtPayload.exp - nowMs / 1000; // DecodeJWT's seconds_remaining (rounding UNCONFIRMED)
  const missingKidCondition = !jwtHeaders.kid;
  const missingOrInvalidTypCondition =
    typeof jwtHeaders.typ != 'string' || jwtHeaders.typ.toLowerCase() != 'jwt';
  // The platform's `!= "RS512"`; only string algs are generated (a non-string alg is UNCONFIRMED).
  const invalidAlgHeaderCondition = jwtHeaders.alg != 'RS512';
  const missingExpClaimCondition = !jwtPayload.exp;
  const invalidExpiryTimeCondition = typeof jwtPayload.exp != 'number';
  const jwtExpiredCondition = new Date(nowMs) > new Date(jwtPayload.exp * 1000);
  const expClaimTooLongCondition = expExpiry > 310;
  const missingOrInvalidIssClaimCondition =
    !jwtPayload.iss || !jwtPayload.sub || jwtPayload.iss != jwtPayload.sub;
  const missingJtiClaimCondition = !jwtPayload.jti;
  const invalidJtiClaimCondition = typeof jwtPayload.jti != 'string';
  // Every generated string jti is fresh, so `cachedJtiValue == jwtPayload.jti` is never true here.
  return (
    (invalidAlgHeaderCondition && 'alg') ||
    (jwtExpiredCondition && 'expired') ||
    (missingKidCondition && 'kid') ||
    (missingOrInvalidTypCondition && 'typ') ||
    (missingExpClaimCondition && 'expMissing') ||
    (invalidExpiryTimeCondition && 'expType') ||
    (missingOrInvalidIssClaimCondition && 'issSub') ||
    (missingJtiClaimCondition && 'jtiMissing') ||
    (invalidJtiClaimCondition && 'jtiType') ||
    (expClaimTooLongCondition && 'expTooFar') ||
    undefined
  );
}

/**
 * The rest of `Flow.PostTokenClientCredentials` (`proxies/default.xml` lines 372-401) for the
 * inputs generated here: `VerifyAPIKey.FromJWT` on `sub` (only the string API key is registered;
 * how Apigee renders a non-string `sub` as a key is UNCONFIRMED and taken as unknown), the `kid`,
 * then `VerifyJWT.ClientCredentials`: its own expiry (10 s allowance; reached only by an `exp`
 * beyond the Date range, and answered as "JWT has expired", UNCONFIRMED) and `aud`.
 */
function platformAnswer(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  nowMs: number,
  postedUrl: string,
): Answer | undefined {
  // The script reads header and payload with JSON.parse (lines 1-7): fresh objects, as loose
  // comparison of two arrays depends on.
  const script = platformScript(decoded(header), decoded(claims), nowMs);
  if (script) return script;
  if (claims.sub !== API_KEY) return 'apiKey';
  if (header.kid !== 'test-1') return 'kidUnknown';
  if (typeof claims.exp === 'number' && claims.exp * 1000 + 10_000 < nowMs) return 'expired';
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  return audiences.includes(postedUrl) ? undefined : 'aud';
}

/**
 * `validate-subject-token-claims.js` lines 33-43, then `SelectIdTokenIssuer.js` lines 13-22 on the
 * decoded claim variables. Apigee renders an array claim as its JSON text (the script compares
 * with `'[""]'`); that rendering of other arrays is UNCONFIRMED, and only the CIS2 issuer is
 * configured here (no NHS login issuer).
 */
// biome-ignore lint/suspicious/noExplicitAny: the platform's JavaScript is untyped; so is its transcription.
function subjectScript(header: any, payload: any, nowMs: number, cis2Issuer: string): Answer | undefined {
  if (!header.kid) return 'subjectKid';
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return 'subjectTyp';
  if (!header.alg) return 'subjectAlg';
  if (!payload.exp) return 'subjectExpMissing';
  if (typeof payload.exp !== 'number') return 'subjectExpType';
  if (new Date(nowMs) > new Date(payload.exp * 1000)) return 'subjectExpired';
  if (!payload.iss) return 'subjectIssMissing';
  if (!payload.aud) return 'subjectAudMissing';
  const claimVariable = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  const iss = claimVariable(payload.iss);
  const aud = claimVariable(payload.aud);
  if (iss === null || iss === '[""]' || iss !== cis2Issuer) return 'subjectIss';
  if (aud === null || aud === '[""]') return 'subjectAudSelect';
  return undefined;
}

/**
 * The rest of the subject token steps for the inputs generated here: the CIS2 `kid`, then
 * `VerifyJWT.SubjectToken`'s own expiry (10 s allowance, reached only beyond the Date range;
 * answered as "JWT has expired", UNCONFIRMED). Only RS256 and RS512 are generated, which it accepts.
 */
function subjectAnswer(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  nowMs: number,
  cis2Kid: string,
): Answer | undefined {
  const script = subjectScript(decoded(header), decoded(claims), nowMs, emu.cis2Issuer);
  if (script) return script;
  if (header.kid !== cis2Kid) return 'subjectKidUnknown';
  if (typeof claims.exp === 'number' && claims.exp * 1000 + 10_000 < nowMs) return 'subjectExpired';
  return undefined;
}

/** What `JSON.parse(context.getVariable("...payload-json"))` gives the script: a fresh copy. */
const decoded = (value: Record<string, unknown>): Record<string, unknown> =>
  JSON.parse(JSON.stringify(value));

let clock: ManualClock;
let emu: Emulator;
let key: AppKey;

beforeAll(async () => {
  clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 0, 0));
  key = await makeAppKey('test-1');
  emu = await startEmulator({ clock, apps: [{ apiKey: API_KEY, clientSecret: 'unused', jwks: key.jwks }] });
});

afterAll(async () => {
  await emu?.close();
});

const ABSENT = Symbol('absent');
const nowS = () => clock.now() / 1000;

/** Values the JavaScript coerces in interesting ways, relative to now where they are times. */
const expValue = fc.oneof(
  fc.integer({ min: -900, max: 900 }).map((d) => () => nowS() + d),
  fc.integer({ min: -900, max: 900 }).map((d) => () => String(nowS() + d)),
  fc.constantFrom<unknown>('', null, true, false, 0, [], {}, 'soon', -1e13, 1e13, ABSENT).map((v) => () => v),
  fc.integer({ min: -900, max: 900 }).map((d) => () => [nowS() + d]),
);
const jtiValue = fc.constantFrom<unknown>('uuid', '', 0, false, null, 123, true, {}, ABSENT);
const principal = fc.constantFrom<unknown>(API_KEY, [API_KEY], 'OTHER', '', 0, ABSENT);
const typValue = fc.constantFrom<unknown>('JWT', 'jwt', 'JWS', 1, ABSENT);
const kidValue = fc.constantFrom<unknown>('test-1', '', 'other', ABSENT);
const target = fc.constantFrom<'token' | 'mock'>('token', 'mock');
const audChoice = fc.constantFrom<'posted' | 'other path' | 'array' | 'absent'>(
  'posted',
  'other path',
  'array',
  'absent',
);

const defined = (entries: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== ABSENT));

describe(`the emulator answers as ${JS} and proxies/default.xml do`, () => {
  it('for random claims and headers, over HTTP', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          exp: expValue,
          jti: jtiValue,
          iss: principal,
          sub: principal,
          typ: typValue,
          kid: kidValue,
          target,
          aud: audChoice,
        }),
        async (input) => {
          const postedUrl = input.target === 'token' ? emu.tokenUrl : emu.mockTokenUrl;
          const otherUrl = input.target === 'token' ? emu.mockTokenUrl : emu.tokenUrl;
          const aud = {
            posted: postedUrl,
            'other path': otherUrl,
            array: [otherUrl, postedUrl],
            absent: ABSENT,
          }[input.aud];
          const claims = defined({
            exp: input.exp(),
            jti: input.jti === 'uuid' ? randomUUID() : input.jti,
            iss: input.iss,
            sub: input.sub,
            aud,
          });
          const header = defined({ alg: 'RS512', typ: input.typ, kid: input.kid });
          const assertion = await new SignJWT(claims)
            .setProtectedHeader(header as { alg: string })
            .sign(key.privateKey);

          const response = await fetch(postedUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: assertion,
            }).toString(),
          });
          const body = (await response.json()) as Record<string, unknown>;
          const expected = platformAnswer(header, claims, clock.now(), postedUrl);
          const actual = response.ok ? undefined : [response.status, body.error, body.error_description];
          expect({ claims, header, answer: actual }).toEqual({
            claims,
            header,
            answer: expected === undefined ? undefined : [...ANSWERS[expected]],
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the emulator answers subject tokens as validate-subject-token-claims.js and SelectIdTokenIssuer.js do', () => {
  it('for random ID token claims and headers, over HTTP', async () => {
    const cis2Kid = JSON.parse(Buffer.from((await emu.idToken()).split('.')[0]!, 'base64url').toString())
      .kid as string;
    // `null` in the emulator's ID token overrides removes a member; ABSENT maps to it.
    const remove = (v: unknown) => (v === ABSENT ? null : v);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          exp: expValue,
          iss: fc.constantFrom<unknown>(
            'issuer',
            ['issuer'],
            'https://elsewhere.example',
            '',
            [''],
            0,
            ABSENT,
          ),
          aud: fc.constantFrom<unknown>('client-id', [''], '', [], ['a', 'b'], 0, ABSENT),
          kid: fc.constantFrom<unknown>('cis2', '', 'other', ABSENT),
          typ: typValue,
          alg: fc.constantFrom<unknown>('RS256', 'RS512', ABSENT),
        }),
        async (input) => {
          const header = { kid: input.kid === 'cis2' ? cis2Kid : input.kid, typ: input.typ, alg: input.alg };
          const iss =
            input.iss === 'issuer'
              ? emu.cis2Issuer
              : Array.isArray(input.iss) && input.iss[0] === 'issuer'
                ? [emu.cis2Issuer]
                : input.iss;
          const claims = { exp: input.exp(), iss, aud: input.aud };
          const subjectToken = await emu.idToken({
            header: Object.fromEntries(Object.entries(header).map(([k, v]) => [k, remove(v)])),
            ...Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, remove(v)])),
          });
          const assertion = await new SignJWT({
            iss: API_KEY,
            sub: API_KEY,
            aud: emu.tokenUrl,
            jti: randomUUID(),
            exp: nowS() + 300,
          })
            .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: 'test-1' })
            .sign(key.privateKey);

          const response = await fetch(emu.tokenUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
              subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
              subject_token: subjectToken,
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: assertion,
            }).toString(),
          });
          const body = (await response.json()) as Record<string, unknown>;
          const sent = { header: defined(header), claims: defined(claims) };
          const expected = subjectAnswer(sent.header, sent.claims, clock.now(), cis2Kid);
          const actual = response.ok ? undefined : [response.status, body.error, body.error_description];
          expect({ ...sent, answer: actual }).toEqual({
            ...sent,
            answer: expected === undefined ? undefined : [...ANSWERS[expected]],
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
