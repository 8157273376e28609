/**
 * The CIS2 stand-in (discovery, JWKS, ID token minting), the request record and log (never a
 * whole token), introspection, and the emulator's other HTTP surface.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, MESSAGE_ID_PATTERN, startEmulator } from '../../emulator/index.js';
import {
  type AppKey,
  clientCredentialsForm,
  makeAppKey,
  postForm,
  signAssertion,
  tokenExchangeForm,
} from '../helpers/emulator-fixtures.js';

const API_KEY = 'records-test-app';
const SECRET = 'records-test-secret';

let emulator: Emulator;
let key: AppKey;
const logLines: string[] = [];

beforeAll(async () => {
  key = await makeAppKey('records-kid');
  emulator = await startEmulator({
    apps: [{ apiKey: API_KEY, clientSecret: SECRET, jwks: key.jwks }],
    log: (line) => logLines.push(line),
  });
});

afterAll(() => emulator.close());

const postJson = (path: string, body: unknown) =>
  fetch(`${emulator.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('CIS2 discovery and JWKS', () => {
  it('serves discovery at <issuer>/.well-known/openid-configuration, pointing at <issuer>/connect/jwk_uri', async () => {
    // Act
    const response = await fetch(`${emulator.cis2Issuer}/.well-known/openid-configuration`);

    // Assess
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(emulator.cis2Issuer).toBe(
      `${emulator.baseUrl}/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare`,
    );
    expect(discovery).toMatchObject({
      issuer: emulator.cis2Issuer,
      jwks_uri: `${emulator.cis2Issuer}/connect/jwk_uri`,
    });
  });

  it('publishes only public key material', async () => {
    // Act
    const jwks = (await (await fetch(`${emulator.cis2Issuer}/connect/jwk_uri`)).json()) as {
      keys: Record<string, unknown>[];
    };

    // Assess
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: expect.any(String) });
    for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
      expect(jwks.keys[0]).not.toHaveProperty(privatePart);
  });
});

describe('ID token minting', () => {
  it('mints an RS256 ID token with the platform fixture claims, verifiable against the JWKS', async () => {
    // Prepare
    const jwks = createRemoteJWKSet(new URL(`${emulator.cis2Issuer}/connect/jwk_uri`));

    // Act
    const response = await postJson('/cis2/id-token', {});

    // Assess
    expect(response.status).toBe(200);
    const { id_token: idToken } = (await response.json()) as { id_token: string };
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer: emulator.cis2Issuer,
      audience: '969567331415.apps.national',
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(payload).toMatchObject({
      sub: '787807429511',
      azp: '969567331415.apps.national',
      acr: 'AAL3_ANY',
      amr: ['N3_SMARTCARD'],
      id_assurance_level: 3,
      authentication_assurance_level: 3,
      tokenName: 'id_token',
      realm: expect.any(String),
      auditTrackingId: expect.any(String),
      at_hash: expect.any(String),
      auth_time: expect.any(Number),
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('replaces claims given a value, removes claims given null, and overrides the header', async () => {
    // Act
    const response = await postJson('/cis2/id-token', {
      sub: '555555555555',
      authentication_assurance_level: 2,
      acr: null,
      header: { typ: null, kid: 'custom' },
    });

    // Assess
    const { id_token: idToken } = (await response.json()) as { id_token: string };
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString());
    expect(claims).toMatchObject({ sub: '555555555555', authentication_assurance_level: 2 });
    expect(claims).not.toHaveProperty('acr');
    expect(decodeProtectedHeader(idToken)).toEqual({ alg: 'RS256', kid: 'custom' });
  });

  it('mints the same way in process', async () => {
    // Act
    const idToken = await emulator.idToken({ sub: 'in-process', header: { alg: 'RS512' } });

    // Assess
    expect(decodeProtectedHeader(idToken).alg).toBe('RS512');
    expect(JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString()).sub).toBe(
      'in-process',
    );
  });

  it.each([
    ['a non-object header override', { header: 'none' }],
    ['a JSON array body', []],
  ])('answers 400 to %s', async (_, body) => {
    // Act
    const response = await postJson('/cis2/id-token', body);

    // Assess
    expect(response.status).toBe(400);
  });
});

describe('request record and log', () => {
  it('records each token request without any whole token, in records() and over HTTP', async () => {
    // Prepare
    emulator.clearRecords();
    logLines.length = 0;
    const assertion = await signAssertion({ key, apiKey: API_KEY, aud: emulator.tokenUrl });
    const idToken = await emulator.idToken({ sub: '999000111222' });
    const exchanged = await postForm(emulator.tokenUrl, tokenExchangeForm(assertion, idToken));
    const { access_token: accessToken, refresh_token: refreshToken } =
      exchanged.json<Record<string, string>>();
    const refreshed = await postForm(emulator.tokenUrl, {
      grant_type: 'refresh_token',
      client_id: API_KEY,
      client_secret: SECRET,
      refresh_token: refreshToken,
    });
    const replayed = await postForm(emulator.tokenUrl, clientCredentialsForm(assertion));
    const secrets = [
      assertion,
      idToken,
      accessToken,
      refreshToken,
      refreshed.json().access_token as string,
      SECRET,
    ];

    // Act
    const records = emulator.records();
    const overHttp = (await (await fetch(`${emulator.baseUrl}/__emulator/requests`)).json()) as {
      requests: unknown[];
    };

    // Assess
    expect(records).toEqual([
      expect.objectContaining({
        seq: 1,
        grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
        jti: expect.any(String),
        kid: 'records-kid',
        apiKey: API_KEY,
        subject: '999000111222',
        status: 200,
      }),
      expect.objectContaining({
        seq: 2,
        grantType: 'refresh_token',
        apiKey: API_KEY,
        subject: '999000111222',
        status: 200,
      }),
      expect.objectContaining({
        seq: 3,
        grantType: 'client_credentials',
        status: 400,
        error: 'invalid_request',
        errorDescription: "Non-unique 'jti' claim in client_assertion JWT",
        messageId: replayed.json().message_id,
      }),
    ]);
    expect(records[2]?.messageId).toMatch(MESSAGE_ID_PATTERN);
    expect(overHttp.requests).toEqual(JSON.parse(JSON.stringify(records)));
    const recorded = JSON.stringify(records) + logLines.join('\n');
    for (const secret of secrets) expect(recorded).not.toContain(secret);
    expect(logLines).toHaveLength(3);
    expect(logLines[2]).toMatch(
      /^POST \/oauth2\/token 400 "Non-unique 'jti'.*" message_id=rrt-.* jti=.* kid=records-kid$/,
    );
  });

  it('forgets records on clearRecords and DELETE /__emulator/requests', async () => {
    // Prepare
    await postForm(emulator.tokenUrl, { grant_type: 'password' });

    // Act
    const deleted = await fetch(`${emulator.baseUrl}/__emulator/requests`, { method: 'DELETE' });
    const afterDelete = emulator.records().length;
    await postForm(emulator.tokenUrl, { grant_type: 'password' });
    emulator.clearRecords();

    // Assess
    expect(deleted.status).toBe(204);
    expect(afterDelete).toBe(0);
    expect(emulator.records()).toEqual([]);
  });
});

describe('introspection over HTTP', () => {
  it('says which user and app an access token belongs to, and that unknown tokens are inactive', async () => {
    // Prepare
    const assertion = await signAssertion({ key, apiKey: API_KEY, aud: emulator.tokenUrl });
    const exchanged = await postForm(
      emulator.tokenUrl,
      tokenExchangeForm(assertion, await emulator.idToken({ sub: '123412341234' })),
    );

    // Act
    const known = await postJson('/__emulator/introspect', { access_token: exchanged.json().access_token });
    const unknown = await postJson('/__emulator/introspect', { access_token: 'nope' });
    const malformed = await postJson('/__emulator/introspect', {});

    // Assess
    expect(await known.json()).toEqual({
      sub: '123412341234',
      apiKey: API_KEY,
      expiresAt: expect.any(Number),
      idAssuranceLevel: 3,
      active: true,
    });
    expect(await unknown.json()).toEqual({ active: false });
    expect(malformed.status).toBe(400);
  });
});

describe('other paths', () => {
  it('answers 404 for unknown paths and 405 with Allow for wrong methods', async () => {
    // Act
    const unknown = await fetch(`${emulator.baseUrl}/oauth2/authorize`);
    const wrongMethod = await fetch(`${emulator.baseUrl}/cis2/id-token`);

    // Assess
    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});
