/**
 * The doctor's `predicted` against what the NHS platform emulator actually answers, for the same
 * assertions: a good one and a table of faulty ones, each POSTed as a real token exchange. The
 * cases include every client-assertion input of issue #11 where the platform's JavaScript
 * (`validate-client-assertion-claims.js`) differs from a strict reading: coerced exp, falsy jti,
 * loosely equal iss/sub, another environment's aud, and the `/oauth2-mock/token` path.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/index.js';
import { diagnose } from '../../../lambda/doctor/index.js';
import { PLATFORM_TOKEN_URLS, URN } from '../../../lambda/platform/rules.js';
import { editSignature, jwksOf, makeKey, signAssertion, signUntil, type TestKey } from './fixtures.js';

const API_KEY = 'EmulatorDoctorApp000000000000001';

let emu: Emulator;
let key: TestKey;
let stranger: TestKey;

beforeAll(async () => {
  key = await makeKey('proxy-local-1');
  stranger = await makeKey('stranger-1');
  emu = await startEmulator({ apps: [{ apiKey: API_KEY, clientSecret: 'not-used', jwks: jwksOf(key) }] });
});

afterAll(async () => {
  await emu?.close();
});

interface Overrides {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

/** Claims the emulator accepts now; `undefined` in overrides removes a claim. */
const fresh = (claims: Record<string, unknown> = {}) => ({
  iss: API_KEY,
  sub: API_KEY,
  aud: emu.tokenUrl,
  jti: randomUUID(),
  exp: Math.floor(Date.now() / 1000) + 240,
  ...claims,
});

const signed = (o: Overrides = {}, by: TestKey = key) =>
  signAssertion(by, { header: o.header, claims: fresh(o.claims) });

/** What the doctor is told besides the assertion, and where the assertion is POSTed. */
interface Setting {
  /** Whether the doctor is given the app's API key (default yes). */
  apiKey?: boolean;
  /** POST to the emulator's `/oauth2-mock/token` (and tell the doctor so) instead of `/oauth2/token`. */
  mockPath?: boolean;
  /**
   * The platform's answer as read from its JavaScript (`null` for success), so that the doctor and
   * the emulator cannot agree on a wrong answer: both share `lambda/platform/rules.ts`.
   */
  nhs?: string | null;
}

const EXPIRED = "Invalid 'exp' claim in client_assertion JWT - JWT has expired";
const JTI_MISSING = "Missing 'jti' claim in client_assertion JWT";
const AUD = "Missing or invalid 'aud' claim in client_assertion JWT";
const API_KEY_UNKNOWN = "Invalid 'iss'/'sub' claims in client_assertion JWT";

const nowS = () => Math.floor(Date.now() / 1000);

