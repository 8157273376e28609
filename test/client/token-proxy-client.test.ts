/**
 * The caller's client over HTTP against the local server with SigV4 checked (lambda/proxy/local-sigv4.ts,
 * an implementation independent of the client's signer): it gets a token, is refused when its
 * signature is wrong, maps every proxy error code and API Gateway's own answers, waits out
 * Retry-After on 429/503 within its bound, and never logs or prints a token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { regionOfApiUrl, TokenProxyClient, TokenProxyError } from '../../client/index.js';
import { startEmulator } from '../../emulator/index.js';
import { ManualClock, systemClock } from '../../lambda/platform/clock.js';
import { ERROR_STATUS, ProxyError, type ProxyErrorCode } from '../../lambda/proxy/errors.js';
import { createHandler } from '../../lambda/proxy/handler.js';
import { type LocalServer, serveLocally } from '../../lambda/proxy/local-server.js';
import { LOCAL_SIGV4_DEFAULTS, localSigV4FromEnv } from '../../lambda/proxy/local-sigv4.js';
import { memoryTelemetry } from '../../lambda/proxy/telemetry.js';
import { type Harness, startHarness } from '../helpers/proxy-harness.js';
import { startVariant, type VariantOptions } from '../helpers/proxy-variant.js';

const sigv4 = localSigV4FromEnv({ LOCAL_SIGV4: '1' })!;
const testCredentials = {
  accessKeyId: LOCAL_SIGV4_DEFAULTS.accessKeyId,
  secretAccessKey: LOCAL_SIGV4_DEFAULTS.secretAccessKey,
};

/** The proxies' and the emulator's clock in the SigV4 tests: a client's wait moves it, as real waiting would. */
const clock = new ManualClock();

/** A client of `url` signing with the local test credential, recording its waits and passing them on the clock. */
function clientOf(url: string, overrides: Partial<ConstructorParameters<typeof TokenProxyClient>[0]> = {}) {
  const waits: number[] = [];
  const client = new TokenProxyClient({
    url,
    region: LOCAL_SIGV4_DEFAULTS.region,
    credentials: testCredentials,
    sleep: async (ms) => {
      waits.push(ms);
      clock.advance(ms);
    },
    ...overrides,
  });
  return { client, waits };
}

async function rejection(promise: Promise<unknown>): Promise<TokenProxyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenProxyError);
  return error as TokenProxyError;
}

