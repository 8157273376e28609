import { beforeAll, describe, expect, it } from 'vitest';
import { type DiagnoseInput, diagnose, readJwks } from '../../../lambda/doctor/index.js';
import { kidEnvironmentClash, resolveTarget } from '../../../lambda/doctor/target.js';
import { localProfile } from '../../../lambda/platform/environments.js';
import { PLATFORM_ERRORS, PLATFORM_TOKEN_URLS } from '../../../lambda/platform/rules.js';
import {
  API_KEY,
  editSignature,
  INT_URL,
  jwksOf,
  makeKey,
  NOW_MS,
  NOW_S,
  signAssertion,
  signUntil,
  type TestKey,
} from './fixtures.js';

let key: TestKey;
let other: TestKey;
beforeAll(async () => {
  key = await makeKey('proxy-key-1');
  other = await makeKey('proxy-key-2');
});

const run = (assertion: string, more: Partial<DiagnoseInput> = {}) =>
  diagnose({ assertion, nowMs: NOW_MS, environment: 'int', ...more });
const codesOf = (d: { findings: { code: string }[] }) => d.findings.map((f) => f.code);

describe('claims, in the platform order', () => {
  it('reports every failing claim check, in order, and predicts the first', async () => {
    const token = await signAssertion(key, {
      header: { alg: 'PS512', typ: undefined },
      claims: { exp: 'soon', iss: 'a', sub: 'b', jti: 7 },
    });
    const d = await run(token);
    expect(codesOf(d).slice(0, 5)).toEqual([
      'ALG_NOT_RS512',
      'TYP_INVALID',
      'EXP_NOT_NUMBER',
      'ISS_SUB_INVALID',
      'JTI_NOT_STRING',
    ]);
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.assertionAlg });
  });

  it('judges exp with no leeway at --at, and allows exactly 310 s ahead', async () => {
    const atExp = await run(await signAssertion(key, { claims: { exp: NOW_S } }));
    expect(atExp.verdict).toBe('accept');
    const justAfter = await run(await signAssertion(key, { claims: { exp: NOW_S } }), { nowMs: NOW_MS + 1 });
    expect(justAfter.findings[0]).toMatchObject({
      code: 'EXP_EXPIRED',
      exp: NOW_S,
      at: '2026-11-28T10:00:00.001Z',
    });
    expect((await run(await signAssertion(key, { claims: { exp: NOW_S + 310 } }))).verdict).toBe('accept');
    const far = await run(await signAssertion(key, { claims: { exp: NOW_S + 311 } }));
    expect(far.findings[0]).toMatchObject({ code: 'EXP_TOO_FAR', secondsAhead: 311, maxSeconds: 310 });
  });

  it('checks the time claims at the current time by default', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const past = await diagnose({
      assertion: await signAssertion(key, { claims: { exp: nowS - 10 } }),
      environment: 'int',
    });
    expect(codesOf(past)).toContain('EXP_EXPIRED');
    const fresh = await diagnose({
      assertion: await signAssertion(key, { claims: { exp: nowS + 60 } }),
      environment: 'int',
    });
    expect(fresh.verdict).toBe('accept');
  });
});

describe('the order after the claims: API key, kid, signature, audience', () => {
  it('predicts the API key before the kid', async () => {
    const token = await signAssertion(key, { header: { kid: 'gone' } });
    const d = await run(token, { jwks: jwksOf(key), apiKey: 'OtherKey' });
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.unknownApiKey });
    expect(codesOf(d)).toEqual(expect.arrayContaining(['API_KEY_MISMATCH', 'KID_NOT_IN_JWKS']));
  });

  it('predicts the kid before the audience, and the signature before the audience', async () => {
    const wrongAud = { aud: PLATFORM_TOKEN_URLS.prod };
    const known = { jwks: jwksOf(key), apiKey: API_KEY };
    const kid = await run(await signAssertion(key, { header: { kid: 'gone' }, claims: wrongAud }), known);
    expect(kid.predicted).toEqual({ ...PLATFORM_ERRORS.assertionKidUnknown });
    const sig = await run(await signAssertion(other, { header: { kid: key.kid }, claims: wrongAud }), known);
    expect(sig.predicted).toEqual({ ...PLATFORM_ERRORS.signatureInvalid });
    const aud = await run(await signAssertion(key, { claims: wrongAud }), known);
    expect(aud.predicted).toEqual({ ...PLATFORM_ERRORS.assertionAud });
  });
});

