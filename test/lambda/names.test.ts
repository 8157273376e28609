import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV, PLATFORM_ENVIRONMENTS } from '../../lambda/names.js';
import { PLATFORM_PROFILES } from '../../lambda/platform/environments.js';
import { loadRuntimeConfig } from '../../lambda/proxy/config.js';

describe('lambda/names.ts, the names lib/ and lambda/ share', () => {
  it('imports nothing, so the CDK app can import it without the runtime and the runtime without CDK', () => {
    const source = readFileSync(new URL('../../lambda/names.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^\s*import\b|\brequire\(|^\s*export .* from /m);
  });

  it('has a runtime profile for every platform environment', () => {
    expect(Object.keys(PLATFORM_PROFILES).sort()).toEqual([...PLATFORM_ENVIRONMENTS].sort());
  });

  it('the runtime reads its settings under the shared variable names', () => {
    // Prepare: a deployment's environment, spelled only through the shared names.
    const env = {
      [ENV.environment]: 'int',
      [ENV.signingKeyId]: 'arn:aws:kms:eu-west-2:111122223333:key/1',
      [ENV.publishedKeyIds]: 'arn:aws:kms:eu-west-2:111122223333:key/0',
      [ENV.secretId]: 'proxy/int',
      [ENV.cacheTable]: 'cache',
      [ENV.nhsBudgetPerMinute]: '120',
      [ENV.nhsBudgetContainers]: '4',
    };

    // Act
    const config = loadRuntimeConfig(env);

    // Assess
    expect(config.profile.name).toBe('int');
    expect(config.signing).toEqual({
      kind: 'kms',
      keyId: env[ENV.signingKeyId],
      publishedKeyIds: [env[ENV.signingKeyId], env[ENV.publishedKeyIds]],
    });
    expect(config.credentials).toEqual({ kind: 'secret', secretId: 'proxy/int' });
    expect(config.cacheTable).toBe('cache');
    expect(config.budget).toMatchObject({ perMinute: 120, containers: 4 });
  });
});
