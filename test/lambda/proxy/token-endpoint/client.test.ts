/**
 * The token client's deadline and its reading of NHS refusals, on the cases the drills found
 * wanting (test/drill): an attempt cut short by the deadline, a hung signer or secret read, and
 * a forged ID token signature.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../../lambda/platform/clock.js';
import { isProxyError, type ProxyError } from '../../../../lambda/proxy/errors.js';
import { LocalKeySigner } from '../../../../lambda/proxy/signer/local.js';
import type { Signer } from '../../../../lambda/proxy/signer/signer.js';
import {
  type TokenClientOptions,
  TokenEndpointClient,
} from '../../../../lambda/proxy/token-endpoint/client.js';
import { newTrace } from '../../../../lambda/proxy/trace.js';
import { rsaKey } from '../../../helpers/kms.js';

const signer = new LocalKeySigner(rsaKey(), 'test');
const credentials = async () => ({ apiKey: 'api-key-0001', clientSecret: 'client-secret-0001' });
const never = <T>() => new Promise<T>(() => {});

function client(options: Partial<TokenClientOptions>): TokenEndpointClient {
  return new TokenEndpointClient({
    tokenUrl: 'https://int.api.service.nhs.uk/oauth2/token',
    signer,
    clock: systemClock,
    credentials,
    retry: { maxAttempts: 3, attemptTimeoutMs: 100, deadlineMs: 150, baseBackoffMs: 0, maxBackoffMs: 0 },
    ...options,
  });
}

/** A policy with room for every attempt: `attempts` tries of up to 1 s inside 5 s, no backoff. */
const roomy = (attempts: number) => ({
  maxAttempts: attempts,
  attemptTimeoutMs: 1_000,
  deadlineMs: 5_000,
  baseBackoffMs: 0,
  maxBackoffMs: 0,
});

/** A fetch that never answers, until its signal aborts it (as a black-holed connection). */
function hangingFetch(calls: { count: number }): typeof fetch {
  return (_url, init) => {
    calls.count += 1;
    return new Promise((_, reject) => {
      init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
    });
  };
}

async function failure(call: Promise<unknown>): Promise<ProxyError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isProxyError(err)) throw new Error(`expected a ProxyError, got ${String(err)}`);
  return err;
}

/**
 * A policy far too long to wait out for real (attempts of 10 min inside 15 min), for the deadline
 * tests: they pass only because the manual clock moves, so a deadline off the injected clock fails
 * them by their 5 s timeout. They stop a minute short of a deadline to see that nothing ended
 * early: the manual clock's monotonic line also runs with real time, which a minute dwarfs.
 */
const SLOW = {
  maxAttempts: 3,
  attemptTimeoutMs: 600_000,
  deadlineMs: 900_000,
  baseBackoffMs: 0,
  maxBackoffMs: 0,
};
const MINUTE = 60_000;