// proxies/default.xml (Flow.PostTokenTokenExchange, lines 471-503): VerifyAPIKey.FromJWT on sub runs
// before VerifyJWT.ClientCredentials, which checks aud; which answer comes depends on whose key sub is.
describe('aud of another environment: the API key check comes first', () => {
  const prodAud = { claims: { aud: PLATFORM_TOKEN_URLS.prod } };
  const find = (d: { findings: { code: string }[] }, code: string) =>
    d.findings.find((f) => f.code === code) as { message: string; assumed?: string } | undefined;

  it('without the API key, predicts the API key refusal and says which case it assumed', async () => {
    const d = await run(await signAssertion(key, prodAud), { jwks: jwksOf(key) });
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.unknownApiKey });
    expect(find(d, 'API_KEY_MISMATCH')).toMatchObject({ assumed: 'api-key-of-aud-environment' });
    expect(find(d, 'API_KEY_MISMATCH')?.message).toContain('if sub is an API key registered on int');
    expect(find(d, 'AUD_OTHER_ENVIRONMENT')?.message).toContain(
      'only if sub is an API key registered on int',
    );
  });

  it('with the API key given and equal to sub, predicts the aud refusal and names the other case', async () => {
    const d = await run(await signAssertion(key, prodAud), { jwks: jwksOf(key), apiKey: API_KEY });
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.assertionAud });
    expect(find(d, 'AUD_OTHER_ENVIRONMENT')?.message).toContain(
      "would answer 401 \"Invalid 'iss'/'sub' claims",
    );
  });

  it('predicts the aud refusal for the mock-auth twin on the same host, whose apps are the same', async () => {
    const d = await run(await signAssertion(key, { claims: { aud: PLATFORM_TOKEN_URLS['int-mock'] } }), {
      jwks: jwksOf(key),
    });
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.assertionAud });
    expect(find(d, 'API_KEY_MISMATCH')).toBeUndefined();
    expect(find(d, 'AUD_OTHER_ENVIRONMENT')?.message).toContain('share apps');
  });

  it('without a JWKS, says so and predicts from the checks it could run', async () => {
    const d = await run(await signAssertion(key, { claims: { aud: `${INT_URL}/` } }));
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.assertionAud });
    expect(codesOf(d)).toContain('SIGNATURE_NOT_CHECKED');
    const fine = await run(await signAssertion(key));
    expect(fine).toMatchObject({ verdict: 'accept', predicted: null });
    expect(codesOf(fine)).toEqual(['SIGNATURE_NOT_CHECKED']);
  });

  it('checks the signature with the first key carrying the kid, as the platform does', async () => {
    const d = await run(await signAssertion(key), {
      jwks: { keys: [{ ...other.jwk, kid: key.kid }, key.jwk] },
    });
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.signatureInvalid });
    expect(codesOf(d)).toEqual(
      expect.arrayContaining(['SIGNATURE_INVALID', 'SIGNATURE_OTHER_KEY', 'JWKS_DUPLICATE_KID']),
    );
  });

  it('names a signature that is the wrong length for the key', async () => {
    const token = await signAssertion(key);
    const d = await run(editSignature(token, 0, 4, ''), { jwks: jwksOf(key) });
    expect(d.findings.find((f) => f.code === 'SIGNATURE_INVALID')?.message).toContain(
      'it is 253 bytes; RSA 2048 signatures are 256',
    );
  });
});

describe('audience', () => {
  const audOf = async (aud: unknown, more: Partial<DiagnoseInput> = {}) =>
    (await run(await signAssertion(key, { claims: { aud } }), more)).findings.find((f) =>
      f.code.startsWith('AUD_'),
    );

  it.each([
    [`${INT_URL}/`, 'it has a trailing slash'],
    [INT_URL.replace('https:', 'http:'), 'it uses http:// instead of https://'],
    ['https://int.api.service.nhs.uk/oauth2', 'it stops short: the token URL continues with "/token"'],
    ['int.api.service.nhs.uk/oauth2/token', 'it lacks the start "https://"'],
    [`${INT_URL}?x=1`, 'it has a query string'],
    [INT_URL.toUpperCase(), 'it differs only in letter case'],
  ])('explains aud %s', async (aud, hint) => {
    expect(await audOf(aud)).toMatchObject({ code: 'AUD_MISMATCH', hint, expected: INT_URL, actual: aud });
  });

  it('names the environment whose token URL the aud is', async () => {
    expect(await audOf(PLATFORM_TOKEN_URLS['int-mock'])).toMatchObject({
      code: 'AUD_OTHER_ENVIRONMENT',
      environment: 'int-mock',
    });
    expect(await audOf(localProfile(4321).tokenUrl)).toMatchObject({
      code: 'AUD_OTHER_ENVIRONMENT',
      environment: 'local',
    });
    expect(await audOf(PLATFORM_TOKEN_URLS.sandbox, { environment: 'prod' })).toMatchObject({
      environment: 'sandbox',
    });
  });

  it('accepts an aud array containing the token URL, as VerifyJWT does', async () => {
    expect(await audOf([PLATFORM_TOKEN_URLS.prod, INT_URL])).toBeUndefined();
    expect(await audOf(['https://example.org'])).toMatchObject({ code: 'AUD_MISMATCH' });
    expect(await audOf([42])).toMatchObject({ code: 'AUD_MISSING' });
  });

  it('tells two emulator ports apart as a mismatch within the local environment', async () => {
    const d = await audOf(localProfile(4321).tokenUrl, {
      environment: undefined,
      tokenUrl: localProfile(1234).tokenUrl,
    });
    expect(d).toMatchObject({ code: 'AUD_MISMATCH' });
  });
});

