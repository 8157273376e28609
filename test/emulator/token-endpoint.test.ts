/**
 * The emulated token endpoint over real HTTP: happy paths of the assertion grants and every
 * docs/nhs-platform.md §4a–§4d row the emulator can produce, in the platform's order of checks.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, MESSAGE_ID_PATTERN, startEmulator } from '../../emulator/index.js';
import { type PlatformErrorName, URN } from '../../lambda/platform/rules.js';
import {
  type AppKey,
  type AssertionOptions,
  clientCredentialsForm,
  expectPlatformError,
  makeAppKey,
  postForm,
  signAssertion,
  tokenExchangeForm,
  unsignedJws,
} from '../helpers/emulator-fixtures.js';

const API_KEY = 'emulator-test-app';
const SECOND_API_KEY = 'emulator-test-app-2';

let emulator: Emulator;
let key: AppKey;
let strangerKey: AppKey;

beforeAll(async () => {
  [key, strangerKey] = await Promise.all([makeAppKey(), makeAppKey()]);
  emulator = await startEmulator({
    apps: [
      { apiKey: API_KEY, clientSecret: 'secret', jwks: key.jwks },
      { apiKey: SECOND_API_KEY, clientSecret: 'secret-2', jwks: key.jwks },
      { apiKey: 'app-without-key', clientSecret: 'secret-3' },
      { apiKey: 'app-with-bare-host-jwks-url', clientSecret: 'secret-4', jwksUrl: 'https://google.com' },
    ],
  });
});

afterAll(() => emulator.close());

const assertion = (overrides: Partial<AssertionOptions> = {}) =>
  signAssertion({ key, apiKey: API_KEY, aud: emulator.tokenUrl, ...overrides });

const exchange = async (assertionOverrides: Partial<AssertionOptions> = {}, idTokenClaims = {}) =>
  postForm(
    emulator.tokenUrl,
    tokenExchangeForm(await assertion(assertionOverrides), await emulator.idToken(idTokenClaims)),
  );

const nowS = () => Math.floor(Date.now() / 1000);

describe('happy paths', () => {
  it('exchanges a CIS2 ID token for an access token with the platform fields, all strings', async () => {
    // Prepare
    const form = tokenExchangeForm(await assertion(), await emulator.idToken());

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = response.json<Record<string, string>>();
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9]{28}$/),
      expires_in: '599',
      token_type: 'Bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      refresh_token: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      refresh_token_expires_in: '43199',
      refresh_count: '0',
    });
    expect(emulator.introspect(body.access_token as string)).toMatchObject({
      sub: '787807429511',
      apiKey: API_KEY,
      active: true,
    });
  });

  it('issues an application-restricted token for client_credentials', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const response = await postForm(emulator.tokenUrl, clientCredentialsForm(await assertion()));

    // Assess
    expect(response.status).toBe(200);
    const body = response.json<Record<string, string>>();
    expect(body).toEqual({
      access_token: expect.any(String),
      expires_in: '599',
      token_type: 'Bearer',
      issued_at: expect.stringMatching(/^\d{13}$/),
    });
    expect(Number(body.issued_at)).toBeGreaterThanOrEqual(before);
    expect(emulator.introspect(body.access_token as string)).toMatchObject({ sub: API_KEY, apiKey: API_KEY });
  });

  it.each<[string, () => Partial<AssertionOptions>, Record<string, unknown>]>([
    ['an AAL2 ID token', () => ({}), { authentication_assurance_level: 2 }],
    ['an RS512-signed ID token', () => ({}), { header: { alg: 'RS512' } }],
    ['a lower-case typ on the assertion', () => ({ header: { typ: 'jwt' } }), {}],
    ['an aud array containing the token URL', () => ({ claims: { aud: ['other', emulator.tokenUrl] } }), {}],
    ['an assertion expiring 309 s ahead', () => ({ claims: { exp: nowS() + 309 } }), {}],
  ])('accepts %s', async (_, assertionOverrides, idTokenClaims) => {
    // Act
    const response = await exchange(assertionOverrides(), idTokenClaims);

    // Assess
    expect(response.status, response.text).toBe(200);
  });

  it('requires aud to be the exact URL posted to, query string included', async () => {
    // Prepare
    const urlWithQuery = `${emulator.tokenUrl}?env=local`;
    const matching = await assertion({ aud: urlWithQuery });
    const plain = await assertion();
    const idToken = await emulator.idToken();

    // Act
    const withMatchingAud = await postForm(urlWithQuery, tokenExchangeForm(matching, idToken));
    const withPlainAud = await postForm(urlWithQuery, tokenExchangeForm(plain, idToken));

    // Assess
    expect(withMatchingAud.status).toBe(200);
    expectPlatformError(withPlainAud, 'assertionAud');
  });
});

describe('method and media type', () => {
  it.each(['GET', 'PUT', 'DELETE'])('answers %s with 405 text/plain and Allow: POST', async (method) => {
    // Act
    const response = await fetch(emulator.tokenUrl, { method });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.headers.get('content-type')).toBe('text/plain');
  });

  it.each([
    ['a charset suffix', 'application/x-www-form-urlencoded;charset=UTF-8'],
    ['JSON', 'application/json'],
    ['upper case', 'Application/X-WWW-Form-Urlencoded'],
  ])('rejects a Content-Type with %s with the platform 415', async (_, contentType) => {
    // Act
    const response = await postForm(emulator.tokenUrl, clientCredentialsForm(await assertion()), contentType);

    // Assess
    expectPlatformError(response, 'contentType');
  });

  describe('with acceptContentTypeParameters', () => {
    let lenient: Emulator;
    beforeAll(async () => {
      lenient = await startEmulator({
        acceptContentTypeParameters: true,
        apps: [{ apiKey: API_KEY, clientSecret: 'secret', jwks: key.jwks }],
      });
    });
    afterAll(() => lenient.close());

    it.each([
      'application/x-www-form-urlencoded;charset=UTF-8',
      'application/x-www-form-urlencoded; charset=utf-8',
      'Application/X-WWW-Form-Urlencoded',
    ])('accepts %s', async (contentType) => {
      // Prepare
      const form = clientCredentialsForm(
        await signAssertion({ key, apiKey: API_KEY, aud: lenient.tokenUrl }),
      );

      // Act
      const response = await postForm(lenient.tokenUrl, form, contentType);

      // Assess
      expect(response.status).toBe(200);
    });

    it.each([
      'application/json',
      'application/x-www-form-urlencoded-foo',
      'application/x-www-form-urlencoded;x',
    ])('still rejects %s with the platform 415', async (contentType) => {
      const form = clientCredentialsForm(
        await signAssertion({ key, apiKey: API_KEY, aud: lenient.tokenUrl }),
      );
      expectPlatformError(await postForm(lenient.tokenUrl, form, contentType), 'contentType');
    });
  });
});

describe("the mock-auth path /oauth2-mock/token (pytest-nhsd-apim's default)", () => {
  it('serves the token endpoint with aud = its own URL', async () => {
    // Prepare
    const form = clientCredentialsForm(await assertion({ aud: emulator.mockTokenUrl }));

    // Act
    const response = await postForm(emulator.mockTokenUrl, form);

    // Assess
    expect(emulator.mockTokenUrl).toBe(`${emulator.baseUrl}/oauth2-mock/token`);
    expect(response.status).toBe(200);
  });

  it.each([
    ['/oauth2/token aud posted to /oauth2-mock/token', () => emulator.tokenUrl, () => emulator.mockTokenUrl],
    ['/oauth2-mock/token aud posted to /oauth2/token', () => emulator.mockTokenUrl, () => emulator.tokenUrl],
  ])('rejects a %s', async (_, aud, url) => {
    const response = await postForm(url(), clientCredentialsForm(await assertion({ aud: aud() })));
    expectPlatformError(response, 'assertionAud');
  });
});

describe('lifetime overrides (JavaScript.Calculate*Override, AssignMessage.*Override)', () => {
  it.each([
    ['100000', '99'],
    ['500000', '499'],
    ['700000', '599'],
    ['600000', '599'],
    ['100abc', '599'],
  ])('client_credentials with _access_token_expiry_ms=%s reports expires_in %s', async (field, expiresIn) => {
    // Prepare
    const form = { ...clientCredentialsForm(await assertion()), _access_token_expiry_ms: field };

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expect(response.json()).toMatchObject({ expires_in: expiresIn });
  });

  it('token exchange honours _access_token_expiry_ms but not the refresh fields (not in its flow)', async () => {
    // Prepare
    const form = {
      ...tokenExchangeForm(await assertion(), await emulator.idToken()),
      _access_token_expiry_ms: '100000',
      _refresh_token_expiry_ms: '100000',
      _refresh_tokens_validity_ms: '100000',
    };

    // Act
    const body = (await postForm(emulator.tokenUrl, form)).json();

    // Assess
    expect(body).toMatchObject({ expires_in: '99', refresh_token_expires_in: '43199' });
    expect(emulator.introspect(String(body.access_token))).toMatchObject({ active: true });
  });
});

type FormBuilder = () => Promise<Record<string, string | undefined>>;

describe('§4a request and form errors', () => {
  const exchangeForm: FormBuilder = async () =>
    tokenExchangeForm(await assertion(), await emulator.idToken());
  const rows: [string, FormBuilder, PlatformErrorName][] = [
    [
      'token exchange without client_assertion_type',
      async () => ({ ...(await exchangeForm()), client_assertion_type: undefined }),
      'clientAssertionType',
    ],
    [
      'client_credentials with a wrong client_assertion_type',
      async () => ({ ...clientCredentialsForm(await assertion()), client_assertion_type: 'jwt-bearer' }),
      'clientAssertionType',
    ],
    [
      'client_assertion_type before grant_type in the exchange flow',
      async () => ({ ...(await exchangeForm()), client_assertion_type: undefined, grant_type: 'password' }),
      'clientAssertionType',
    ],
    [
      'an id_token subject with grant_type client_credentials (routed to the exchange flow)',
      async () => ({ ...(await exchangeForm()), grant_type: 'client_credentials' }),
      'grantTypeInvalid',
    ],
    [
      'an id_token subject without grant_type',
      async () => ({ ...(await exchangeForm()), grant_type: undefined }),
      'grantTypeInvalid',
    ],
    [
      'grant_type password',
      async () => ({ grant_type: 'password', username: 'u', password: 'p' }),
      'grantTypeUnsupported',
    ],
    [
      'grant_type authorization_code (not emulated)',
      async () => ({ grant_type: 'authorization_code', code: 'c' }),
      'grantTypeUnsupported',
    ],
    [
      'no grant_type at all',
      async () => ({ ...clientCredentialsForm(await assertion()), grant_type: undefined }),
      'grantTypeMissing',
    ],
    [
      'token exchange with an access_token subject_token_type',
      async () => ({ ...(await exchangeForm()), subject_token_type: URN.accessToken }),
      'subjectTokenType',
    ],
    [
      'token exchange without subject_token_type',
      async () => ({ ...(await exchangeForm()), subject_token_type: undefined }),
      'subjectTokenType',
    ],
    [
      'token exchange without client_assertion',
      async () => ({ ...(await exchangeForm()), client_assertion: undefined }),
      'clientAssertionMissing',
    ],
    [
      'client_credentials without client_assertion',
      async () => ({ ...clientCredentialsForm(''), client_assertion: undefined }),
      'clientAssertionMissing',
    ],
    [
      'a client_assertion that is not a JWS',
      async () => ({ ...(await exchangeForm()), client_assertion: 'not-a-jwt' }),
      'clientAssertionMalformed',
    ],
    [
      'a client_assertion with a non-JSON header',
      async () => clientCredentialsForm('bm90IGpzb24.e30.c2ln'),
      'clientAssertionMalformed',
    ],
    [
      'token exchange without subject_token',
      async () => ({ ...(await exchangeForm()), subject_token: undefined }),
      'subjectTokenMissing',
    ],
    [
      'a subject_token that is not a JWS',
      async () => ({ ...(await exchangeForm()), subject_token: 'a.b' }),
      'subjectTokenMalformed',
    ],
  ];

  it.each(rows)('rejects %s', async (_, build, expected) => {
    // Prepare
    const form = await build();

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expectPlatformError(response, expected);
  });
});

describe('§4b client assertion claims, in the platform order', () => {
  const hmacKey = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes');
  const rows: [string, () => Promise<string>, PlatformErrorName][] = [
    ['alg RS256', () => assertion({ header: { alg: 'RS256' } }), 'assertionAlg'],
    ['alg PS512', () => assertion({ header: { alg: 'PS512' } }), 'assertionAlg'],
    ['alg HS512', () => assertion({ header: { alg: 'HS512' }, signingKey: hmacKey }), 'assertionAlg'],
    [
      'no alg (the dead "Missing alg" row: the RS512 check fires first)',
      async () => unsignedJws({ typ: 'JWT', kid: key.kid }, { iss: API_KEY, sub: API_KEY }),
      'assertionAlg',
    ],
    [
      'an expired exp, before a missing kid',
      () => assertion({ header: { kid: undefined }, claims: { exp: nowS() - 1 } }),
      'assertionExpired',
    ],
    ['no kid', () => assertion({ header: { kid: undefined } }), 'assertionKidMissing'],
    ['an empty kid', () => assertion({ header: { kid: '' } }), 'assertionKidMissing'],
    ['no typ', () => assertion({ header: { typ: undefined } }), 'assertionTyp'],
    ['typ JOSE', () => assertion({ header: { typ: 'JOSE' } }), 'assertionTyp'],
    [
      'no typ, before a missing exp',
      () => assertion({ header: { typ: undefined }, claims: { exp: undefined } }),
      'assertionTyp',
    ],
    ['no exp', () => assertion({ claims: { exp: undefined } }), 'assertionExpMissing'],
    ['a string exp', () => assertion({ claims: { exp: String(nowS() + 60) } }), 'assertionExpType'],
    ['iss different from sub', () => assertion({ claims: { iss: 'someone-else' } }), 'assertionIssSub'],
    [
      'no iss, before a missing jti',
      () => assertion({ claims: { iss: undefined, jti: undefined } }),
      'assertionIssSub',
    ],
    ['no jti', () => assertion({ claims: { jti: undefined } }), 'assertionJtiMissing'],
    ['a numeric jti', () => assertion({ claims: { jti: 12345 } }), 'assertionJtiType'],
    ['exp 311 s ahead', () => assertion({ claims: { exp: nowS() + 312 } }), 'assertionExpTooFar'],
    // validate-client-assertion-claims.js line 56 coerces: these are "expired", before the kid check.
    [
      'an exp of "" (coerces to 0), before a missing kid',
      () => assertion({ header: { kid: undefined }, claims: { exp: '' } }),
      'assertionExpired',
    ],
    ['an exp of null', () => assertion({ claims: { exp: null } }), 'assertionExpired'],
    ['an exp of [<past>]', () => assertion({ claims: { exp: [nowS() - 60] } }), 'assertionExpired'],
    [
      'a past numeric string exp',
      () => assertion({ claims: { exp: String(nowS() - 60) } }),
      'assertionExpired',
    ],
    [
      'an exp of 1e13 (an invalid Date: not "expired")',
      () => assertion({ claims: { exp: 1e13 } }),
      'assertionExpTooFar',
    ],
    [
      'an exp of -1e13 (passes the script; VerifyJWT, UNCONFIRMED)',
      () => assertion({ claims: { exp: -1e13 } }),
      'assertionExpired',
    ],
    // Line 61: `!jwtPayload.jti`.
    ['an empty jti', () => assertion({ claims: { jti: '' } }), 'assertionJtiMissing'],
    ['a jti of 0', () => assertion({ claims: { jti: 0 } }), 'assertionJtiMissing'],
    ['a jti of false', () => assertion({ claims: { jti: false } }), 'assertionJtiMissing'],
    // Lines 59-60 compare loosely; VerifyAPIKey.FromJWT then reads sub.
    [
      'sub ["KEY"] with iss "KEY" (loosely equal, unknown as an API key)',
      () => assertion({ claims: { sub: [API_KEY] } }),
      'unknownApiKey',
    ],
  ];

  it.each(rows)('rejects %s', async (_, build, expected) => {
    // Prepare
    const form = clientCredentialsForm(await build());

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expectPlatformError(response, expected);
  });

  it('rejects a reused jti, before an exp too far ahead', async () => {
    // Prepare
    const jti = randomUUID();
    const first = await postForm(
      emulator.tokenUrl,
      clientCredentialsForm(await assertion({ claims: { jti } })),
    );

    // Act
    const reused = await postForm(
      emulator.tokenUrl,
      clientCredentialsForm(await assertion({ claims: { jti } })),
    );
    const reusedFar = await postForm(
      emulator.tokenUrl,
      clientCredentialsForm(await assertion({ claims: { jti, exp: nowS() + 3600 } })),
    );

    // Assess
    expect(first.status).toBe(200);
    expectPlatformError(reused, 'assertionJtiReused');
    expectPlatformError(reusedFar, 'assertionJtiReused');
  });
});

describe('§4c app, JWKS and signature', () => {
  const rows: [string, () => Promise<string>, PlatformErrorName][] = [
    ['an API key no app has', () => assertion({ apiKey: 'prod-key-used-on-int' }), 'unknownApiKey'],
    [
      'an app without a registered public key',
      () => assertion({ apiKey: 'app-without-key' }),
      'publicKeyNotRegistered',
    ],
    [
      'a JWKS URL without a path',
      () => assertion({ apiKey: 'app-with-bare-host-jwks-url' }),
      'jwksUnreachable',
    ],
    ['a kid not in the JWKS', () => assertion({ header: { kid: 'rotated-away' } }), 'assertionKidUnknown'],
    [
      'a signature by another key',
      () => assertion({ signingKey: strangerKey.privateKey }),
      'signatureInvalid',
    ],
    [
      'a signature check before aud',
      () => assertion({ signingKey: strangerKey.privateKey, claims: { aud: 'x' } }),
      'signatureInvalid',
    ],
    ['no aud', () => assertion({ claims: { aud: undefined } }), 'assertionAud'],
    [
      'the INT token URL as aud',
      () => assertion({ aud: 'https://int.api.service.nhs.uk/oauth2/token' }),
      'assertionAud',
    ],
    ['aud without the path', () => assertion({ aud: emulator.baseUrl }), 'assertionAud'],
    ['aud with a trailing slash', () => assertion({ aud: `${emulator.tokenUrl}/` }), 'assertionAud'],
    [
      'aud naming localhost for 127.0.0.1',
      () => assertion({ aud: emulator.tokenUrl.replace('127.0.0.1', 'localhost') }),
      'assertionAud',
    ],
  ];

  it.each(rows)('rejects %s', async (_, build, expected) => {
    // Prepare
    const form = tokenExchangeForm(await build(), await emulator.idToken());

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expectPlatformError(response, expected);
  });
});

describe('loose iss/sub', () => {
  it('accepts iss ["KEY"] with sub "KEY": the script compares with != and the API key is read from sub', async () => {
    const response = await postForm(
      emulator.tokenUrl,
      clientCredentialsForm(await assertion({ claims: { iss: [API_KEY] } })),
    );
    expect(response.status).toBe(200);
  });
});

describe('jti burning', () => {
  it.each<[string, () => Partial<AssertionOptions>, Record<string, unknown>, PlatformErrorName]>([
    ['its signature', () => ({ signingKey: strangerKey.privateKey }), {}, 'signatureInvalid'],
    ['its aud', () => ({ aud: 'https://api.service.nhs.uk/oauth2/token' }), {}, 'assertionAud'],
    ['its kid', () => ({ header: { kid: 'unknown-kid' } }), {}, 'assertionKidUnknown'],
    ['the subject token', () => ({}), { aud: null }, 'subjectAudMissing'],
  ])('spends the jti of an assertion rejected for %s', async (_, breakage, idTokenClaims, expected) => {
    // Prepare
    const jti = randomUUID();
    const broken = await exchange({ ...breakage(), claims: { jti } }, idTokenClaims);

    // Act
    const retry = await exchange({ claims: { jti } });

    // Assess
    expectPlatformError(broken, expected);
    expectPlatformError(retry, 'assertionJtiReused');
  });

  it('does not spend the jti of an assertion rejected by the claim checks', async () => {
    // Prepare
    const jti = randomUUID();
    const tooFar = await exchange({ claims: { jti, exp: nowS() + 600 } });

    // Act
    const retry = await exchange({ claims: { jti } });

    // Assess
    expectPlatformError(tooFar, 'assertionExpTooFar');
    expect(retry.status).toBe(200);
  });

  it('keys a non-string sub apart from the string it loosely equals', async () => {
    // Prepare: sub ["KEY"] passes the loose iss/sub check, burns its jti, then fails the API key check.
    const jti = randomUUID();
    const arraySub = await postForm(
      emulator.tokenUrl,
      clientCredentialsForm(await assertion({ claims: { jti, sub: [API_KEY] } })),
    );

    // Act
    const stringSub = await postForm(
      emulator.tokenUrl,
      clientCredentialsForm(await assertion({ claims: { jti } })),
    );

    // Assess
    expectPlatformError(arraySub, 'unknownApiKey');
    expect(stringSub.status).toBe(200);
  });

  it('keys spent jtis by the assertion sub, so another app may use the same jti', async () => {
    // Prepare
    const jti = randomUUID();
    const first = await exchange({ claims: { jti } });

    // Act
    const otherApp = await exchange({ apiKey: SECOND_API_KEY, claims: { jti } });

    // Assess
    expect(first.status).toBe(200);
    expect(otherApp.status).toBe(200);
  });
});

describe('§4d subject token (CIS2 ID token)', () => {
  const rows: [string, Record<string, unknown>, PlatformErrorName][] = [
    ['no kid, before an expired exp', { header: { kid: null }, exp: nowS() - 10 }, 'subjectKidMissing'],
    ['no typ', { header: { typ: null } }, 'subjectTyp'],
    ['typ at+jwt', { header: { typ: 'at+jwt' } }, 'subjectTyp'],
    ['no alg', { header: { alg: null } }, 'subjectAlgMissing'],
    ['no exp', { exp: null }, 'subjectExpMissing'],
    ['a string exp', { exp: String(nowS() + 60) }, 'subjectExpType'],
    ['an expired exp', { exp: nowS() - 1 }, 'subjectExpired'],
    ['no iss', { iss: null }, 'subjectIssMissing'],
    // SelectIdTokenIssuer.js lines 19-20: Apigee shows an aud of [""] as '[""]', answered with 400.
    ['an aud of [""] (400, SelectIdTokenIssuer.js)', { aud: [''] }, 'subjectAudEmpty'],
    ['an aud of "" (401, validate-subject-token-claims.js)', { aud: '' }, 'subjectAudMissing'],
    // Beyond the Date range: the script passes it, VerifyJWT finds it expired (answer UNCONFIRMED).
    ['an exp of -1e13', { exp: -1e13 }, 'subjectExpired'],
    [
      'no aud, before an unknown iss (401)',
      { aud: null, iss: 'https://elsewhere.example' },
      'subjectAudMissing',
    ],
    [
      'the INT CIS2 issuer',
      {
        iss: 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare',
      },
      'subjectIssUnknown',
    ],
    ['a kid CIS2 does not have', { header: { kid: 'not-a-cis2-kid' } }, 'subjectKidUnknown'],
    ['an alg VerifyJWT does not accept (catch-all)', { header: { alg: 'PS256' } }, 'unknownError'],
    ['AAL1', { authentication_assurance_level: 1 }, 'unauthorizedClient'],
    ['no authentication_assurance_level', { authentication_assurance_level: null }, 'unauthorizedClient'],
  ];

  it.each(rows)('rejects %s', async (_, idTokenClaims, expected) => {
    // Prepare
    const form = tokenExchangeForm(await assertion(), await emulator.idToken(idTokenClaims));

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expectPlatformError(response, expected);
  });

  it('rejects an ID token whose claims were altered after signing', async () => {
    // Prepare
    const [header, claims, signature] = (await emulator.idToken()).split('.') as [string, string, string];
    const altered = { ...JSON.parse(Buffer.from(claims, 'base64url').toString()), sub: 'someone-else' };
    const forgedClaims = Buffer.from(JSON.stringify(altered)).toString('base64url');
    const forged = `${header}.${forgedClaims}.${signature}`;

    // Act
    const response = await postForm(emulator.tokenUrl, tokenExchangeForm(await assertion(), forged));

    // Assess
    expectPlatformError(response, 'signatureInvalid');
  });
});

describe('message ids', () => {
  it('gives every error response its own platform-shaped message_id', async () => {
    // Act
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => postForm(emulator.tokenUrl, { grant_type: 'password' })),
    );

    // Assess
    const ids = responses.map((response) => response.json().message_id as string);
    for (const id of ids) expect(id).toMatch(MESSAGE_ID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