/** Lets pending work run until `ready()` holds (or fails the test after many turns). */
async function until(ready: () => boolean): Promise<void> {
  for (let turn = 0; !ready(); turn++) {
    if (turn > 10_000) throw new Error('never ready');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Settles with `call`, recording whether it has yet. */
function tracked<T>(call: Promise<T>): { settled: () => boolean; result: Promise<T> } {
  let done = false;
  const result = call.finally(() => {
    done = true;
  });
  result.catch(() => {});
  return { settled: () => done, result };
}

/**
 * Moves `clock` to a minute short of `ms` from now, notes whether `call` has settled, then moves it
 * on to `ms`. Returns whether it had settled early.
 */
async function settledAMinuteEarly(clock: ManualClock, call: { settled: () => boolean }, ms: number) {
  clock.advance(ms - MINUTE);
  await new Promise((resolve) => setImmediate(resolve));
  const early = call.settled();
  clock.advance(MINUTE);
  return early;
}

describe('TokenEndpointClient deadline', { timeout: 5_000 }, () => {
  it('still sends the attempt the deadline cuts short, and answers nhs_timeout', async () => {
    // Prepare
    const clock = new ManualClock();
    const calls = { count: 0 };
    const c = client({ clock, retry: SLOW, fetch: hangingFetch(calls) });
    const call = tracked(c.exchange('id-token', newTrace('corr')));

    // Act: the first attempt times out after 10 min, leaving 5 for a second, which times out too.
    await until(() => calls.count === 1);
    clock.advance(600_000);
    await until(() => calls.count === 2);
    const settledBeforeDeadline = await settledAMinuteEarly(clock, call, 300_000);
    const err = await failure(call.result);

    // Assess
    expect(settledBeforeDeadline).toBe(false);
    expect(calls.count).toBe(2);
    expect(err.code).toBe('nhs_timeout');
  });

  it('bounds a hung signer by the deadline: signer_unavailable, NHS never called', async () => {
    // Prepare
    const clock = new ManualClock();
    const calls = { count: 0 };
    const signing = { count: 0 };
    const hung: Signer = {
      keyId: () => signer.keyId(),
      publicJwk: () => signer.publicJwk(),
      sign: () => {
        signing.count += 1;
        return never();
      },
    };
    const c = client({ clock, retry: SLOW, signer: hung, fetch: hangingFetch(calls) });
    const call = tracked(c.exchange('id-token', newTrace('corr')));

    // Act
    await until(() => signing.count === 1);
    const settledBeforeDeadline = await settledAMinuteEarly(clock, call, 900_000);
    const err = await failure(call.result);

    // Assess
    expect(settledBeforeDeadline).toBe(false);
    expect(err.code).toBe('signer_unavailable');
    expect(err.status).toBe(503);
    expect(calls.count).toBe(0);
  });

  it.each([
    ['a token exchange', (c: TokenEndpointClient) => c.exchange('id-token', newTrace('corr'))],
    ['a refresh', (c: TokenEndpointClient) => c.refresh('refresh-token', newTrace('corr'))],
  ])('bounds a hung credentials read in %s: secrets_unavailable', async (_name, call) => {
    // Prepare
    const clock = new ManualClock();
    const calls = { count: 0 };
    const reads = { count: 0 };
    const hungCredentials = () => {
      reads.count += 1;
      return never<{ apiKey: string; clientSecret: string }>();
    };
    const pending = tracked(
      call(client({ clock, retry: SLOW, credentials: hungCredentials, fetch: hangingFetch(calls) })),
    );

    // Act
    await until(() => reads.count === 1);
    clock.advance(900_000);
    const err = await failure(pending.result);

    // Assess
    expect(err.code).toBe('secrets_unavailable');
    expect(calls.count).toBe(0);
  });
});

describe('TokenEndpointClient reading of a failed signature', () => {
  const signatureFailed: typeof fetch = async () =>
    new Response(
      JSON.stringify({
        error: 'public_key error',
        error_description: 'JWT signature verification failed',
        message_id: 'rrt-1-a-geu2-1-1-1',
      }),
      { status: 401, headers: { 'content-type': 'application/json' } },
    );

  it('blames the ID token on a token exchange: 401 subject_token_rejected, one attempt', async () => {
    // Prepare
    const trace = newTrace('corr');

    // Act
    const err = await failure(client({ fetch: signatureFailed }).exchange('id-token', trace));

    // Assess
    expect(err).toMatchObject({
      code: 'subject_token_rejected',
      status: 401,
      messageId: 'rrt-1-a-geu2-1-1-1',
    });
    expect(trace.attempts).toBe(1);
  });
});

/** A fetch answering each call with the next of `responses` (the last repeats), recording the forms sent. */
function scriptedFetch(responses: (() => Response)[], forms: URLSearchParams[]): typeof fetch {
  let i = 0;
  return async (_url, init) => {
    forms.push(new URLSearchParams(String(init?.body)));
    const next = responses[Math.min(i++, responses.length - 1)] as () => Response;
    return next();
  };
}

const tokenBody = () =>
  new Response(JSON.stringify({ access_token: 'at-0001', expires_in: '599', token_type: 'Bearer' }), {
    status: 200,
  });

describe('TokenEndpointClient retries', () => {
  it('does not retry a 429: one call, then fails fast without signing until Retry-After passes', async () => {
    // Prepare
    const clock = new ManualClock(1_000_000);
    const forms: URLSearchParams[] = [];
    const throttled = () => new Response('{}', { status: 429, headers: { 'retry-after': '2' } });
    const c = client({ clock, retry: roomy(3), fetch: scriptedFetch([throttled, tokenBody], forms) });
    const signsBefore = forms.length;

    // Act
    const first = await failure(c.exchange('id-token', newTrace('corr')));
    const shed = await failure(c.exchange('id-token', newTrace('corr')));
    clock.advance(2_000);
    const afterWindow = await c.exchange('id-token', newTrace('corr'));

    // Assess
    expect(first).toMatchObject({ code: 'nhs_rate_limited', status: 503, retryAfterS: 2 });
    expect(shed).toMatchObject({ code: 'nhs_rate_limited', retryAfterS: 2 });
    expect(afterWindow.accessToken).toBe('at-0001');
    expect(forms.length - signsBefore).toBe(2);
    expect(c.breaker.state).toBe('closed');
  });

  it("ends with NHS's last error, not rate_limited, when the budget refuses a retry", async () => {
    // Prepare: NHS answers 503; the budget allows the first call only
    const forms: URLSearchParams[] = [];
    const unavailable = () =>
      new Response(JSON.stringify({ error: 'server_error', message_id: 'rrt-1' }), { status: 503 });
    let calls = 0;
    const budget = {
      take: async () =>
        calls++ === 0
          ? ({ allowed: true } as const)
          : ({ allowed: false, reason: 'budget', retryAfterMs: 30_000 } as const),
    };
    const c = client({ retry: roomy(3), budget, fetch: scriptedFetch([unavailable], forms) });

    // Act
    const error = await failure(c.exchange('id-token', newTrace('corr')));

    // Assess: an NHS outage under load still counts as NHS's failure
    expect(error).toMatchObject({ code: 'nhs_unavailable', messageId: 'rrt-1' });
    expect(forms).toHaveLength(1);
  });

  it('scrubs an echo of what we sent from message_id as from the other strings', async () => {
    // Prepare: an intermediary echoing our form in every field
    const forms: URLSearchParams[] = [];
    const echo = (init?: RequestInit) => String(init?.body);
    const c = client({
      retry: roomy(1),
      fetch: async (_url, init) => {
        forms.push(new URLSearchParams(String(init?.body)));
        const sent = echo(init);
        return new Response(JSON.stringify({ error: sent, error_description: sent, message_id: sent }), {
          status: 400,
        });
      },
    });

    // Act
    const error = await failure(c.exchange('id.token.sent-to-nhs', newTrace('corr')));

    // Assess
    const assertion = forms[0]?.get('client_assertion') as string;
    expect(JSON.stringify(error)).not.toContain(assertion.slice(-40));
    expect(String(error.messageId)).not.toContain(assertion.slice(0, 40));
    expect(String(error.messageId)).toContain('[redacted]');
  });

  it('refuses to follow redirects, so no credential is re-posted elsewhere', async () => {
    // Prepare: Node's fetch honours redirect: 'error' by rejecting; check we ask for it.
    const modes: RequestInit['redirect'][] = [];
    const c = client({
      fetch: async (_url, init) => {
        modes.push(init?.redirect);
        return tokenBody();
      },
    });

    // Act
    await c.refresh('refresh-token-0001', newTrace('corr'));

    // Assess
    expect(modes).toEqual(['error']);
  });

  it('shares one deadline between the calls of one request (a refused refresh, then an exchange)', async () => {
    // Prepare
    const trace = newTrace('corr');
    const forms: URLSearchParams[] = [];
    const c = client({
      retry: roomy(1),
      fetch: scriptedFetch([tokenBody], forms),
    });

    // Act
    await c.refresh('refresh-token-0001', trace);
    const deadlineAfterRefresh = trace.deadlineAt;
    await c.exchange('id-token', trace);

    // Assess
    expect(deadlineAfterRefresh).toBeDefined();
    expect(trace.deadlineAt).toBe(deadlineAfterRefresh);
    expect(trace.grants).toEqual(['refresh_token', 'token-exchange']);
  });
});

describe('TokenEndpointClient reading NHS errors', () => {
  it('keeps the last NHS message_id when the final answer carried none (a truncated 200)', async () => {
    // Prepare
    const forms: URLSearchParams[] = [];
    const c = client({
      retry: roomy(2),
      fetch: scriptedFetch(
        [
          () =>
            new Response(JSON.stringify({ error: 'x', message_id: 'rrt-1-a-geu2-1-1-1' }), { status: 503 }),
          () => new Response('{"access_token": "at-', { status: 200 }),
        ],
        forms,
      ),
    });

    // Act
    const err = await failure(c.exchange('id-token', newTrace('corr')));

    // Assess
    expect(err.code).toBe('nhs_bad_response');
    expect(err.messageId).toBe('rrt-1-a-geu2-1-1-1');
    expect(forms).toHaveLength(2);
  });

  it('passes on NHS error strings cut to 500 characters, however long NHS made them', async () => {
    // Prepare
    const long = 'x'.repeat(10_000);
    const c = client({
      fetch: async () =>
        new Response(JSON.stringify({ error: long, error_description: long, message_id: long }), {
          status: 400,
        }),
    });

    // Act
    const err = await failure(c.exchange('id-token', newTrace('corr')));

    // Assess
    expect(err.upstream?.error).toHaveLength(500);
    expect(err.upstream?.error_description).toHaveLength(500);
    expect(err.messageId).toHaveLength(500);
  });
});

describe('TokenEndpointClient attempt failures', () => {
  it('retries a network failure (fetch TypeError) with a fresh assertion', async () => {
    const forms: URLSearchParams[] = [];
    let calls = 0;
    const c = client({
      retry: roomy(2),
      fetch: async (_url, init) => {
        forms.push(new URLSearchParams(String(init?.body)));
        if (calls++ === 0) throw new TypeError('fetch failed');
        return tokenBody();
      },
    });
    await expect(c.exchange('id-token', newTrace('corr'))).resolves.toMatchObject({ accessToken: 'at-0001' });
    expect(new Set(forms.map((f) => f.get('client_assertion'))).size).toBe(2);
  });

  it('does not retry a fault of ours: one attempt, internal_error', async () => {
    let calls = 0;
    const c = client({
      retry: roomy(3),
      fetch: async () => {
        calls++;
        throw new RangeError('a bug of ours');
      },
    });
    const err = await failure(c.exchange('id-token', newTrace('corr')));
    expect(err).toMatchObject({ code: 'internal_error', status: 500 });
    expect(err.message).not.toContain('a bug of ours');
    expect(calls).toBe(1);
  });
});

describe('TokenEndpointClient bounded reading', () => {
  it('cuts a body past 64 KiB off as nhs_bad_response, reading no more than the limit', async () => {
    // Prepare: an endless 200 body, 1 MiB per pull, with no Content-Length to warn us.
    let pulled = 0;
    const endless = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += 1;
            controller.enqueue(new Uint8Array(16 * 1024).fill(65));
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    const c = client({ retry: roomy(1), fetch: async () => endless() });

    // Act
    const err = await failure(c.exchange('id-token', newTrace('corr')));

    // Assess: 64 KiB is four 16 KiB chunks, plus the one that crossed the limit (and read-ahead).
    expect(err.code).toBe('nhs_bad_response');
    expect(err.message).toContain('65536');
    expect(pulled).toBeLessThanOrEqual(8);
  });

  it('refuses a declared Content-Length past the limit without reading the body', async () => {
    let pulled = 0;
    const c = client({
      retry: roomy(1),
      fetch: async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled += 1;
              controller.enqueue(new Uint8Array(1024));
            },
          }),
          { status: 200, headers: { 'content-length': String(400 * 1024 * 1024) } },
        ),
    });
    const err = await failure(c.exchange('id-token', newTrace('corr')));
    expect(err.code).toBe('nhs_bad_response');
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('ends an attempt whose body drips, by its own timer, even if the body ignores the signal', async () => {
    // Prepare: headers at once, then a byte every 20 ms from a source that never looks at the signal.
    const drip = () => {
      let timer: ReturnType<typeof setInterval> | undefined;
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            timer = setInterval(() => controller.enqueue(new Uint8Array([32])), 20);
          },
          cancel() {
            clearInterval(timer);
          },
        }),
        { status: 200 },
      );
    };
    const c = client({
      retry: { maxAttempts: 2, attemptTimeoutMs: 100, deadlineMs: 300, baseBackoffMs: 0, maxBackoffMs: 0 },
      fetch: async () => drip(),
    });
    const started = performance.now();

    // Act
    const err = await failure(c.exchange('id-token', newTrace('corr')));

    // Assess
    expect(err.code).toBe('nhs_timeout');
    expect(performance.now() - started).toBeLessThan(400);
  });

  it.each([
    ['expires_in', { expires_in: String(Number.MAX_SAFE_INTEGER) }, 'expiresInS', 3600],
    [
      'refresh_token_expires_in',
      { refresh_token: 'rt-0001', refresh_token_expires_in: String(Number.MAX_SAFE_INTEGER) },
      'refreshTokenExpiresInS',
      86_400,
    ],
  ])('caps an absurd %s at a sane maximum', async (_name, extra, field, max) => {
    const c = client({
      fetch: async () =>
        new Response(
          JSON.stringify({ access_token: 'at-0001', expires_in: '599', token_type: 'Bearer', ...extra }),
          { status: 200 },
        ),
    });
    const token = await c.exchange('id-token', newTrace('corr'));
    expect(token[field as 'expiresInS']).toBe(max);
  });
});