describe('target and kid names', () => {
  it('resolves the token URL from an environment name and the environment from a token URL', () => {
    expect(resolveTarget(undefined, 'int')).toEqual({ tokenUrl: INT_URL, environment: 'int' });
    expect(resolveTarget(undefined, 'int-mock')).toEqual({
      tokenUrl: PLATFORM_TOKEN_URLS['int-mock'],
      environment: 'int-mock',
    });
    expect(resolveTarget(undefined, 'local')).toEqual({
      tokenUrl: localProfile().tokenUrl,
      environment: 'local',
    });
    expect(resolveTarget(PLATFORM_TOKEN_URLS.prod)).toEqual({
      tokenUrl: PLATFORM_TOKEN_URLS.prod,
      environment: 'prod',
    });
    expect(resolveTarget('https://example.org/token')).toEqual({
      tokenUrl: 'https://example.org/token',
      environment: undefined,
    });
  });

  it.each([
    ['proxy-dev-1', 'int', 'dev'],
    ['nhs_prod_2026', 'int', 'prod'],
    ['TEST-key', 'prod', 'test'],
    ['int-2026-11', 'prod', 'int'],
    ['int-2026-11', 'int-mock', undefined],
    ['dev-key', 'internal-dev', undefined],
    // NHS's standard e2e kid (ISA e2e/tests/utils/helpers.py, create_client_assertion) on the mock-auth twins.
    ['test-1', 'internal-dev-mock', undefined],
    ['dev-key', 'internal-dev-mock', undefined],
    ['sandbox-1', 'sandbox-mock', undefined],
    ['test-1', 'int-mock', 'test'],
    ['aGVsbG8tint_x1', 'prod', undefined],
    ['b3c1f0e2', 'int', undefined],
  ])('kid %s on %s clashes on %s', (kid, environment, word) => {
    expect(kidEnvironmentClash(kid, environment)).toBe(word);
  });

  it('takes the environment from aud for kid names when no target is given', async () => {
    const dev = await makeKey('dev-signing-key');
    const d = await diagnose({ assertion: await signAssertion(dev), nowMs: NOW_MS });
    expect(d.findings.find((f) => f.code === 'KID_OTHER_ENVIRONMENT')).toMatchObject({
      word: 'dev',
      environment: 'int',
    });
  });
});

describe('the support thread: an en dash in the signature, expired, and a development kid on INT', () => {
  it('names all three faults, predicts Malformed JWT and repairs the signature', async () => {
    const dev = await makeKey('cis2-proxy-dev-2026');
    const token = await signUntil(dev, (s) => s.includes('--'), { claims: { exp: NOW_S - 3600 } });
    const damaged = editSignature(token, token.split('.')[2]!.indexOf('--'), 2, '\u2013');
    const d = await run(damaged, { jwks: jwksOf(dev), apiKey: API_KEY });
    expect(d.predicted).toEqual({ ...PLATFORM_ERRORS.clientAssertionMalformed });
    expect(codesOf(d)).toEqual([
      'CHAR_TYPOGRAPHIC_DASH',
      'EXP_EXPIRED',
      'SIGNATURE_VERIFIED',
      'KID_OTHER_ENVIRONMENT',
      'KEY_TOO_SMALL',
      'REPAIR_VERIFIED',
    ]);
    expect(d.repair).toMatchObject({ signatureVerified: true, kid: dev.kid, assertion: token });
  });
});

describe('readJwks', () => {
  it('reads a bare array of keys and reports it', () => {
    const reading = readJwks([key.jwk, other.jwk]);
    expect(reading.keys?.map((k) => [k.kid, k.modulusBits])).toEqual([
      [key.kid, 2048],
      [other.kid, 2048],
    ]);
    expect(reading.findings.map((f) => f.code)).toEqual(['JWKS_NOT_A_SET', 'KEY_TOO_SMALL', 'KEY_TOO_SMALL']);
  });

  it('reads raw text and still verifies with a key whose private members leaked', async () => {
    const { exportJWK } = await import('jose');
    const leaked = { ...(await exportJWK(key.privateKey)), kid: key.kid, use: 'sig' };
    const d = await run(await signAssertion(key), { jwks: JSON.stringify({ keys: [leaked] }) });
    expect(d.findings.find((f) => f.code === 'JWKS_PRIVATE_KEY')).toMatchObject({
      members: ['d', 'p', 'q', 'dp', 'dq', 'qi'],
    });
    expect(codesOf(d)).toContain('SIGNATURE_VERIFIED');
  });

  it('gives no keys for something that is not a JWKS', () => {
    const reading = readJwks('{"keys": "none"}');
    expect(reading.keys).toBeUndefined();
    expect(reading.findings).toMatchObject([{ code: 'JWKS_UNPARSEABLE' }]);
    expect(readJwks(42).keys).toBeUndefined();
  });
});
