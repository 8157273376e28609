/**
 * The probe against the emulator, which answers in the platform's order: accepted with a sound
 * configuration, and refused, with NHS's exact answer and the doctor's finding codes, for each
 * thing NHS can hold against our client authentication.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, MESSAGE_ID_PATTERN, startEmulator } from '../../../emulator/index.js';
import { ManualClock, systemClock } from '../../../lambda/platform/clock.js';
import {
  PLATFORM_ERRORS,
  PLATFORM_TOKEN_URLS,
  type PlatformErrorName,
} from '../../../lambda/platform/rules.js';
import { PROBE_SUBJECT_TOKEN, ProbeUnusableError, probeClientAuth } from '../../../lambda/probe/index.js';
import { publishedJwks } from '../../../lambda/proxy/app.js';
import { staticCredentials } from '../../../lambda/proxy/credentials.js';
import { generateSigningKey, LocalKeySigner } from '../../../lambda/proxy/signer/local.js';
import type { PublicSigningJwk } from '../../../lambda/proxy/signer/signer.js';
import { type AppKey, makeAppKey } from '../../helpers/emulator-fixtures.js';

let emulator: Emulator;
let signer: LocalKeySigner;
let ours: PublicSigningJwk;
let other: AppKey;
let closedUrl: string;

beforeAll(async () => {
  // RSA-4096 as in production, so the doctor has nothing to say about key size.
  signer = new LocalKeySigner(generateSigningKey(), 'local');
  ours = await signer.publicJwk();
  other = await makeAppKey('someone-else');
  emulator = await startEmulator();
  // A port that was open a moment ago and is closed now: nothing answers there.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(() => emulator.close());

let appCount = 0;
/** Registers a fresh app holding `keys` (or a JWKS URL) and returns its API key. */
function registerApp(source: { jwks: { keys: object[] } } | { jwksUrl: string }): string {
  appCount += 1;
  const apiKey = `probe-app-${appCount}`;
  emulator.registerApp({ apiKey, clientSecret: 'secret', ...source } as Parameters<
    Emulator['registerApp']
  >[0]);
  return apiKey;
}

const probe = (apiKey: string, overrides: { tokenUrl?: string; endpoint?: string } = {}) =>
  probeClientAuth({
    signer,
    clock: systemClock,
    credentials: staticCredentials({ apiKey, clientSecret: 'secret' }),
    tokenUrl: overrides.tokenUrl ?? emulator.tokenUrl,
    endpoint: overrides.endpoint,
    jwks: publishedJwks([signer]),
  });

/** The verdict fields that come from NHS, as the platform's error `name` has them. */
const refusedAs = (name: PlatformErrorName) => {
  const { status, error, error_description } = PLATFORM_ERRORS[name];
  return { accepted: false, kid: ours.kid, status, error, error_description };
};

