/**
 * The handler over real HTTP on loopback against the NHS emulator, with KMS mocked to sign for
 * real: the data path end to end, retries, NHS rejections, dependency failures and the log line.
 */
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_ID_PATTERN } from '../../../emulator/index.js';
import { PLATFORM_ERRORS } from '../../../lambda/platform/rules.js';
import { type FakeKmsKey, rsaKey } from '../../helpers/kms.js';
import { registeredSecretCount } from '../../helpers/leak-guard.js';
import { HARNESS_API_KEY, HARNESS_KEY_ARN, type Harness, startHarness } from '../../helpers/proxy-harness.js';

const kmsKey: FakeKmsKey = { keyId: HARNESS_KEY_ARN, privateKey: rsaKey(4096) };

function lastLog(h: Harness) {
  const line = h.telemetry.lines.filter((l) => l.message === 'token_request').at(-1);
  if (!line) throw new Error('no token_request log line');
  return line;
}

describe('POST /token against the emulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ kmsKey, env: { CACHE: 'off' } });
  });
  afterAll(() => h.close());
  afterEach(() => {
    h.emulator.clearFaults();
    h.emulator.clearRecords();
    // A 429's window must not shed the next test's requests.
    h.app.tokenClient.breaker.reset();
  });

  it('exchanges a CIS2 ID token for an access token that belongs to the ID token subject', async () => {
    // Prepare
    const idToken = await h.idToken({ sub: '555000111222' });

    // Act
    const res = await h.postToken({ subject_token: idToken }, { 'X-Correlation-ID': 'corr-happy' });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      // Seconds left by our clock, rounded down: 599 from NHS, less any time spent since receipt.
      expires_in: expect.toSatisfy((s: number) => s === 598 || s === 599),
      expires_at: expect.any(Number),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    expect(res.headers.get('x-correlation-id')).toBe('corr-happy');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(h.emulator.introspect(res.body.access_token as string)).toMatchObject({
      sub: '555000111222',
      apiKey: HARNESS_API_KEY,
      active: true,
    });
    const [record] = h.emulator.records();
    expect(record).toMatchObject({
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      status: 200,
    });
    expect(lastLog(h).fields).toMatchObject({
      correlation_id: 'corr-happy',
      outcome: 'success',
      grant: 'token-exchange',
      kid: record?.kid,
      jti: record?.jti,
      attempts: 1,
      upstream_status: 200,
    });
  });

  it('signs in KMS with RS512 over the raw input and jose verifies the assertion against /jwks.json', async () => {
    // Prepare
    const idToken = await h.idToken();
    const jwks = (await (await fetch(`${h.server.url}/jwks.json`)).json()) as { keys: object[] };

    // Act
    const res = await h.postToken({ subject_token: idToken });

    // Assess
    expect(res.status).toBe(200);
    expect(h.kms).toHaveReceivedCommandWith(SignCommand, {
      KeyId: HARNESS_KEY_ARN,
      MessageType: 'RAW',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512',
    });
    expect(h.kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
    const assertion = h.assertions.at(-1) as string;
    const { payload, protectedHeader } = await jwtVerify(assertion, createLocalJWKSet(jwks as never), {
      algorithms: ['RS512'],
      audience: h.emulator.tokenUrl,
      issuer: HARNESS_API_KEY,
      subject: HARNESS_API_KEY,
      typ: 'JWT',
    });
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kid: protectedHeader.kid, alg: 'RS512', use: 'sig' }),
    ]);
    expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(300);
  });

  it('retries a 503 with a newly signed assertion and a fresh jti each time', async () => {
    // Prepare
    h.emulator.injectFaults({ kind: 'status', status: 503 }, 2);
    const idToken = await h.idToken();

    // Act
    const res = await h.postToken({ subject_token: idToken });

    // Assess
    expect(res.status).toBe(200);
    const records = h.emulator.records();
    expect(records.map((r) => r.status)).toEqual([503, 503, 200]);
    const jtis = records.map((r) => r.jti);
    expect(new Set(jtis).size).toBe(3);
    expect(lastLog(h).fields).toMatchObject({ attempts: 3, jtis, jti: jtis[2] });
  });

  it.each([
    ['dropped connections', { kind: 'drop' } as const],
    ['HTML error pages', { kind: 'html' } as const],
    ['truncated bodies', { kind: 'truncated' } as const],
  ])('recovers from %s by retrying with a fresh jti', async (_name, fault) => {
    h.emulator.injectFaults(fault, 1);
    const res = await h.postToken({ subject_token: await h.idToken() });
    expect(res.status).toBe(200);
    const jtis = h.emulator.records().map((r) => r.jti);
    expect(jtis).toHaveLength(2);
    expect(jtis[0]).not.toBe(jtis[1]);
  });

  it('gives up after the bounded attempts with a 502 carrying the last NHS message_id', async () => {
    // Prepare
    h.emulator.injectFaults({ kind: 'status', status: 500 }, 3);

    // Act
    const res = await h.postToken({ subject_token: await h.idToken() });

    // Assess
    const records = h.emulator.records();
    expect(records).toHaveLength(3);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: 'nhs_unavailable', message_id: records[2]?.messageId });
    expect(res.body.message_id).toMatch(MESSAGE_ID_PATTERN);
    expect(lastLog(h).fields).toMatchObject({
      message_id: records[2]?.messageId,
      outcome: 'failure',
      attempts: 3,
    });
  });

  it('does not retry a 429, and sheds the next request without signing until Retry-After passes', async () => {
    // Prepare
    h.emulator.injectFaults({ kind: 'rate-limit', retryAfterSeconds: 120 }, 3);
    const signsBefore = h.kms.commandCalls(SignCommand).length;

    // Act
    const res = await h.postToken({ subject_token: await h.idToken() });
    const next = await h.postToken({ subject_token: await h.idToken() });

    // Assess: one NHS call and one signature for both; the window is capped at the quota's minute.
    expect(h.emulator.records()).toHaveLength(1);
    expect(h.kms.commandCalls(SignCommand).length - signsBefore).toBe(1);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('nhs_rate_limited');
    expect(res.headers.get('retry-after')).toBe('60');
    expect(next.status).toBe(503);
    expect(next.body.error).toBe('nhs_rate_limited');
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(50);
  });

  it('passes an NHS refusal of the subject token to the caller without retrying', async () => {
    // Prepare: AAL1 is not enough for any e-RS product scope.
    const idToken = await h.idToken({ authentication_assurance_level: 1, acr: 'AAL1_USERPASS' });

    // Act
    const res = await h.postToken({ subject_token: idToken });

    // Assess
    expect(h.emulator.records()).toHaveLength(1);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      error: 'subject_token_rejected',
      upstream: PLATFORM_ERRORS.unauthorizedClient,
      message_id: h.emulator.records()[0]?.messageId,
    });
  });

  it.each([
    ['not JSON', 'subject_token=abc', 400, 'invalid_request'],
    ['no subject_token', { id_token: 'x' }, 400, 'invalid_request'],
    ['an opaque string', { subject_token: '9SrRLS-XxM65UGJRlXR_6lqf604' }, 400, 'invalid_subject_token'],
  ])('refuses %s before signing or calling NHS', async (_name, body, status, code) => {
    const signsBefore = h.kms.commandCalls(SignCommand).length;
    const res = await h.postToken(body);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error: code, correlation_id: expect.any(String) });
    expect(h.emulator.records()).toHaveLength(0);
    expect(h.kms.commandCalls(SignCommand)).toHaveLength(signsBefore);
  });

  it('refuses an expired ID token with 401 before signing or calling NHS', async () => {
    const idToken = await h.idToken({ exp: Math.floor(Date.now() / 1000) - 5 });
    const res = await h.postToken({ subject_token: idToken });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('subject_token_expired');
    expect(h.emulator.records()).toHaveLength(0);
  });

  it('serves the routes and refuses others with 404 and 405', async () => {
    const health = await fetch(`${h.server.url}/health`);
    const missing = await fetch(`${h.server.url}/nope`);
    const wrongMethod = await fetch(`${h.server.url}/jwks.json`, { method: 'DELETE' });
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ready', environment: 'local' });
    expect(missing.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });
});

