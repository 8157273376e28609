/**
 * NHS's own end-to-end fixtures and helpers (NHSDigital/identity-service-api at 5100cca,
 * `e2e/tests/conftest.py` and `e2e/tests/utils/helpers.py`), rewritten in TypeScript so the
 * conformance suite can run NHS's test cases, with NHS's parameters, against the emulator.
 */
import { randomUUID } from 'node:crypto';
import { CompactSign } from 'jose';
import { expect } from 'vitest';
import type { ManualClock } from '../../lambda/platform/clock.js';
import { URN } from '../../lambda/platform/rules.js';
import type { AppKey } from '../helpers/emulator-fixtures.js';

/** Where the transcribed tests come from. */
export const ISA = 'NHSDigital/identity-service-api@5100cca38064ce76077390e43162c543c367f617';

/** A Python dict of form fields or claims: `remove_keys` and `replace_keys` work on it. */
export type Dict = Record<string, unknown>;

/** `helpers.remove_keys`: the data without the named keys. */
export function removeKeys(data: Dict, keys: readonly string[]): Dict {
  const out = { ...data };
  for (const key of keys) delete out[key];
  return out;
}

/** `helpers.replace_keys`: `{**data, **replacements}`. */
export const replaceKeys = (data: Dict, replacements: Dict): Dict => ({ ...data, ...replacements });

/** `time()` in NHS's tests, read from the emulator's clock. */
export const time = (clock: ManualClock): number => Math.floor(clock.now() / 1000);

/** conftest `claims`: a client assertion's claims for the test app, aud = the URL posted to. */
export function claimsFixture(apiKey: string, tokenUrl: string, clock: ManualClock): Dict {
  return { sub: apiKey, iss: apiKey, jti: randomUUID(), aud: tokenUrl, exp: time(clock) + 300 };
}

/** conftest `token_data_client_credentials`. */
export const tokenDataClientCredentials = (): Dict => ({
  client_assertion_type: URN.clientAssertionType,
  client_assertion: null,
  grant_type: 'client_credentials',
});

/** conftest `token_data_token_exchange`. */
export const tokenDataTokenExchange = (): Dict => ({
  subject_token_type: URN.idToken,
  client_assertion_type: URN.clientAssertionType,
  subject_token: null,
  client_assertion: null,
  grant_type: URN.tokenExchange,
});

/**
 * conftest `cis2_subject_token_claims`. `iss` is the emulator's CIS2 issuer where NHS's names its
 * Keycloak mock realm (`.../realms/Cis2-mock-internal-dev`).
 */
export function cis2SubjectTokenClaims(clock: ManualClock, issuer: string): Dict {
  return {
    iss: issuer,
    at_hash: 'tf_-lqpq36lwO7WmSBIJ6Q',
    sub: '787807429511',
    auditTrackingId: '91f694e6-3749-42fd-90b0-c3134b0d98f6-1546391',
    amr: ['N3_SMARTCARD'],
    tokenName: 'id_token',
    aud: '969567331415.apps.national',
    c_hash: 'bc7zzGkClC3MEiFQ3YhPKg',
    acr: 'AAL3_ANY',
    id_assurance_level: 3,
    authentication_assurance_level: 3,
    'org.forgerock.openidconnect.ops': '-I45NjmMDdMa-aNF2sr9hC7qEGQ',
    s_hash: 'LPJNul-wow4m6Dsqxbning',
    azp: '969567331415.apps.national',
    auth_time: 1610559802,
    realm: '/NHSIdentity/Healthcare',
    exp: time(clock) + 300,
    tokenType: 'JWTToken',
    iat: time(clock) - 100,
  };
}

/**
 * The emulator's ID token for NHS's subject token claims: `create_subject_token` signs RS512 with a
 * `kid`; claims the NHS test removed are removed (`null`), the rest override the emulator's.
 */
export function subjectTokenOverrides(nhsClaims: Dict): Dict {
  const overrides: Dict = { ...nhsClaims, header: { alg: 'RS512' } };
  for (const name of ['iss', 'aud', 'exp', 'sub']) if (!(name in nhsClaims)) overrides[name] = null;
  return overrides;
}

/**
 * `helpers.create_client_assertion(claims, private_key, additional_headers={"kid": "test-1"},
 * algorithm="RS512")`, i.e. PyJWT's `jwt.encode`: header `{"typ": "JWT", "alg": algorithm}`
 * updated with the additional headers, and `typ` dropped when it is falsy (PyJWT 2).
 */
export function createClientAssertion(
  claims: Dict,
  key: AppKey,
  additionalHeaders: Dict = { kid: 'test-1' },
  algorithm = 'RS512',
): Promise<string> {
  const header: Dict = { typ: 'JWT', alg: algorithm, ...additionalHeaders };
  if (!header.typ) delete header.typ;
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(key.privateKey);
}

/** `jwt.encode({"some": "payload"}, "test-secret", algorithm="HS256")`, NHS's stand-in for every HS case. */
export function hs256SomePayload(): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify({ some: 'payload' })))
    .setProtectedHeader({ typ: 'JWT', alg: 'HS256' })
    .sign(new TextEncoder().encode('test-secret'));
}

/** An HTTP answer read in full. */
export interface Answer {
  readonly status: number;
  readonly body: Dict;
}

/**
 * `requests.post(url, data=...)`: a form body with `Content-Type: application/x-www-form-urlencoded`
 * (what requests sends for a dict), values as `str()` would print them, `None` values left out.
 */
export async function post(url: string, data: Dict): Promise<Answer> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(data))
    if (value !== null && value !== undefined) form.set(name, String(value));
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return { status: response.status, body: (await response.json()) as Dict };
}

/**
 * NHS's error assertions: the status, `"message_id" in body.keys()`, then `del body["message_id"]`
 * and `body == expected_response`.
 */
export function assertNhsError(answer: Answer, expectedStatus: number, expectedResponse: Dict): void {
  expect(answer.status).toBe(expectedStatus);
  expect(Object.keys(answer.body)).toContain('message_id');
  const { message_id: _, ...rest } = answer.body;
  expect(rest).toEqual(expectedResponse);
}
