/**
 * App public keys by JWKS URL and file: fetched and cached per URL for the configured time, never
 * refetched for an unknown kid (so a rotation fails until the cache expires), and 403 when the
 * JWKS cannot be had.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.js';
import { ManualClock } from '../../lambda/platform/clock.js';
import {
  type AppKey,
  clientCredentialsForm,
  expectPlatformError,
  type JsonHost,
  makeAppKey,
  postForm,
  signAssertion,
  startJsonHost,
} from '../helpers/emulator-fixtures.js';

const API_KEY = 'jwks-test-app';
const ONE_HOUR_MS = 3_600_000;

let emulator: Emulator;
let clock: ManualClock;
let oldKey: AppKey;
let newKey: AppKey;
let host: JsonHost;
let dir: string;

beforeAll(async () => {
  [oldKey, newKey] = await Promise.all([makeAppKey('2025-01'), makeAppKey('2025-07')]);
  clock = new ManualClock();
  // The default cache time: the platform's one hour.
  emulator = await startEmulator({ clock });
  dir = await mkdtemp(join(tmpdir(), 'emulator-jwks-'));
});

afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  host = await startJsonHost(oldKey.jwks);
  // A fresh URL per test keeps the per-URL cache from leaking between tests.
  emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksUrl: `${host.url}?test=${Math.random()}` });
});

afterEach(() => host.close());

const requestWith = async (key: AppKey) =>
  postForm(
    emulator.tokenUrl,
    clientCredentialsForm(
      await signAssertion({ key, apiKey: API_KEY, aud: emulator.tokenUrl, nowMs: clock.now() }),
    ),
  );

describe('JWKS by URL', () => {
  it('fetches the JWKS once and reuses it within the cache time', async () => {
    // Act
    const first = await requestWith(oldKey);
    clock.advance(ONE_HOUR_MS - 1);
    const second = await requestWith(oldKey);

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(host.hits).toBe(1);
  });

  it('fails a rotated-in kid until the cache expires, without refetching', async () => {
    // Prepare
    await requestWith(oldKey);
    host.serve({ keys: [oldKey.publicJwk, newKey.publicJwk] });

    // Act
    const beforeExpiry = await requestWith(newKey);
    clock.advance(ONE_HOUR_MS);
    const afterExpiry = await requestWith(newKey);

    // Assess
    expectPlatformError(beforeExpiry, 'assertionKidUnknown');
    expect(afterExpiry.status).toBe(200);
    expect(host.hits).toBe(2);
  });

  it.each([
    ['an HTTP error', 500],
    ['a JSON object without keys', { kids: [] }],
    ['a keys value that is not an array', { keys: {} }],
  ])('answers 403 when the JWKS URL gives %s, and does not cache the failure', async (_, served) => {
    // Prepare
    host.serve(served);

    // Act
    const failed = await requestWith(oldKey);
    host.serve(oldKey.jwks);
    const recovered = await requestWith(oldKey);

    // Assess
    expectPlatformError(failed, 'jwksUnreachable');
    expect(recovered.status).toBe(200);
  });

  it('answers 403 when nothing listens at the JWKS URL', async () => {
    // Prepare
    const gone = await startJsonHost(oldKey.jwks);
    await gone.close();
    emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksUrl: gone.url });

    // Act
    const response = await requestWith(oldKey);

    // Assess
    expectPlatformError(response, 'jwksUnreachable');
  });

  it('answers 403 for a JWKS URL without a path, without fetching it', async () => {
    // Prepare
    emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksUrl: new URL(host.url).origin });

    // Act
    const response = await requestWith(oldKey);

    // Assess
    expectPlatformError(response, 'jwksUnreachable');
    expect(host.hits).toBe(0);
  });

  it('honours a shorter configured cache time', async () => {
    // Prepare
    const quick = await startEmulator({ clock, jwksCacheMs: 1_000 });
    quick.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksUrl: host.url });
    const post = async (key: AppKey) =>
      postForm(
        quick.tokenUrl,
        clientCredentialsForm(
          await signAssertion({ key, apiKey: API_KEY, aud: quick.tokenUrl, nowMs: clock.now() }),
        ),
      );
    await post(oldKey);
    host.serve(newKey.jwks);

    // Act
    const cached = await post(newKey);
    clock.advance(1_000);
    const refetched = await post(newKey);
    await quick.close();

    // Assess
    expectPlatformError(cached, 'assertionKidUnknown');
    expect(refetched.status).toBe(200);
  });
});

describe('JWKS by file', () => {
  it('reads the file like a URL: cached, so a rewritten file counts after the cache time', async () => {
    // Prepare
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify(oldKey.jwks));
    emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksFile: file });
    const first = await requestWith(oldKey);
    await writeFile(file, JSON.stringify(newKey.jwks));

    // Act
    const cached = await requestWith(newKey);
    clock.advance(ONE_HOUR_MS);
    const reread = await requestWith(newKey);

    // Assess
    expect(first.status).toBe(200);
    expectPlatformError(cached, 'assertionKidUnknown');
    expect(reread.status).toBe(200);
  });

  it('answers 403 for a missing or non-JSON file', async () => {
    // Prepare
    const notJson = join(dir, 'not.json');
    await writeFile(notJson, 'keys: []');

    // Act
    emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksFile: join(dir, 'absent.json') });
    const missing = await requestWith(oldKey);
    emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwksFile: notJson });
    const garbled = await requestWith(oldKey);

    // Assess
    expectPlatformError(missing, 'jwksUnreachable');
    expectPlatformError(garbled, 'jwksUnreachable');
  });
});

describe('app registration', () => {
  it.each([
    [
      'two key sources',
      { apiKey: 'a', clientSecret: 's', jwksFile: 'x.json', jwksUrl: 'https://h/x' },
      /at most one/,
    ],
    ['no API key', { apiKey: '', clientSecret: 's' }, /apiKey/],
    ['no client secret', { apiKey: 'a', clientSecret: '' }, /clientSecret/],
    ['an inline JWKS without keys', { apiKey: 'a', clientSecret: 's', jwks: {} }, /keys array/],
  ])('refuses an app with %s', (_, app, message) => {
    // Act
    const register = () => emulator.registerApp(app as never);

    // Assess
    expect(register).toThrow(message);
  });
});
