import { createPublicKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../bin/cli.js';
import { rsaKey } from '../helpers/kms.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      readStdin: async () => undefined,
    },
  };
}

describe('npm run cli -- jwks', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('prints the public JWK of the local key with a derived kid, and no private members', async () => {
    // Prepare
    const key = rsaKey();
    const file = join(mkdtempSync(join(tmpdir(), 'jwks-')), 'key.pem');
    writeFileSync(file, key.export({ format: 'pem', type: 'pkcs8' }));
    vi.stubEnv('LOCAL_KEY_FILE', file);
    const run = io();

    // Act
    const code = await runCli(['jwks', '--env', 'local'], run.io);

    // Assess
    expect(code).toBe(0);
    const jwks = JSON.parse(run.out.join(''));
    const expected = createPublicKey(key).export({ format: 'jwk' });
    expect(jwks.keys).toEqual([
      {
        kty: 'RSA',
        n: expected.n,
        e: expected.e,
        kid: expect.stringMatching(/^local-/),
        alg: 'RS512',
        use: 'sig',
      },
    ]);
  });

  it('refuses a local key for int, naming the missing KMS setting', async () => {
    vi.stubEnv('SIGNING_KEY_ID', '');
    const run = io();
    const code = await runCli(['jwks', '--env', 'int'], run.io);
    expect(code).toBe(1);
    expect(run.err.join('')).toContain('SIGNING_KEY_ID is not set');
  });
});
