/** A Secrets Manager read that hangs must fail in bounded time and not be kept. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsManagerCredentials } from '../../lambda/credentials.js';

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({
  region: 'eu-west-2',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const secret = JSON.stringify({ api_key: 'api-key-0001', client_secret: 'secret-value-0001' });

describe('secretsManagerCredentials timeout', () => {
  afterEach(() => sm.reset());

  it('fails a hung read as secrets_unavailable, then reads again on the next call', async () => {
    // Prepare
    sm.on(GetSecretValueCommand)
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
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('gives the SDK an abort signal, so a real hung request is cancelled', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret });
    await secretsManagerCredentials(client, 'drill/nhs-app')();
    expect((sm.send.firstCall.args as unknown[])[1]).toMatchObject({ abortSignal: expect.any(AbortSignal) });
  });
});
