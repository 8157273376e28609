/**
 * Time-dependent behaviour, driven by a manual clock: the refresh_token grant (single use, total
 * lifetime, §4d refresh errors), access token expiry, and expiry of assertions and ID tokens.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.js';
import { ManualClock } from '../../lambda/platform/clock.js';
import type { PlatformErrorName } from '../../lambda/platform/rules.js';
import {
  type AppKey,
  clientCredentialsForm,
  expectPlatformError,
  makeAppKey,
  postForm,
  signAssertion,
  tokenExchangeForm,
} from '../helpers/emulator-fixtures.js';

const API_KEY = 'refresh-test-app';
const SECRET = 'refresh-test-secret';
const OTHER_API_KEY = 'refresh-test-other-app';

let emulator: Emulator;
let key: AppKey;
let clock: ManualClock;

beforeAll(async () => {
  key = await makeAppKey();
  clock = new ManualClock();
  emulator = await startEmulator({
    clock,
    apps: [
      { apiKey: API_KEY, clientSecret: SECRET, jwks: key.jwks },
      { apiKey: OTHER_API_KEY, clientSecret: 'other-secret', jwks: key.jwks },
    ],
  });
});

afterAll(() => emulator.close());

beforeEach(() => clock.set(Date.now()));

/** Signs in a CIS2 user through token exchange, at the emulator's current time. */
async function signIn(apiKey = API_KEY): Promise<Record<string, string>> {
  const assertion = await signAssertion({ key, apiKey, aud: emulator.tokenUrl, nowMs: clock.now() });
  const response = await postForm(emulator.tokenUrl, tokenExchangeForm(assertion, await emulator.idToken()));
  expect(response.status, response.text).toBe(200);
  return response.json();
}

const refresh = (refreshToken: string | undefined, overrides: Record<string, string | undefined> = {}) =>
  postForm(emulator.tokenUrl, {
    grant_type: 'refresh_token',
    client_id: API_KEY,
    client_secret: SECRET,
    refresh_token: refreshToken,
    ...overrides,
  });

describe('refresh_token grant', () => {
  it('issues new tokens for the same user, without issued_token_type, counting refreshes', async () => {
    // Prepare
    const session = await signIn();

    // Act
    const first = await refresh(session.refresh_token);
    const second = await refresh(first.json().refresh_token as string);

    // Assess
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9]{28}$/),
      expires_in: '599',
      token_type: 'Bearer',
      refresh_token: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      refresh_token_expires_in: '43199',
      refresh_count: '1',
    });
    expect(second.json().refresh_count).toBe('2');
    const refreshed = emulator.introspect(first.json().access_token as string);
    expect(refreshed).toMatchObject({ sub: '787807429511', apiKey: API_KEY, active: true });
  });

  it('makes a refresh token single use', async () => {
    // Prepare
    const session = await signIn();
    const first = await refresh(session.refresh_token);

    // Act
    const reuse = await refresh(session.refresh_token);

    // Assess
    expect(first.status).toBe(200);
    expectPlatformError(reuse, 'refreshTokenInvalid');
  });

  it('caps the total refresh lifetime from the first issue', async () => {
    // Prepare
    const session = await signIn();
    clock.advance(3_600_000);
    const afterOneHour = await refresh(session.refresh_token);
    clock.advance(43_199_000 - 3_600_000);

    // Act
    const atTheCap = await refresh(afterOneHour.json().refresh_token as string);

    // Assess
    expect(afterOneHour.json().refresh_token_expires_in).toBe('39599');
    expectPlatformError(atTheCap, 'refreshPeriodExpired');
  });

  const errorRows: [string, Record<string, string | undefined>, PlatformErrorName][] = [
    ['an unknown client_id', { client_id: 'nobody' }, 'clientCredentialsInvalid'],
    ['no client_id', { client_id: undefined }, 'clientCredentialsInvalid'],
    ['no client_secret', { client_secret: undefined }, 'clientSecretMissing'],
    ['a wrong client_secret', { client_secret: 'guess' }, 'clientCredentialsInvalid'],
    [
      'a wrong client_secret, before a missing refresh_token',
      { client_secret: 'guess', refresh_token: undefined },
      'clientCredentialsInvalid',
    ],
    ['no refresh_token', { refresh_token: undefined }, 'refreshTokenMissing'],
    ['a refresh token the platform never issued', { refresh_token: 'made-up' }, 'refreshTokenInvalid'],
  ];

  it.each(errorRows)('rejects %s', async (_, overrides, expected) => {
    // Prepare
    const session = await signIn();

    // Act
    const response = await refresh(session.refresh_token, overrides);

    // Assess
    expectPlatformError(response, expected);
  });

  it("rejects another app's refresh token, which stays usable by its own app", async () => {
    // Prepare
    const othersSession = await signIn(OTHER_API_KEY);

    // Act
    const stolen = await refresh(othersSession.refresh_token);
    const own = await refresh(othersSession.refresh_token, {
      client_id: OTHER_API_KEY,
      client_secret: 'other-secret',
    });

    // Assess
    expectPlatformError(stolen, 'refreshTokenInvalid');
    expect(own.status).toBe(200);
  });
});

