/**
 * Fault injection: every fault kind, in-process and through the admin HTTP API, and how faults
 * are consumed and recorded.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type FaultSpec, MESSAGE_ID_PATTERN, startEmulator } from '../../emulator/index.js';
import { PLATFORM_ERRORS } from '../../lambda/platform/rules.js';
import {
  type AppKey,
  makeAppKey,
  postForm,
  signAssertion,
  tokenExchangeForm,
} from '../helpers/emulator-fixtures.js';

const API_KEY = 'faults-test-app';

let emulator: Emulator;
let key: AppKey;

beforeAll(async () => {
  key = await makeAppKey();
  emulator = await startEmulator({ apps: [{ apiKey: API_KEY, clientSecret: 's', jwks: key.jwks }] });
});

afterAll(() => emulator.close());

beforeEach(() => {
  emulator.clearFaults();
  emulator.clearRecords();
});

const validForm = async (jti?: string) =>
  tokenExchangeForm(
    await signAssertion({ key, apiKey: API_KEY, aud: emulator.tokenUrl, claims: jti ? { jti } : {} }),
    await emulator.idToken(),
  );

const exchange = async () => postForm(emulator.tokenUrl, await validForm());

describe('fault kinds', () => {
  it.each([500, 502, 503, 504] as const)('answers %i with a platform-style JSON error', async (status) => {
    // Prepare
    emulator.injectFaults({ kind: 'status', status });

    // Act
    const response = await exchange();

    // Assess
    expect(response.status).toBe(status);
    expect(response.json()).toEqual({
      error: 'unknown_error',
      error_description: PLATFORM_ERRORS.unknownError.error_description,
      message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
    });
  });

  it('throttles with 429, the platform rate-limit body and Retry-After', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'rate-limit', retryAfterSeconds: 7 });
    emulator.injectFaults({ kind: 'rate-limit' });

    // Act
    const withRetryAfter = await exchange();
    const without = await exchange();

    // Assess
    expect(withRetryAfter.status).toBe(429);
    expect(withRetryAfter.headers.get('retry-after')).toBe('7');
    expect(withRetryAfter.json()).toEqual({
      error: 'ratelimit_exceeded',
      error_description: 'The rate limit was exceeded',
      message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
    });
    expect(without.status).toBe(429);
    expect(without.headers.get('retry-after')).toBeNull();
  });

  it.each([
    [{ kind: 'html' } as const, 502],
    [{ kind: 'html', status: 503 } as const, 503],
  ])('serves an HTML error page for %j', async (fault, status) => {
    // Prepare
    emulator.injectFaults(fault);

    // Act
    const response = await exchange();

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('text/html');
    expect(response.text).toMatch(/^<html>/);
  });

  it('sends 200 with a JSON body cut in half', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'truncated' });

    // Act
    const response = await exchange();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.text).toMatch(/^\{"access_token":/);
    expect(() => response.json()).toThrow(SyntaxError);
  });

  it('sends 200 with a text/plain body that is not JSON', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'non-json' });

    // Act
    const response = await exchange();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(() => response.json()).toThrow(SyntaxError);
  });

  it('delays a response, then answers normally', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'delay', ms: 150 });
    const form = await validForm();
    const started = performance.now();

    // Act
    const response = await postForm(emulator.tokenUrl, form);

    // Assess
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(response.status).toBe(200);
    expect(emulator.records().at(-1)).toMatchObject({ status: 200, fault: 'delay' });
  });

  it('drops the connection without a response', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'drop' });

    // Act
    const outcome = exchange();

    // Assess
    await expect(outcome).rejects.toThrow(TypeError);
    expect(emulator.records().at(-1)).toMatchObject({ status: 0, fault: 'drop' });
  });
});

/** POSTs a valid exchange and reads the raw body stream with a reader the test controls. */
async function openExchange(): Promise<Response> {
  const form = await validForm();
  return fetch(emulator.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

describe('body faults', () => {
  it('streams an oversized 200 application/json body of exactly the bytes asked for', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'oversized', bytes: 3 * 64 * 1024 + 5 });

    // Act
    const response = await openExchange();
    const body = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('content-length')).toBe(String(3 * 64 * 1024 + 5));
    expect(body.length).toBe(3 * 64 * 1024 + 5);
    expect(body.subarray(0, 17).toString()).toBe('{"access_token":"');
  });

  it('drips one byte per interval after the headers, and never finishes', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'drip', intervalMs: 20 });
    const controller = new AbortController();

    // Act
    const response = await fetch(emulator.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(await validForm()).toString(),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let bytes = 0;
    const started = performance.now();
    while (performance.now() - started < 300) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
    }
    controller.abort();

    // Assess: headers at once, then a trickle (about 15 bytes in 300 ms), still open.
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(bytes).toBeGreaterThanOrEqual(5);
    expect(bytes).toBeLessThan(40);
  });

  it.each([
    [{ kind: 'oversized' }],
    [{ kind: 'oversized', bytes: -1 }],
    [{ kind: 'drip', intervalMs: 0 }],
    [{ kind: 'drip' }],
  ])('refuses %j', (fault) => {
    expect(() => emulator.injectFaults(fault as FaultSpec)).toThrow(FaultSpecErrorPattern);
  });
});