describe('TokenProxyClient against the proxy with SigV4 checked', () => {
  let harness: Harness;
  let signedServer: LocalServer;
  const variants: LocalServer[] = [];
  // One proxy attempt per call: what NHS or the proxy refuses comes straight back to the client.
  const proxyClient = {
    retry: { maxAttempts: 1, baseBackoffMs: 1, maxBackoffMs: 1, attemptTimeoutMs: 2_000, deadlineMs: 4_000 },
  };
  const nhsCalls = () => harness.emulator.records().length;

  /** Another deployment of the proxy on the same emulator, key and clock, with SigV4 checked. */
  async function signedVariant(options: Omit<VariantOptions, 'client' | 'server'>): Promise<string> {
    const { server } = await startVariant(harness, {
      ...options,
      overrides: { clock, ...options.overrides },
      client: proxyClient,
      server: { sigv4 },
    });
    variants.push(server);
    return server.url;
  }

  beforeAll(async () => {
    harness = await startHarness({
      env: { CACHE: 'off' },
      emulator: { clock },
      overrides: { clock },
      client: proxyClient,
    });
    signedServer = await serveLocally(harness.app.handler, 0, '127.0.0.1', { sigv4 });
  });
  afterAll(async () => {
    await Promise.all([signedServer, ...variants].map((server) => server?.close()));
    await harness?.close();
  });

  it('gets an access token and its expiry, sending the correlation id', async () => {
    // Prepare
    const { client } = clientOf(signedServer.url);
    const idToken = await harness.idToken();

    // Act
    const grant = await client.getToken(idToken, { correlationId: 'client-corr-1' });

    // Assess
    expect(harness.emulator.introspect(grant.accessToken)).toMatchObject({ active: true });
    expect(grant.expiresAt.getTime()).toBeGreaterThan(clock.now());
    expect(grant.correlationId).toBe('client-corr-1');
    expect(harness.telemetry.lines.some((line) => JSON.stringify(line).includes('client-corr-1'))).toBe(true);
  });

  it('is refused by the SigV4 check with a wrong secret or without the session token the credential has', async () => {
    // Prepare
    const wrongSecret = clientOf(signedServer.url, {
      credentials: { ...testCredentials, secretAccessKey: 'wrong' },
    });
    const tokenServer = await serveLocally(harness.app.handler, 0, '127.0.0.1', {
      sigv4: { ...sigv4, credential: { ...sigv4.credential, sessionToken: 'session-1' } },
    });
    const noToken = clientOf(tokenServer.url);
    const withToken = clientOf(tokenServer.url, {
      credentials: async () => ({ ...testCredentials, sessionToken: 'session-1' }),
    });
    const idToken = await harness.idToken();

    // Act
    const mismatch = await rejection(wrongSecret.client.getToken(idToken));
    const missing = await rejection(noToken.client.getToken(idToken));
    const accepted = await withToken.client.getToken(idToken);
    await tokenServer.close();

    // Assess
    expect([mismatch.error, mismatch.status]).toEqual(['access_denied', 403]);
    expect(mismatch.message).toMatch(/The request signature we calculated does not match/);
    expect(missing.error).toBe('access_denied');
    expect(accepted.accessToken).toEqual(expect.any(String));
  });

  it("waits out nhs_rate_limited's Retry-After (503) and then gets the token on a signed retry", async () => {
    // Prepare
    harness.emulator.injectFaults({ kind: 'rate-limit', retryAfterSeconds: 1 }, 1);
    const signed: (string | null)[] = [];
    const { client, waits } = clientOf(signedServer.url, {
      fetch: async (url, init) => {
        signed.push(new Headers(init?.headers).get('authorization'));
        return fetch(url, init);
      },
    });
    const before = nhsCalls();

    // Act
    const grant = await client.getToken(await harness.idToken());

    // Assess: NHS saw the 429 and the retry after its window, the proxy's breaker probe, nothing else.
    expect(waits).toEqual([1000]);
    expect(grant.accessToken).toEqual(expect.any(String));
    expect(signed).toEqual([
      expect.stringMatching(/^AWS4-HMAC-SHA256 /),
      expect.stringMatching(/^AWS4-HMAC-SHA256 /),
    ]);
    expect(nhsCalls() - before).toBe(2);
  });

  it("stops at its bound with nhs_rate_limited's Retry-After, correlation_id and message_id on the error; a longer bound waits out the breaker", async () => {
    // Prepare
    harness.emulator.injectFaults({ kind: 'rate-limit', retryAfterSeconds: 30 }, 1);
    const bounded = clientOf(signedServer.url, { maxRetryDelayMs: 5_000 });
    const patient = clientOf(signedServer.url, { maxRetryDelayMs: 30_000 });
    // Whatever happens below, the breaker's window has passed for the next test.
    onTestFinished(() => clock.advance(30_000));
    const before = nhsCalls();

    // Act
    const error = await rejection(
      bounded.client.getToken(await harness.idToken(), { correlationId: 'c-bound' }),
    );
    const grant = await patient.client.getToken(await harness.idToken());

    // Assess: the patient caller met the open breaker (no NHS call), waited its 30 s, then got the probe's token.
    expect(bounded.waits).toEqual([]);
    expect(error).toMatchObject({
      error: 'nhs_rate_limited',
      status: 503,
      retryAfterS: 30,
      correlation_id: 'c-bound',
    });
    expect(error.message_id).toEqual(expect.any(String));
    expect(patient.waits).toEqual([30_000]);
    expect(grant.accessToken).toEqual(expect.any(String));
    expect(nhsCalls() - before).toBe(2);
  });

  it("honours rate_limited's Retry-After (429): stops at its bound, waits it out when allowed to", async () => {
    // Prepare: a deployment whose NHS budget is one call a minute, spent by a first caller.
    const url = await signedVariant({ change: (c) => ({ ...c, budget: { ...c.budget, perMinute: 1 } }) });
    await clientOf(url).client.getToken(await harness.idToken());
    const bounded = clientOf(url);
    const patient = clientOf(url, { maxRetryDelayMs: 60_000 });
    const before = nhsCalls();

    // Act
    const error = await rejection(
      bounded.client.getToken(await harness.idToken(), { correlationId: 'c-429' }),
    );
    const grant = await patient.client.getToken(await harness.idToken());

    // Assess: the budget frees the call when the first leaves the rolling minute.
    expect(error).toMatchObject({
      error: 'rate_limited',
      status: 429,
      retryAfterS: 60,
      correlation_id: 'c-429',
    });
    expect(bounded.waits).toEqual([]);
    expect(patient.waits).toEqual([60_000]);
    expect(grant.accessToken).toEqual(expect.any(String));
    expect(nhsCalls() - before).toBe(1);
  });

  it("honours cis2_keys_unavailable's Retry-After (503): stops below it, waits it out within the default bound", async () => {
    // Prepare: a deployment that cannot reach the CIS2 issuer for the next 5 s of the clock.
    const reachableAt = clock.now() + 5_000;
    const url = await signedVariant({
      overrides: {
        cis2Fetch: async (input, init) => {
          if (clock.now() < reachableAt) throw new TypeError('fetch failed');
          return fetch(input, init);
        },
      },
    });
    const hasty = clientOf(url, { maxRetryDelayMs: 1_000 });
    const { client, waits } = clientOf(url);
    const before = nhsCalls();

    // Act
    const error = await rejection(
      hasty.client.getToken(await harness.idToken(), { correlationId: 'c-cis2' }),
    );
    const grant = await client.getToken(await harness.idToken());

    // Assess
    expect(error).toMatchObject({
      error: 'cis2_keys_unavailable',
      status: 503,
      retryAfterS: 5,
      correlation_id: 'c-cis2',
    });
    expect(hasty.waits).toEqual([]);
    expect(waits).toEqual([5_000]);
    expect(grant.accessToken).toEqual(expect.any(String));
    expect(nhsCalls() - before).toBe(1);
  });

  it('never logs, prints or serialises a token', async () => {
    // Prepare
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((name) =>
      vi.spyOn(console, name).mockImplementation(() => {}),
    );
    const { client } = clientOf(signedServer.url);
    const idToken = await harness.idToken();

    // Act
    const grant = await client.getToken(idToken);
    const refused = await rejection(
      clientOf(signedServer.url, {
        credentials: { ...testCredentials, secretAccessKey: 'x' },
      }).client.getToken(idToken),
    );
    const shown = [
      JSON.stringify(grant),
      inspect(grant),
      String(grant),
      JSON.stringify(refused),
      inspect(refused),
      refused.message,
    ];
    for (const spy of spies) spy.mockRestore();

    // Assess
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    for (const text of shown) {
      expect(text).not.toContain(grant.accessToken);
      expect(text).not.toContain(idToken);
    }
    expect(JSON.stringify(grant)).toContain('[redacted]');
  });
});

