import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lambda/proxy/app.js';
import { loadRuntimeConfig } from '../../../lambda/proxy/config.js';
import { memoryTelemetry } from '../../../lambda/proxy/telemetry.js';
import { mockKms, rsaKey } from '../../helpers/kms.js';

const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/app-test';
const health = { httpMethod: 'GET', path: '/health', headers: {}, body: null, isBase64Encoded: false };

describe('buildApp for int', () => {
  let restore: () => void = () => {};
  afterEach(() => restore());

  it.each([
    [4096, 200, undefined],
    [2048, 500, 'signer_misconfigured'],
  ])('with a %i-bit KMS key answers /health with %i', async (bits, status, code) => {
    // Prepare
    const { kms, client } = mockKms([{ keyId: KEY_ARN, privateKey: rsaKey(bits) }]);
    restore = () => kms.restore();
    const config = loadRuntimeConfig({ ENVIRONMENT: 'int', SIGNING_KEY_ID: KEY_ARN, SECRET_ID: 'proxy/int' });
    const app = await buildApp(config, { kms: client, telemetry: memoryTelemetry() });

    // Act
    const res = await app.handler(health);

    // Assess
    expect(res.statusCode).toBe(status);
    if (code) expect(JSON.parse(res.body).error).toBe(code);
    else
      expect(JSON.parse(res.body)).toMatchObject({
        status: 'ready',
        environment: 'int',
        kid: expect.stringMatching(/^int-/),
      });
  });
});