describe('expiry by the emulator clock', () => {
  it('expires access tokens after expires_in seconds', async () => {
    // Prepare
    const { access_token: accessToken } = await signIn();
    const issuedAt = clock.now();

    // Act
    clock.advance(598_999);
    const justBefore = emulator.introspect(accessToken as string);
    clock.advance(1_001);
    const after = emulator.introspect(accessToken as string);

    // Assess
    expect(justBefore).toMatchObject({ active: true, expiresAt: issuedAt + 599_000 });
    expect(after?.active).toBe(false);
    expect(emulator.introspect('never-issued')).toBeUndefined();
  });

  it('rejects an assertion once its exp has passed, with no leeway', async () => {
    // Prepare
    const assertion = await signAssertion({
      key,
      apiKey: API_KEY,
      aud: emulator.tokenUrl,
      nowMs: clock.now(),
    });
    clock.advance(301_000);

    // Act
    const response = await postForm(emulator.tokenUrl, clientCredentialsForm(assertion));

    // Assess
    expectPlatformError(response, 'assertionExpired');
  });

  it('rejects an ID token once its exp has passed, with no leeway', async () => {
    // Prepare
    const idToken = await emulator.idToken();
    clock.advance(3_601_000);
    const assertion = await signAssertion({
      key,
      apiKey: API_KEY,
      aud: emulator.tokenUrl,
      nowMs: clock.now(),
    });

    // Act
    const response = await postForm(emulator.tokenUrl, tokenExchangeForm(assertion, idToken));

    // Assess
    expectPlatformError(response, 'subjectExpired');
  });
});

// Flow.PostRefreshToken (proxies/default.xml lines 818-857) runs all three overrides, then
// calculate-refresh-token-expires-in.js: the new refresh token lives min(now + expiry, first + validity).
describe('refresh_token grant lifetime overrides', () => {
  it('shortens the access token, the refresh token, and the session validity when below the default', async () => {
    // Prepare
    const session = await signIn();
    clock.advance(60_000);

    // Act
    const response = await refresh(session.refresh_token, {
      _access_token_expiry_ms: '120000',
      _refresh_token_expiry_ms: '3600000',
    });
    const bySessionLimit = await refresh(response.json().refresh_token as string, {
      _refresh_tokens_validity_ms: '1800000',
    });

    // Assess
    expect(response.json()).toMatchObject({ expires_in: '119', refresh_token_expires_in: '3599' });
    // 30 min validity from the first issue, 60 s of which have passed.
    expect(bySessionLimit.json()).toMatchObject({ expires_in: '599', refresh_token_expires_in: '1739' });
  });

  it('ignores overrides at or above the default', async () => {
    const session = await signIn();
    const response = await refresh(session.refresh_token, {
      _access_token_expiry_ms: '600000',
      _refresh_token_expiry_ms: '99999999',
      _refresh_tokens_validity_ms: '99999999',
    });
    expect(response.json()).toMatchObject({ expires_in: '599', refresh_token_expires_in: '43199' });
  });

  it('refuses a session older than a shortened validity, spending the refresh token', async () => {
    // Prepare
    const session = await signIn();
    clock.advance(120_000);

    // Act
    const tooOld = await refresh(session.refresh_token, { _refresh_tokens_validity_ms: '60000' });
    const again = await refresh(session.refresh_token);

    // Assess
    expectPlatformError(tooOld, 'refreshPeriodExpired');
    expectPlatformError(again, 'refreshTokenInvalid');
  });
});