const FaultSpecErrorPattern = /oversized fault needs bytes|drip fault needs intervalMs/;

describe('fault queue', () => {
  it('faults the next count requests, then answers normally', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'status', status: 503 }, 2);

    // Act
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await exchange()).status);

    // Assess
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('answers a fault before the platform checks, so the assertion is not consumed', async () => {
    // Prepare
    const form = await validForm();
    emulator.injectFaults({ kind: 'status', status: 502 });

    // Act
    const faulted = await postForm(emulator.tokenUrl, form);
    const retried = await postForm(emulator.tokenUrl, form);

    // Assess
    expect(faulted.status).toBe(502);
    expect(retried.status).toBe(200);
  });

  it('forgets queued faults on clearFaults', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'status', status: 500 }, 5);

    // Act
    emulator.clearFaults();
    const response = await exchange();

    // Assess
    expect(response.status).toBe(200);
  });

  it.each<[string, unknown, number?]>([
    ['an unknown kind', { kind: 'explode' }],
    ['a status fault with a non-gateway status', { kind: 'status', status: 418 }],
    ['a negative delay', { kind: 'delay', ms: -1 }],
    ['a zero count', { kind: 'drop' }, 0],
  ])('refuses %s', (_, fault, count) => {
    // Act
    const inject = () => emulator.injectFaults(fault as FaultSpec, count);

    // Assess
    expect(inject).toThrow(/fault|count/);
  });
});

describe('admin HTTP API', () => {
  const admin = (path: string, method: string, body?: unknown) =>
    fetch(`${emulator.baseUrl}/__emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('schedules faults with POST /__emulator/faults and cancels them with DELETE', async () => {
    // Act
    const scheduled = await admin('/faults', 'POST', { fault: { kind: 'status', status: 504 }, count: 3 });
    const first = await exchange();
    const cleared = await admin('/faults', 'DELETE');
    const second = await exchange();

    // Assess
    expect(scheduled.status).toBe(204);
    expect(first.status).toBe(504);
    expect(cleared.status).toBe(204);
    expect(second.status).toBe(200);
  });

  it.each([
    ['an invalid fault', { fault: { kind: 'status', status: 200 } }],
    ['a non-numeric count', { fault: { kind: 'drop' }, count: '2' }],
    ['no fault', {}],
  ])('answers 400 to %s', async (_, body) => {
    // Act
    const response = await admin('/faults', 'POST', body);

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('answers 400 to a body that is not JSON', async () => {
    // Act
    const response = await fetch(`${emulator.baseUrl}/__emulator/faults`, { method: 'POST', body: '{fault' });

    // Assess
    expect(response.status).toBe(400);
  });
});