describe('TokenEndpointClient passing on upstream text', () => {
  it('scrubs an intermediary echo of the request of every value we sent', async () => {
    // Prepare: a proxy in front of NHS echoes the form it received.
    const c = client({
      retry: roomy(1),
      fetch: async (_url, init) =>
        new Response(
          JSON.stringify({
            error: 'bad_gateway',
            error_description: `could not forward: ${String(init?.body)}`,
          }),
          { status: 400 },
        ),
    });

    // Act
    const err = await failure(c.refresh('refresh-token-secret-0001', newTrace('corr')));

    // Assess
    const said = `${err.message} ${err.upstream?.error_description}`;
    expect(said).not.toContain('refresh-token-secret-0001');
    expect(said).not.toContain('client-secret-0001');
    expect(err.upstream?.error_description).toContain('client_secret=[redacted]');
  });

  it('scrubs a value the echo spells differently or cuts short, after a secret field name', async () => {
    const c = client({
      retry: roomy(1),
      fetch: async () =>
        new Response(
          JSON.stringify({ error: 'x', error_description: '{"refresh_token": "refresh-tok", "note": 1}' }),
          { status: 400 },
        ),
    });
    const err = await failure(c.refresh('refresh-token-secret-0001', newTrace('corr')));
    expect(err.upstream?.error_description).not.toContain('refresh-tok"');
    expect(err.upstream?.error_description).toContain('[redacted]');
  });

  it('passes a known platform string as it is', async () => {
    const c = client({
      fetch: async () =>
        new Response(
          JSON.stringify({ error: 'invalid_grant', error_description: 'refresh_token is invalid' }),
          { status: 401 },
        ),
    });
    const err = await failure(c.refresh('refresh-token-secret-0001', newTrace('corr')));
    expect(err.upstream).toMatchObject({
      error: 'invalid_grant',
      error_description: 'refresh_token is invalid',
    });
  });
});