describe('TokenProxyClient error mapping', () => {
  let server: LocalServer;
  let failWith: () => unknown = () => undefined;
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
      jwks: async () => [],
      telemetry: memoryTelemetry(),
      clock: systemClock,
    });
    server = await serveLocally(handler, 0, '127.0.0.1', { sigv4 });
  });
  afterAll(async () => server?.close());

  // Codes the token service can raise; the others are the handler's own request checks, below.
  const serviceCodes = Object.keys(ERROR_STATUS).filter(
    (code) =>
      !['not_found', 'method_not_allowed', 'payload_too_large', 'unsupported_media_type'].includes(code),
  ) as ProxyErrorCode[];

  it.each(serviceCodes)('maps %s with its status, correlation_id and message_id', async (code) => {
    // Prepare
    const upstream = { status: 400, error: 'invalid_request', error_description: 'said NHS' };
    failWith = () => new ProxyError(code, `failed with ${code}`, { messageId: `mid-${code}`, upstream });
    const { client } = clientOf(server.url, { maxAttempts: 1 });

    // Act
    const error = await rejection(client.getToken(idToken, { correlationId: `corr-${code}` }));

    // Assess
    expect(error).toMatchObject({
      error: code,
      status: ERROR_STATUS[code],
      correlation_id: `corr-${code}`,
      message_id: `mid-${code}`,
      upstream,
      message: `failed with ${code}`,
    });
  });

  it('maps a request check the handler makes itself: a correlation id it cannot use', async () => {
    // Prepare
    const { client } = clientOf(server.url);

    // Act
    const error = await rejection(client.getToken(idToken, { correlationId: 'has space' }));

    // Assess
    expect([error.error, error.status]).toEqual(['invalid_request', 400]);
  });

  it('retries a 503 without Retry-After with growing backoff, up to maxAttempts', async () => {
    // Prepare
    failWith = () => new ProxyError('signer_unavailable', 'KMS is throttling');
    const { client, waits } = clientOf(server.url, { maxAttempts: 3 });

    // Act
    const error = await rejection(client.getToken(idToken));

    // Assess
    expect(error.error).toBe('signer_unavailable');
    expect(waits).toEqual([500, 1000]);
  });

  it('does not retry what retrying cannot fix (a 502 the proxy already retried, a 4xx)', async () => {
    // Prepare
    failWith = () => new ProxyError('nhs_unavailable', 'NHS failed');
    const { client, waits } = clientOf(server.url, { maxAttempts: 3 });

    // Act
    await rejection(client.getToken(idToken));

    // Assess
    expect(waits).toEqual([]);
  });
});