const CASES: [string, () => Promise<string>, Setting?][] = [
  ['a good assertion', () => signed()],
  [
    'an en dash for "--" in the signature',
    async () => {
      const token = await signUntil(key, (s) => s.includes('--'), { claims: fresh() });
      return editSignature(token, token.split('.')[2]!.indexOf('--'), 2, '\u2013');
    },
  ],
  ['alg RS256', () => signed({ header: { alg: 'RS256' } })],
  ['an expired exp', () => signed({ claims: { exp: Math.floor(Date.now() / 1000) - 60 } })],
  ['no kid', () => signed({ header: { kid: undefined } })],
  ['no typ', () => signed({ header: { typ: undefined } })],
  ['no exp', () => signed({ claims: { exp: undefined } })],
  ['exp as a string', () => signed({ claims: { exp: String(Math.floor(Date.now() / 1000) + 60) } })],
  ['iss different from sub', () => signed({ claims: { iss: 'someone-else' } })],
  ['no jti', () => signed({ claims: { jti: undefined } })],
  ['a numeric jti', () => signed({ claims: { jti: 12345 } })],
  ['exp 400 s ahead', () => signed({ claims: { exp: Math.floor(Date.now() / 1000) + 400 } })],
  ["another app's API key", () => signed({ claims: { iss: 'UnknownApp', sub: 'UnknownApp' } })],
  ['a kid not in the JWKS', () => signed({ header: { kid: 'retired-key' } })],
  ['a signature by another key', () => signed({ header: { kid: key.kid } }, stranger)],
  ['the INT token URL as aud', () => signed({ claims: { aud: PLATFORM_TOKEN_URLS.int } })],
  ['aud with a trailing slash', () => signed({ claims: { aud: `${emu.tokenUrl}/` } })],
  ['an empty assertion', async () => ''],
  // exp coerced by `new Date() > new Date(exp * 1000)` (validate-client-assertion-claims.js line 56).
  [
    'exp a numeric string in the past',
    () => signed({ claims: { exp: String(nowS() - 60) } }),
    { nhs: EXPIRED },
  ],
  ['exp ""', () => signed({ claims: { exp: '' } }), { nhs: EXPIRED }],
  ['exp null', () => signed({ claims: { exp: null } }), { nhs: EXPIRED }],
  ['exp true', () => signed({ claims: { exp: true } }), { nhs: EXPIRED }],
  ['exp []', () => signed({ claims: { exp: [] } }), { nhs: EXPIRED }],
  ['exp [<past>]', () => signed({ claims: { exp: [nowS() - 60] } }), { nhs: EXPIRED }],
  ['exp -1e13 (beyond the Date range)', () => signed({ claims: { exp: -1e13 } })],
  [
    'exp 1e13 (beyond the Date range)',
    () => signed({ claims: { exp: 1e13 } }),
    { nhs: "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future" },
  ],
  // `!jwtPayload.jti` (line 61).
  ['jti ""', () => signed({ claims: { jti: '' } }), { nhs: JTI_MISSING }],
  ['jti 0', () => signed({ claims: { jti: 0 } }), { nhs: JTI_MISSING }],
  ['jti false', () => signed({ claims: { jti: false } }), { nhs: JTI_MISSING }],
  // `iss != sub` (lines 59-60), then VerifyAPIKey on sub.
  ['iss ["KEY"] with sub "KEY"', () => signed({ claims: { iss: [API_KEY] } }), { nhs: null }],
  ['iss "KEY" with sub ["KEY"]', () => signed({ claims: { sub: [API_KEY] } }), { nhs: API_KEY_UNKNOWN }],
  ['iss 123 with sub "123"', () => signed({ claims: { iss: 123, sub: '123' } }), { nhs: API_KEY_UNKNOWN }],
  // VerifyAPIKey.FromJWT runs before VerifyJWT's aud check (proxies/default.xml).
  [
    "the INT token URL as aud with INT's credentials (API key not given to the doctor)",
    () => signed({ claims: { aud: PLATFORM_TOKEN_URLS.int, iss: 'IntOnlyApp', sub: 'IntOnlyApp' } }),
    { apiKey: false, nhs: API_KEY_UNKNOWN },
  ],
  [
    'the /oauth2-mock/token URL as aud, POSTed to /oauth2/token',
    () => signed({ claims: { aud: emu.mockTokenUrl } }),
    { nhs: AUD },
  ],
  [
    'a good assertion for /oauth2-mock/token, POSTed there',
    () => signed({ claims: { aud: emu.mockTokenUrl } }),
    { mockPath: true, nhs: null },
  ],
  [
    'the /oauth2/token URL as aud, POSTed to /oauth2-mock/token',
    () => signed(),
    { mockPath: true, nhs: AUD },
  ],
];

async function platformAnswer(assertion: string, url: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: URN.tokenExchange,
      subject_token_type: URN.idToken,
      subject_token: await emu.idToken(),
      client_assertion_type: URN.clientAssertionType,
      client_assertion: assertion,
    }).toString(),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.ok) return null;
  return { status: response.status, error: body.error, error_description: body.error_description };
}

describe('predicted matches the emulator', () => {
  it.each(CASES)('for %s', async (_what, make, setting = {}) => {
    const assertion = await make();
    const url = setting.mockPath ? emu.mockTokenUrl : emu.tokenUrl;
    const diagnosis = await diagnose({
      assertion,
      jwks: jwksOf(key),
      tokenUrl: url,
      apiKey: setting.apiKey === false ? undefined : API_KEY,
      nowMs: Date.now(),
    });
    const answer = await platformAnswer(assertion, url);
    expect(diagnosis.predicted).toEqual(answer);
    if (setting.nhs !== undefined) expect(answer?.error_description ?? null).toBe(setting.nhs);
    expect(diagnosis.verdict).toBe(diagnosis.predicted ? 'reject' : 'accept');
  });
});
