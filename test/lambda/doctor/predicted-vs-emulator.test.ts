/**
 * The doctor's `predicted` against what the NHS platform emulator actually answers, for the same
 * assertions: a good one and a table of faulty ones, each POSTed as a real token exchange.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/index.js';
import { diagnose } from '../../../lambda/doctor/index.js';
import { PLATFORM_TOKEN_URLS, URN } from '../../../lambda/nhs/platform.js';
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

const CASES: [string, () => Promise<string>][] = [
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
];

async function platformAnswer(assertion: string) {
  const response = await fetch(emu.tokenUrl, {
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
  it.each(CASES)('for %s', async (_what, make) => {
    const assertion = await make();
    const diagnosis = await diagnose({
      assertion,
      jwks: jwksOf(key),
      tokenUrl: emu.tokenUrl,
      apiKey: API_KEY,
      nowMs: Date.now(),
    });
    expect(diagnosis.predicted).toEqual(await platformAnswer(assertion));
    expect(diagnosis.verdict).toBe(diagnosis.predicted ? 'reject' : 'accept');
  });
});
