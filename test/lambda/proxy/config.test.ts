import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lambda/platform/environments.js';
import { loadRuntimeConfig } from '../../../lambda/proxy/config.js';

const KMS = { SIGNING_KEY_ID: 'arn:aws:kms:eu-west-2:1:key/a', SECRET_ID: 'cis2-proxy/int' };

describe('loadRuntimeConfig', () => {
  it('reads an int deployment: KMS signing, secret, shared cache, platform token URL', () => {
    const config = loadRuntimeConfig({
      ENVIRONMENT: 'int',
      ...KMS,
      PUBLISHED_KEY_IDS: 'arn:aws:kms:eu-west-2:1:key/b, arn:aws:kms:eu-west-2:1:key/a',
      CACHE_TABLE: 'tokens',
    });
    expect(config.profile.tokenUrl).toBe('https://int.api.service.nhs.uk/oauth2/token');
    expect(config.signing).toEqual({
      kind: 'kms',
      keyId: KMS.SIGNING_KEY_ID,
      publishedKeyIds: [KMS.SIGNING_KEY_ID, 'arn:aws:kms:eu-west-2:1:key/b'],
    });
    expect(config.credentials).toEqual({ kind: 'secret', secretId: KMS.SECRET_ID });
    expect(config.cacheTable).toBe('tokens');
    expect(config.cacheMarginS).toBe(60);
    expect(config.enforceIssuer).toBe(false);
  });

  it('defaults the cache settings: memory and shared tiers on, sessions end with the ID token', () => {
    const config = loadRuntimeConfig({ ENVIRONMENT: 'int', ...KMS });
    expect(config).toMatchObject({
      cacheTable: undefined,
      cacheEnabled: true,
      sessionOutlivesIdToken: false,
      memoryCacheSize: 1000,
      // Longer than a refresh call can take (the 20 s deadline), so no second container redeems it.
      leaseMs: 22_000,
      leaseWaitMs: 1000,
      cacheTimeoutMs: 500,
      retry: { maxAttempts: 3, attemptTimeoutMs: 8000, deadlineMs: 20_000 },
    });
  });

  it('reads the retry policy and derives the default lease from its deadline', () => {
    const config = loadRuntimeConfig({
      ENVIRONMENT: 'int',
      ...KMS,
      TOKEN_MAX_ATTEMPTS: '2',
      TOKEN_ATTEMPT_TIMEOUT_MS: '3000',
      TOKEN_DEADLINE_MS: '7000',
    });
    expect(config.retry).toMatchObject({ maxAttempts: 2, attemptTimeoutMs: 3000, deadlineMs: 7000 });
    expect(config.leaseMs).toBe(9000);
  });

  it('reads the cache settings', () => {
    const config = loadRuntimeConfig({
      ENVIRONMENT: 'int',
      ...KMS,
      CACHE: 'off',
      SESSION_OUTLIVES_ID_TOKEN: 'true',
      MEMORY_CACHE_SIZE: '50',
      LEASE_MS: '2000',
      LEASE_WAIT_MS: '0',
      CACHE_TIMEOUT_MS: '300',
    });
    expect(config).toMatchObject({
      cacheEnabled: false,
      sessionOutlivesIdToken: true,
      memoryCacheSize: 50,
      leaseMs: 2000,
      leaseWaitMs: 0,
      cacheTimeoutMs: 300,
    });
  });

  it('reads a local run: local key, static credentials, emulator URLs on the given port', () => {
    const config = loadRuntimeConfig({
      ENVIRONMENT: 'local',
      EMULATOR_PORT: '4555',
      API_KEY: 'k',
      CLIENT_SECRET: 's',
    });
    expect(config.profile.tokenUrl).toBe('http://127.0.0.1:4555/oauth2/token');
    expect(config.signing).toEqual({ kind: 'local', keyFile: '.local/signing-key.pem' });
    expect(config.credentials).toEqual({ kind: 'static', apiKey: 'k', clientSecret: 's' });
    expect(config.enforceIssuer).toBe(true);
  });

  it.each([
    [{}, /No environment named/],
    [
      { ENVIRONMENT: 'staging' },
      /Unknown environment 'staging': expected one of local, internal-dev, int, prod/,
    ],
    [{ ENVIRONMENT: 'prod', SECRET_ID: 's' }, /SIGNING_KEY_ID is not set/],
    [{ ENVIRONMENT: 'prod', SECRET_ID: 's', LOCAL_KEY_FILE: 'k.pem' }, /LOCAL_KEY_FILE is refused in prod/],
    [{ ENVIRONMENT: 'int', SIGNING_KEY_ID: 'k', API_KEY: 'a', CLIENT_SECRET: 'b' }, /SECRET_ID is not set/],
    [{ ENVIRONMENT: 'int', ...KMS, CACHE_MARGIN_S: '-5' }, /CACHE_MARGIN_S must be a non-negative integer/],
    [{ ENVIRONMENT: 'int', ...KMS, CACHE: 'maybe' }, /CACHE must be 'on' or 'off'/],
    [
      { ENVIRONMENT: 'int', ...KMS, SESSION_OUTLIVES_ID_TOKEN: 'yes' },
      /SESSION_OUTLIVES_ID_TOKEN must be 'true' or 'false'/,
    ],
    [{ ENVIRONMENT: 'int', ...KMS, MEMORY_CACHE_SIZE: '0' }, /MEMORY_CACHE_SIZE must be between 1 and/],
    [{ ENVIRONMENT: 'int', ...KMS, TOKEN_MAX_ATTEMPTS: '0' }, /TOKEN_MAX_ATTEMPTS must be between 1 and 5/],
    [
      { ENVIRONMENT: 'int', ...KMS, TOKEN_DEADLINE_MS: '0' },
      /TOKEN_DEADLINE_MS must be between 100 and 20000/,
    ],
    [
      { ENVIRONMENT: 'int', ...KMS, TOKEN_DEADLINE_MS: '60000' },
      /TOKEN_DEADLINE_MS must be between 100 and 20000/,
    ],
    [
      { ENVIRONMENT: 'int', ...KMS, TOKEN_ATTEMPT_TIMEOUT_MS: '0' },
      /TOKEN_ATTEMPT_TIMEOUT_MS must be between 100/,
    ],
    [{ ENVIRONMENT: 'int', ...KMS, CACHE_MARGIN_S: '599' }, /CACHE_MARGIN_S must be between 0 and 300/],
    [
      { ENVIRONMENT: 'int', ...KMS, SIGNING_KEY_ID: 'alias/cis2-token-proxy/int/a' },
      /SIGNING_KEY_ID must name a KMS key by ARN or id, not by alias/,
    ],
    [
      { ENVIRONMENT: 'int', ...KMS, PUBLISHED_KEY_IDS: 'arn:aws:kms:eu-west-2:1:alias/old' },
      /PUBLISHED_KEY_IDS must name a KMS key by ARN or id, not by alias/,
    ],
    [
      { ENVIRONMENT: 'int', ...KMS, MEMORY_CACHE_SIZE: 'lots' },
      /MEMORY_CACHE_SIZE must be a non-negative integer/,
    ],
    [{ ENVIRONMENT: 'int', ...KMS, LEASE_MS: '10' }, /LEASE_MS must be between 100 and/],
    [{ ENVIRONMENT: 'int', ...KMS, LEASE_WAIT_MS: '-1' }, /LEASE_WAIT_MS must be a non-negative integer/],
    [{ ENVIRONMENT: 'int', ...KMS, CACHE_TIMEOUT_MS: '5' }, /CACHE_TIMEOUT_MS must be between 50 and/],
  ])('refuses to start with %j', (env, message) => {
    expect(() => loadRuntimeConfig(env)).toThrow(ConfigError);
    expect(() => loadRuntimeConfig(env)).toThrow(message);
  });
});