describe("TokenProxyClient and API Gateway's own answers", () => {
  let gateway: Server;
  let url: string;
  const answers: { status: number; body: string; headers?: Record<string, string> }[] = [];
  const paths: string[] = [];

  beforeAll(async () => {
    gateway = createServer((req, res) => {
      req.resume();
      paths.push(req.url ?? '');
      const next = answers.shift() ?? { status: 500, body: '' };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(next.body);
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => gateway.close(() => resolve())));

  it.each([
    [403, '{"message":"Missing Authentication Token"}', 'access_denied'],
    [504, '{"message":"Endpoint request timed out"}', 'gateway_error'],
    [502, '<html>bad gateway</html>', 'unexpected_response'],
    [200, '{"access_token":5}', 'unexpected_response'],
  ] as const)('maps %i %s to %s, with the API Gateway request id', async (status, body, code) => {
    // Prepare
    answers.push({ status, body, headers: { 'x-amzn-requestid': 'apigw-req-1' } });
    const { client } = clientOf(url);

    // Act
    const error = await rejection(client.getToken('id.token.here'));

    // Assess
    expect([error.error, error.status]).toEqual([code, status]);
    if (code === 'access_denied' || code === 'gateway_error')
      expect(error.correlation_id).toBe('apigw-req-1');
    expect(error.message).not.toContain('html');
  });

  it("keeps only the first line of API Gateway's signature-mismatch message, which quotes the session token", async () => {
    // Prepare: the shape of API Gateway's 403 (aws/aws-sdk-js#2372), with a session token in it
    const message =
      'The request signature we calculated does not match the signature you provided.\n\n' +
      "The Canonical String for this request should have been\n'POST\n/v1/token\n\n" +
      "x-amz-security-token:FwoGZXIvYXdzEXAMPLESESSIONTOKEN\n'";
    answers.push({ status: 403, body: JSON.stringify({ message }) });
    const { client } = clientOf(url);

    // Act
    const error = await rejection(client.getToken('id.token.here'));

    // Assess
    expect(error.error).toBe('access_denied');
    expect(error.message).toContain('does not match the signature');
    expect(`${error.message} ${String(error)} ${JSON.stringify(error)}`).not.toContain('EXAMPLESESSIONTOKEN');
  });

  it('reads at most 64 KiB of an answer, whatever is sent', async () => {
    // Prepare
    answers.push({ status: 502, body: 'x'.repeat(1024 * 1024) });
    const { client } = clientOf(url);

    // Act
    const error = await rejection(client.getToken('id.token.here'));

    // Assess
    expect(error.error).toBe('network_error');
    expect(error.message).toContain('over 65536 bytes');
  });

  it('retries a stage-throttled 429 and then gets the token', async () => {
    // Prepare
    answers.push({ status: 429, body: '{"message":"Too Many Requests"}' });
    answers.push({
      status: 200,
      body: JSON.stringify({
        access_token: 'tok',
        token_type: 'Bearer',
        expires_in: 60,
        expires_at: 2_000_000_000,
      }),
    });
    const { client, waits } = clientOf(url);

    // Act
    const grant = await client.getToken('id.token.here');

    // Assess
    expect(waits).toEqual([500]);
    expect(grant.expiresAt.toISOString()).toBe('2033-05-18T03:33:20.000Z');
  });

  it('posts to /token under a stage URL, and to the stack output TokenUrl as it is', async () => {
    // Prepare
    const ok = { status: 200, body: JSON.stringify({ access_token: 't', expires_at: 2_000_000_000 }) };
    answers.push(ok, ok);
    paths.length = 0;

    // Act
    await clientOf(url).client.getToken('id.token.here');
    await clientOf(`${url}/token`).client.getToken('id.token.here');

    // Assess
    expect(paths).toEqual(['/v1/token', '/v1/token']);
  });

  it('reports no answer as network_error', async () => {
    // Prepare
    const { client } = clientOf('http://127.0.0.1:9/v1');

    // Act
    const error = await rejection(client.getToken('id.token.here', { correlationId: 'c-net' }));

    // Assess
    expect(error).toMatchObject({ error: 'network_error', status: 0, correlation_id: 'c-net' });
  });
});

describe('TokenProxyClient configuration', () => {
  it.each([
    ['https://abc123.execute-api.eu-west-2.amazonaws.com/v1', 'eu-west-2'],
    ['https://abc123-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com/v1', 'us-east-1'],
    ['https://vpce-0123-abcd.execute-api.eu-west-1.vpce.amazonaws.com/v1', 'eu-west-1'],
    ['https://abc.execute-api.cn-north-1.amazonaws.com.cn/v1', 'cn-north-1'],
    ['http://127.0.0.1:3000', undefined],
    ['https://execute-api.example.com/eu-west-2', undefined],
  ])('reads the region of %s as %s', (url, region) => {
    expect(regionOfApiUrl(url)).toBe(region);
  });

  it('needs a region for a URL that names none', () => {
    expect(
      () => new TokenProxyClient({ url: 'http://127.0.0.1:3000', credentials: testCredentials }),
    ).toThrow(/region/);
  });
});
