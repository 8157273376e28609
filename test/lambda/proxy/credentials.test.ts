import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsManagerCredentials } from '../../../lambda/proxy/credentials.js';
import type { ProxyError } from '../../../lambda/proxy/errors.js';

const secrets = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({
  region: 'eu-west-2',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const SECRET_VALUE = 'client-secret-value-do-not-log';

describe('secretsManagerCredentials', () => {
  afterEach(() => secrets.reset());

  it('reads the secret once per container', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand, { SecretId: 'proxy/int' })
      .resolves({ SecretString: JSON.stringify({ api_key: 'key', client_secret: SECRET_VALUE }) });
    const credentials = secretsManagerCredentials(client, 'proxy/int');

    // Act
    const [a, b] = await Promise.all([credentials(), credentials()]);
    const c = await credentials();

    // Assess
    expect(a).toEqual({ apiKey: 'key', clientSecret: SECRET_VALUE });
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('does not keep a failure: the next call reads again', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('down'), { name: 'InternalServiceError' }))
      .resolves({ SecretString: JSON.stringify({ api_key: 'key', client_secret: 's' }) });
    const credentials = secretsManagerCredentials(client, 'proxy/int');

    // Act
    const first = (await credentials().catch((e: unknown) => e)) as ProxyError;
    const second = await credentials();

    // Assess
    expect(first.code).toBe('secrets_unavailable');
    expect(first.status).toBe(503);
    expect(second.apiKey).toBe('key');
  });

  it.each([
    [{ SecretString: 'not json' }, 'config_error', /is not JSON/],
    [
      { SecretString: JSON.stringify({ api_key: 'k' }) },
      'config_error',
      /no non-empty string field 'client_secret'/,
    ],
    [
      { SecretString: JSON.stringify({ client_secret: SECRET_VALUE, api_key: '' }) },
      'config_error',
      /field 'api_key'/,
    ],
    [
      { SecretString: JSON.stringify({ api_key: 'REPLACE_ME', client_secret: 'REPLACE_ME' }) },
      'config_error',
      /still holds the placeholder in 'api_key'/,
    ],
  ])('names what is wrong with the secret without echoing it: %j', async (output, code, message) => {
    secrets.on(GetSecretValueCommand).resolves(output);
    const error = (await secretsManagerCredentials(client, 'proxy/int')().catch(
      (e: unknown) => e,
    )) as ProxyError;
    expect(error.code).toBe(code);
    expect(error.status).toBe(500);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(SECRET_VALUE);
  });

  it('treats a missing secret or denied access as configuration, not an outage', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'AccessDeniedException' }));
    const error = (await secretsManagerCredentials(client, 'proxy/int')().catch(
      (e: unknown) => e,
    )) as ProxyError;
    expect(error.code).toBe('config_error');
    expect(error.message).toContain('AccessDeniedException');
  });
});

const secret = JSON.stringify({ api_key: 'api-key-0001', client_secret: 'secret-value-0001' });

// A Secrets Manager read that hangs must fail in bounded time and not be kept.
describe('secretsManagerCredentials timeout', () => {
  afterEach(() => secrets.reset());

  it('fails a hung read as secrets_unavailable, then reads again on the next call', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .callsFakeOnce(() => new Promise(() => {}))
      .resolves({ SecretString: secret });
    const credentials = secretsManagerCredentials(client, 'drill/nhs-app', 50);
    const started = performance.now();

    // Act
    const first = await credentials().catch((e: unknown) => e);
    const second = await credentials();

    // Assess
    expect(first).toMatchObject({ code: 'secrets_unavailable', status: 503 });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(second).toEqual({ apiKey: 'api-key-0001', clientSecret: 'secret-value-0001' });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('gives the SDK an abort signal, so a real hung request is cancelled', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: secret });
    await secretsManagerCredentials(client, 'drill/nhs-app')();
    expect((secrets.send.firstCall.args as unknown[])[1]).toMatchObject({
      abortSignal: expect.any(AbortSignal),
    });
  });
});
