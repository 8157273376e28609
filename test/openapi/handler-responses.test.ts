/**
 * The OpenAPI document (openapi/cis2-token-proxy.json) against real responses: every error code of
 * ERROR_STATUS is produced by the handler over HTTP and must validate (status, headers, media type,
 * body). Codes the emulator can cause are produced end to end (request validation, local ID token
 * verification, NHS refusals and faults, the throttling breaker, the NHS budget, an unreachable
 * CIS2 issuer), on proxies sharing the emulator's injected clock so that a breaker or budget window
 * passes when a test says so and never leaks into the next; the dependency failures (KMS, Secrets
 * Manager, configuration) are thrown into the real handler by a token service built to fail, with
 * the options the real modules attach.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../emulator/index.js';
import { ManualClock, systemClock } from '../../lambda/platform/clock.js';
import type { RuntimeConfig } from '../../lambda/proxy/config.js';
import { ERROR_STATUS, ProxyError, type ProxyErrorCode } from '../../lambda/proxy/errors.js';
import { createHandler } from '../../lambda/proxy/handler.js';
import { type LocalServer, serveLocally } from '../../lambda/proxy/local-server.js';
import { memoryTelemetry } from '../../lambda/proxy/telemetry.js';
import {
  contractViolations,
  documentedCodes,
  openapi,
  responseViolations,
  schemaAt,
} from '../../openapi/contract.js';
import { makeAppKey } from '../helpers/emulator-fixtures.js';
import {
  HARNESS_API_KEY,
  HARNESS_CLIENT_SECRET,
  type Harness,
  startHarness,
} from '../helpers/proxy-harness.js';
import { startVariant } from '../helpers/proxy-variant.js';

/** One HTTP exchange, kept raw so the contract sees exactly what a caller sees. */
interface Observed {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

const observed: Observed[] = [];

async function call(
  baseUrl: string,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<Observed> {
  const response = await fetch(`${baseUrl}${path}`, { method, body: init.body, headers: init.headers });
  const result = {
    method,
    path,
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
  observed.push(result);
  return result;
}

function codeOf(result: Observed): string | undefined {
  return (JSON.parse(result.body) as { error?: string }).error;
}

function expectConforms(result: Observed): void {
  expect(contractViolations(result.method, result.path, result), `${result.method} ${result.path}`).toEqual(
    [],
  );
}

const json = { 'content-type': 'application/json' };

describe('handler responses against the OpenAPI document, end to end', () => {
  let harness: Harness;
  /** Shared by the emulator and every proxy below: a breaker's or budget's window passes when told to. */
  const clock = new ManualClock();
  /** One NHS attempt per request (and CACHE=off below: every request reaches NHS), so a fault is not retried away. */
  const clientOptions = {
    retry: { maxAttempts: 1, baseBackoffMs: 1, maxBackoffMs: 1, attemptTimeoutMs: 400, deadlineMs: 1_500 },
  };
  const variants: LocalServer[] = [];
  const post = (body: unknown, headers: Record<string, string> = json, url = harness.server.url) =>
    call(url, 'POST', '/token', {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers,
    });
  /** NHS token requests so far (faulted ones included). */
  const nhsCalls = () => harness.emulator.records().length;

  /** A proxy on the same emulator, KMS key and clock, as a deployment with other settings answers. */
  async function variant(change: (config: RuntimeConfig) => RuntimeConfig): Promise<string> {
    const { server } = await startVariant(harness, { change, overrides: { clock }, client: clientOptions });
    variants.push(server);
    return server.url;
  }

  beforeAll(async () => {
    harness = await startHarness({
      env: { CACHE: 'off' },
      emulator: { clock },
      overrides: { clock },
      client: clientOptions,
    });
  });
  afterAll(async () => {
    await Promise.all(variants.map((server) => server.close()));
    await harness?.close();
  });

  it('documents the successful answers of POST /token, GET /health and GET /jwks.json', async () => {
    // Act
    const token = await post(
      { subject_token: await harness.idToken() },
      { ...json, 'x-correlation-id': 'c-1' },
    );
    const health = await call(harness.server.url, 'GET', '/health');
    const jwks = await call(harness.server.url, 'GET', '/jwks.json');

    // Assess
    expect([token.status, health.status, jwks.status]).toEqual([200, 200, 200]);
    expect(token.headers.get('x-correlation-id')).toBe('c-1');
    for (const result of [token, health, jwks]) expectConforms(result);
  });

  it.each([
    ['invalid_request', 'not JSON', () => '{"subject_token":'],
    [
      'invalid_request',
      'a bad X-Correlation-ID',
      () => ({ subject_token: 'x' }),
      { 'x-correlation-id': 'has space' },
    ],
    ['unsupported_media_type', 'a form body', () => 'subject_token=x', { 'content-type': 'text/plain' }],
    ['payload_too_large', 'a 40 KiB body', () => ({ subject_token: 'x'.repeat(40 * 1024) })],
    ['invalid_subject_token', 'a token that is not a JWT', () => ({ subject_token: 'not-a-jwt' })],
  ] as [ProxyErrorCode, string, () => unknown, Record<string, string>?][])(
    '%s for %s',
    async (code, _what, body, headers = {}) => {
      // Act
      const result = await post(body(), { ...json, ...headers });

      // Assess
      expect(codeOf(result)).toBe(code);
      expectConforms(result);
    },
  );

  it('subject_token_expired for an ID token past its exp', async () => {
    // Prepare
    const expired = await harness.idToken({ exp: Math.floor(clock.now() / 1000) - 60 });

    // Act
    const result = await post({ subject_token: expired });

    // Assess
    expect([result.status, codeOf(result)]).toEqual([401, 'subject_token_expired']);
    expectConforms(result);
  });

  it('subject_token_unverified, refused before NHS, for an unknown CIS2 kid and for a forged signature', async () => {
    // Prepare
    const unknownKid = await harness.idToken({ header: { kid: 'not-cis2' } });
    const [h, p, s] = (await harness.idToken()).split('.') as [string, string, string];
    const forged = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const before = nhsCalls();

    // Act
    const results = [await post({ subject_token: unknownKid }), await post({ subject_token: forged })];

    // Assess
    expect(results.map((r) => [r.status, codeOf(r)])).toEqual([
      [401, 'subject_token_unverified'],
      [401, 'subject_token_unverified'],
    ]);
    expect(nhsCalls()).toBe(before);
    for (const result of results) expectConforms(result);
  });

  it('subject_token_rejected as NHS answered: 403 for AAL1; 401 for an unknown CIS2 kid with VERIFY_ID_TOKENS=false', async () => {
    // Prepare: without local verification an unknown kid reaches NHS, which refuses it itself.
    const unverifying = await variant((config) => ({ ...config, verifyIdTokens: false }));
    const before = nhsCalls();

    // Act
    const aal1 = await post({ subject_token: await harness.idToken({ authentication_assurance_level: 1 }) });
    const unknownKid = await post(
      { subject_token: await harness.idToken({ header: { kid: 'not-cis2' } }) },
      json,
      unverifying,
    );

    // Assess
    expect([aal1.status, codeOf(aal1)]).toEqual([403, 'subject_token_rejected']);
    expect([unknownKid.status, codeOf(unknownKid)]).toEqual([401, 'subject_token_rejected']);
    expect(nhsCalls() - before).toBe(2);
    for (const result of [aal1, unknownKid]) {
      expect(JSON.parse(result.body).message_id).toEqual(expect.any(String));
      expectConforms(result);
    }
  });

  it('cis2_keys_unavailable with Retry-After when the CIS2 issuer cannot be reached', async () => {
    // Prepare: a deployment whose CIS2 issuer is a loopback port nobody listens on.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadIssuer = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/cis2`;
    await new Promise((resolve) => dead.close(resolve));
    const url = await variant((config) => ({ ...config, cis2Issuer: deadIssuer, enforceIssuer: true }));
    const before = nhsCalls();

    // Act
    const result = await post({ subject_token: await harness.idToken({ iss: deadIssuer }) }, json, url);

    // Assess
    expect([result.status, codeOf(result)]).toEqual([503, 'cis2_keys_unavailable']);
    expect(result.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(nhsCalls()).toBe(before);
    expectConforms(result);
  });

  it('rate_limited with Retry-After once the NHS budget is spent, without calling NHS', async () => {
    // Prepare: a budget of one NHS call a minute, spent by a first request.
    const url = await variant((config) => ({ ...config, budget: { ...config.budget, perMinute: 1 } }));
    const first = await post({ subject_token: await harness.idToken() }, json, url);
    const before = nhsCalls();

    // Act
    const result = await post({ subject_token: await harness.idToken() }, json, url);

    // Assess: the call comes back when the first leaves the rolling minute (the clock has not moved).
    expect(first.status).toBe(200);
    expect([result.status, codeOf(result)]).toEqual([429, 'rate_limited']);
    expect(result.headers.get('retry-after')).toBe('60');
    expect(nhsCalls()).toBe(before);
    expectConforms(result);
  });

  it('client_rejected with message_id and findings when NHS holds another public key', async () => {
    // Prepare: NHS now has someone else's key for our app.
    harness.emulator.registerApp({
      apiKey: HARNESS_API_KEY,
      clientSecret: HARNESS_CLIENT_SECRET,
      jwks: (await makeAppKey()).jwks,
    });

    // Act
    const result = await post({ subject_token: await harness.idToken() });
    harness.emulator.registerApp({
      apiKey: HARNESS_API_KEY,
      clientSecret: HARNESS_CLIENT_SECRET,
      jwksUrl: `${harness.server.url}/jwks.json`,
    });

    // Assess
    expect([result.status, codeOf(result)]).toEqual([500, 'client_rejected']);
    expect(JSON.parse(result.body).message_id).toEqual(expect.any(String));
    expectConforms(result);
  });

  it.each([
    ['nhs_unavailable', { kind: 'status', status: 503 }],
    ['nhs_bad_response', { kind: 'truncated' }],
    ['nhs_timeout', { kind: 'delay', ms: 700 }],
  ] as const)('%s when NHS fails with %j', async (code, fault) => {
    // Prepare
    harness.emulator.injectFaults(fault, 1);

    // Act
    const result = await post({ subject_token: await harness.idToken() });

    // Assess
    expect(codeOf(result)).toBe(code);
    expectConforms(result);
  });

  it("nhs_rate_limited with Retry-After: NHS's 429, then the breaker failing fast until the window passes", async () => {
    // Prepare
    harness.emulator.injectFaults({ kind: 'rate-limit', retryAfterSeconds: 7 }, 1);
    const before = nhsCalls();

    // Act
    const throttled = await post({ subject_token: await harness.idToken() });
    const shed = await post({ subject_token: await harness.idToken() });
    const callsWhileOpen = nhsCalls() - before;
    clock.advance(7_000);
    // The probe after the window closes the breaker, so no later test meets it.
    const probe = await post({ subject_token: await harness.idToken() });

    // Assess
    expect([throttled, shed].map((r) => [r.status, codeOf(r), r.headers.get('retry-after')])).toEqual([
      [503, 'nhs_rate_limited', '7'],
      [503, 'nhs_rate_limited', '7'],
    ]);
    expect(callsWhileOpen).toBe(1);
    expect(probe.status).toBe(200);
    for (const result of [throttled, shed, probe]) expectConforms(result);
  });

  it.each([
    ['not_found', 'GET', '/tokens'],
    ['method_not_allowed', 'GET', '/token'],
    ['method_not_allowed', 'POST', '/health'],
    ['method_not_allowed', 'DELETE', '/jwks.json'],
  ] as const)('%s for %s %s', async (code, method, path) => {
    // Act
    const result = await call(harness.server.url, method, path, { headers: { 'x-correlation-id': 'r-1' } });

    // Assess: no operation can list these (GET /token does not exist), so the shared responses apply.
    expect(codeOf(result)).toBe(code);
    expect(responseViolations(code === 'not_found' ? 'NotFound' : 'MethodNotAllowed', result)).toEqual([]);
    expect(result.headers.get('x-correlation-id')).toBe('r-1');
  });
});

describe('handler responses against the OpenAPI document, dependency failures', () => {
  let server: LocalServer;
  let failWith: () => unknown;
  let jwksFailure: ProxyError | undefined;
  let idToken: string;

  beforeAll(async () => {
    const emulator = await startEmulator();
    idToken = await emulator.idToken();
    const issuer = emulator.cis2Issuer;
    await emulator.close();
    const handler = createHandler({
      environment: 'local',
      cis2Issuer: issuer,
      enforceIssuer: true,
      tokens: {
        getToken: async () => {
          throw failWith();
        },
      },
      jwks: async () => {
        if (jwksFailure) throw jwksFailure;
        return [];
      },
      telemetry: memoryTelemetry(),
      clock: systemClock,
    });
    server = await serveLocally(handler);
  });
  afterAll(async () => server?.close());

  const upstream = { status: 400, error: 'invalid_grant', error_description: 'refresh token has expired' };
  it.each([
    [
      'refresh_rejected',
      () => new ProxyError('refresh_rejected', 'NHS refused the refresh', { messageId: 'rrt-1', upstream }),
    ],
    [
      'signer_unavailable',
      () => new ProxyError('signer_unavailable', 'KMS is throttling', { retryAfterS: 2 }),
    ],
    ['signer_misconfigured', () => new ProxyError('signer_misconfigured', 'KMS refused to sign')],
    ['secrets_unavailable', () => new ProxyError('secrets_unavailable', 'Secrets Manager timed out')],
    ['config_error', () => new ProxyError('config_error', 'the secret has no api_key')],
    ['internal_error', () => new TypeError('a bug')],
  ] as const)('%s', async (code, failure) => {
    // Prepare
    failWith = failure;

    // Act
    const result = await call(server.url, 'POST', '/token', {
      body: JSON.stringify({ subject_token: idToken }),
      headers: json,
    });

    // Assess
    expect(codeOf(result)).toBe(code);
    expectConforms(result);
  });

  it('a signer failure on GET /health', async () => {
    // Prepare
    jwksFailure = new ProxyError('signer_unavailable', 'KMS is unavailable');

    // Act
    const result = await call(server.url, 'GET', '/health');
    jwksFailure = undefined;

    // Assess
    expect([result.status, codeOf(result)]).toEqual([503, 'signer_unavailable']);
    expectConforms(result);
  });
});

describe('the OpenAPI document and lambda/proxy/errors.ts', () => {
  it('lists exactly the codes of ERROR_STATUS', () => {
    // Act
    const documented = (openapi.components as { schemas: { ErrorCode: { enum: string[] } } }).schemas
      .ErrorCode.enum;

    // Assess
    expect([...documented].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it.each(Object.entries(ERROR_STATUS))('documents %s under POST /token %i', (code, status) => {
    expect(documentedCodes('POST', '/token', status)).toContain(code);
  });

  it('saw every error code over HTTP in the tests above', () => {
    // Act
    const seen = new Set(observed.map(codeOf).filter(Boolean));

    // Assess
    expect([...seen].sort()).toEqual(Object.keys(ERROR_STATUS).sort() as ProxyErrorCode[]);
  });

  it('saw Retry-After on every rate_limited, nhs_rate_limited and cis2_keys_unavailable answer', () => {
    // Prepare: OpenAPI cannot make a header required for some codes of a status only.
    const throttled = observed.filter((r) =>
      ['rate_limited', 'nhs_rate_limited', 'cis2_keys_unavailable'].includes(codeOf(r) ?? ''),
    );

    // Assess
    expect(throttled.length).toBeGreaterThanOrEqual(3);
    for (const result of throttled) expect(result.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  });

  it('refuses what it should: a body with an undocumented field, a missing correlation header', () => {
    // Prepare
    const body = { error: 'nhs_timeout', error_description: 'late', correlation_id: 'c', token: 'leak' };

    // Act
    const extraField = contractViolations('POST', '/token', {
      status: 504,
      headers: { 'content-type': 'application/json', 'x-correlation-id': 'c' },
      body: JSON.stringify(body),
    });
    const noHeader = contractViolations('POST', '/token', {
      status: 502,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, token: undefined, error: 'nhs_unavailable' }),
    });

    // Assess
    expect(extraField.join()).toMatch(/body/);
    expect(noHeader).toEqual(['header X-Correlation-ID is required']);
    expect(schemaAt('/components/schemas/CorrelationId')('has space')).toBe(false);
  });
});