describe('probeClientAuth against the emulator', () => {
  it('is accepted when NHS holds our key under our kid: it answers "Malformed JWT in subject_token"', async () => {
    // Prepare
    const apiKey = registerApp({ jwks: { keys: [ours] } });

    // Act
    const verdict = await probe(apiKey);

    // Assess
    expect(verdict).toEqual({
      accepted: true,
      kid: ours.kid,
      status: 400,
      error: 'invalid_request',
      error_description: 'Malformed JWT in subject_token',
      message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
      findings: [],
    });
    const [record] = emulator.records().slice(-1);
    expect(record).toMatchObject({ kid: ours.kid, apiKey, status: 400 });
  });

  it.each([
    [
      'a registered JWKS without our kid',
      (): string => registerApp({ jwks: other.jwks }),
      'assertionKidUnknown',
      ['SIGNATURE_VERIFIED'],
    ],
    [
      'a JWKS URL that cannot be reached',
      (): string => registerApp({ jwksUrl: closedUrl }),
      'jwksUnreachable',
      ['SIGNATURE_VERIFIED'],
    ],
    [
      'a registered key under our kid that does not match ours',
      (): string => registerApp({ jwks: { keys: [{ ...other.publicJwk, kid: ours.kid }] } }),
      'signatureInvalid',
      ['SIGNATURE_VERIFIED'],
    ],
    [
      'an API key NHS does not know',
      (): string => {
        registerApp({ jwks: { keys: [ours] } });
        return 'not-an-app-of-this-environment';
      },
      'unknownApiKey',
      ['SIGNATURE_VERIFIED'],
    ],
  ] as const)(
    'is refused for %s, with NHS exact answer, message_id and findings',
    async (_, setUp, name, findings) => {
      // Prepare
      const apiKey = setUp();

      // Act
      const verdict = await probe(apiKey);

      // Assess
      expect(verdict).toEqual({
        ...refusedAs(name),
        message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
        findings,
      });
    },
  );

  it('is refused for an aud of another environment, and the doctor names it', async () => {
    // Prepare: configured for internal-dev, the request reaches the emulator.
    const apiKey = registerApp({ jwks: { keys: [ours] } });

    // Act
    const verdict = await probe(apiKey, {
      tokenUrl: PLATFORM_TOKEN_URLS['internal-dev'],
      endpoint: emulator.tokenUrl,
    });

    // Assess
    expect(verdict).toEqual({
      ...refusedAs('assertionAud'),
      message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
      findings: ['AUD_OTHER_ENVIRONMENT', 'SIGNATURE_VERIFIED'],
    });
  });

  it('is refused when our clock runs ahead: the same 400 invalid_request, but another description', async () => {
    // Prepare
    const apiKey = registerApp({ jwks: { keys: [ours] } });
    const ahead = new ManualClock(Date.now() + 10 * 60_000);

    // Act
    const verdict = await probeClientAuth({
      signer,
      clock: ahead,
      credentials: staticCredentials({ apiKey, clientSecret: 'secret' }),
      tokenUrl: emulator.tokenUrl,
      jwks: publishedJwks([signer]),
    });

    // Assess
    expect(verdict).toMatchObject(refusedAs('assertionExpTooFar'));
    expect(verdict.status).toBe(400);
  });

  it('sends a fresh jti and the malformed subject token every time', async () => {
    // Prepare
    const apiKey = registerApp({ jwks: { keys: [ours] } });
    const bodies: string[] = [];
    const spy: typeof fetch = async (url, init) => {
      bodies.push(String(init?.body));
      return fetch(url, init);
    };

    // Act
    for (let i = 0; i < 2; i++) {
      await probeClientAuth({
        signer,
        clock: systemClock,
        credentials: staticCredentials({ apiKey, clientSecret: 'secret' }),
        tokenUrl: emulator.tokenUrl,
        jwks: publishedJwks([signer]),
        fetch: spy,
      });
    }

    // Assess
    const forms = bodies.map((b) => new URLSearchParams(b));
    expect(forms.map((f) => f.get('subject_token'))).toEqual([PROBE_SUBJECT_TOKEN, PROBE_SUBJECT_TOKEN]);
    const jtis = emulator
      .records()
      .slice(-2)
      .map((r) => r.jti);
    expect(new Set(jtis).size).toBe(2);
  });

  it('is unusable, not refused, when the endpoint cannot be reached', async () => {
    // Act
    const outcome = probe('any', { endpoint: closedUrl.replace('/jwks.json', '/oauth2/token') });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ProbeUnusableError);
    await expect(outcome).rejects.toMatchObject({ reason: 'unreachable' });
  });

  it('is unusable when NHS rate limits it: the 429 says nothing about our client authentication', async () => {
    // Prepare
    const apiKey = registerApp({ jwks: { keys: [ours] } });
    emulator.injectFaults({ kind: 'rate-limit' });

    // Act
    const outcome = probe(apiKey);

    // Assess
    await expect(outcome).rejects.toMatchObject({ reason: 'rate_limited' });
  });

  it('reads no more than a bounded answer: a huge body gets no verdict', async () => {
    // Prepare: a valid acceptance, preceded by 10 MB of padding.
    const padded = `{"pad":"${'x'.repeat(10 * 1024 * 1024)}","error":"invalid_request","error_description":"Malformed JWT in subject_token"}`;
    const huge: typeof fetch = async () => new Response(padded, { status: 400 });

    // Act
    const outcome = probeClientAuth({
      signer,
      clock: systemClock,
      credentials: staticCredentials({ apiKey: 'k', clientSecret: 's' }),
      tokenUrl: emulator.tokenUrl,
      jwks: publishedJwks([signer]),
      fetch: huge,
    });

    // Assess
    await expect(outcome).rejects.toMatchObject({ reason: 'no_platform_answer' });
  });

  it("counts the platform's 500 unknown_error catch-all as a refusal: it also answers VerifyJWT faults", async () => {
    // Prepare
    const { status, error, error_description } = PLATFORM_ERRORS.unknownError;
    const catchAll: typeof fetch = async () =>
      Response.json({ error, error_description, message_id: 'rrt-1' }, { status });

    // Act
    const verdict = await probeClientAuth({
      signer,
      clock: systemClock,
      credentials: staticCredentials({ apiKey: 'k', clientSecret: 's' }),
      tokenUrl: emulator.tokenUrl,
      jwks: publishedJwks([signer]),
      fetch: catchAll,
    });

    // Assess
    expect(verdict).toEqual({
      ...refusedAs('unknownError'),
      message_id: 'rrt-1',
      findings: ['SIGNATURE_VERIFIED'],
    });
  });

  it('scrubs an echo of its own assertion from what NHS said, as the proxy does', async () => {
    // Prepare: an intermediary that quotes the form it was sent
    let assertion = '';
    const echo: typeof fetch = async (_url, init) => {
      assertion = new URLSearchParams(String(init?.body)).get('client_assertion') ?? '';
      const quoted = `bad request: client_assertion=${assertion}`;
      return Response.json(
        { error: 'invalid_request', error_description: quoted, message_id: assertion },
        { status: 400 },
      );
    };

    // Act
    const verdict = await probeClientAuth({
      signer,
      clock: systemClock,
      credentials: staticCredentials({ apiKey: 'k', clientSecret: 's' }),
      tokenUrl: emulator.tokenUrl,
      jwks: publishedJwks([signer]),
      fetch: echo,
    });

    // Assess
    expect(assertion.length).toBeGreaterThan(100);
    expect(JSON.stringify(verdict)).not.toContain(assertion.slice(0, 40));
    expect(verdict).toMatchObject({ accepted: false, message_id: '[redacted]' });
  });

  it('is unusable when the answer is not a platform error body', async () => {
    // Prepare
    const gateway: typeof fetch = async () => new Response('<html>bad gateway</html>', { status: 502 });

    // Act
    const outcome = probeClientAuth({
      signer,
      clock: systemClock,
      credentials: staticCredentials({ apiKey: 'k', clientSecret: 's' }),
      tokenUrl: emulator.tokenUrl,
      jwks: publishedJwks([signer]),
      fetch: gateway,
    });

    // Assess
    await expect(outcome).rejects.toMatchObject({ reason: 'no_platform_answer' });
  });
});