describe('POST /token when NHS is too slow', () => {
  it('answers 504 nhs_timeout within the overall deadline, having tried each attempt with its own jti', async () => {
    // Prepare
    const h = await startHarness({
      client: {
        retry: { maxAttempts: 3, attemptTimeoutMs: 200, deadlineMs: 700, baseBackoffMs: 5, maxBackoffMs: 10 },
      },
    });
    try {
      h.emulator.injectFaults({ kind: 'delay', ms: 1_000 }, 10);
      const idToken = await h.idToken();

      // Act
      const started = performance.now();
      const res = await h.postToken({ subject_token: idToken });
      const elapsed = performance.now() - started;

      // Assess
      expect(res.status).toBe(504);
      expect(res.body.error).toBe('nhs_timeout');
      expect(elapsed).toBeLessThan(700 + 250);
      expect(lastLog(h).fields.attempts).toBe(3);
      expect(new Set(lastLog(h).fields.jtis as string[]).size).toBe(3);
    } finally {
      await h.close();
    }
  });
});

describe('POST /token when NHS rejects the client assertion', () => {
  it('answers 500 client_rejected once, with the NHS message_id in the body and the log line', async () => {
    // Prepare: NHS holds a different public key for our API key.
    const other = rsaKey();
    const { createPublicKey } = await import('node:crypto');
    const wrongJwk = {
      ...createPublicKey(other).export({ format: 'jwk' }),
      kid: 'local-not-our-key',
      alg: 'RS512',
    };
    const h = await startHarness({ registeredJwks: { keys: [wrongJwk] } });
    try {
      // Act
      const res = await h.postToken({ subject_token: await h.idToken() });

      // Assess
      const records = h.emulator.records();
      expect(records).toHaveLength(1);
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({
        error: 'client_rejected',
        message_id: records[0]?.messageId,
        upstream: PLATFORM_ERRORS.assertionKidUnknown,
      });
      expect(String(res.body.error_description)).toContain('JWKS registered with NHS');
      // Our assertion verifies against our own JWKS: what NHS holds for the app is what differs.
      // (The harness key is 2048-bit for speed, which the doctor rightly flags.)
      expect(res.body.findings).toEqual(['KEY_TOO_SMALL', 'SIGNATURE_VERIFIED']);
      expect(lastLog(h).fields).toMatchObject({
        message_id: records[0]?.messageId,
        upstream_error_description: PLATFORM_ERRORS.assertionKidUnknown.error_description,
        error_code: 'client_rejected',
        findings: ['KEY_TOO_SMALL', 'SIGNATURE_VERIFIED'],
      });
    } finally {
      await h.close();
    }
  });
});

describe('the leak guard', () => {
  it('is watching: secrets from these tests are registered', () => {
    expect(registeredSecretCount()).toBeGreaterThan(10);
  });
});

describe('token_request log line attribution', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ kmsKey, env: { CACHE: 'off' } });
  });
  afterAll(() => h.close());

  it("carries API Gateway's request id and the caller's IAM principal, never a token", async () => {
    // Prepare
    const idToken = await h.idToken();
    const principal = 'arn:aws:sts::111122223333:assumed-role/ers-backend/i-0abc';

    // Act
    const res = await h.app.handler({
      httpMethod: 'POST',
      path: '/token',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject_token: idToken }),
      isBase64Encoded: false,
      requestContext: { requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', identity: { userArn: principal } },
    });

    // Assess
    expect(res.statusCode).toBe(200);
    const line = lastLog(h);
    expect(line.fields).toMatchObject({
      request_id: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      caller: principal,
      nhs_calls: 1,
    });
    expect(JSON.stringify(line)).not.toContain(idToken);
    expect(JSON.stringify(line)).not.toContain(JSON.parse(res.body).access_token);
  });
});
