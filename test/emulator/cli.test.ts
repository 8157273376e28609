/** `npm run emulator`: options, start-up banner, apps from flags and a config file, clean shutdown. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppKey,
  clientCredentialsForm,
  makeAppKey,
  postForm,
  signAssertion,
} from '../helpers/emulator-fixtures.js';

let dir: string;
let flagKey: AppKey;
let configKey: AppKey;

beforeAll(async () => {
  [flagKey, configKey] = await Promise.all([makeAppKey(), makeAppKey()]);
  dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

function runCli(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'bin/emulator.ts', ...args], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function finish(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

/**
 * Resolves with the token URL once the banner is printed. Keeps reading stdout afterwards: a
 * closed pipe would make the emulator's next log line fail with EPIPE.
 */
function tokenUrlOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /token URL \(assertion aud\): (\S+)/.exec(seen);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', () => reject(new Error(`emulator exited before listening:\n${seen}`)));
  });
}

describe.concurrent('emulator CLI', () => {
  it('documents its options with --help', async () => {
    // Act
    const { code, stdout } = await finish(runCli(['--help']));

    // Assess
    expect(code).toBe(0);
    for (const option of [
      '--port',
      '--api-key',
      '--client-secret',
      '--jwks-file',
      '--jwks-url',
      '--config',
      '--jwks-cache-seconds',
      '--accept-content-type-parameters',
    ])
      expect(stdout).toContain(option);
  });

  it.each([
    ['an unknown option', ['--bogus']],
    ['--api-key without --client-secret', ['--api-key', 'k']],
    [
      'both --jwks-file and --jwks-url',
      ['--api-key', 'k', '--client-secret', 's', '--jwks-file', 'a', '--jwks-url', 'b'],
    ],
    ['a non-numeric port', ['--port', 'eighty']],
  ])('exits 2 for %s', async (_, args) => {
    // Act
    const { code, stderr } = await finish(runCli(args));

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^emulator: .*\nTry --help\.\n$/);
  });

  it('serves apps from flags and from a config file, and stops cleanly on SIGTERM', async () => {
    // Prepare
    await writeFile(join(dir, 'flag-jwks.json'), JSON.stringify(flagKey.jwks));
    await writeFile(join(dir, 'config-jwks.json'), JSON.stringify(configKey.jwks));
    await writeFile(
      join(dir, 'emulator.json'),
      JSON.stringify({ apps: [{ apiKey: 'from-config', clientSecret: 's', jwksFile: 'config-jwks.json' }] }),
    );
    const child = runCli([
      '--port',
      '0',
      '--config',
      join(dir, 'emulator.json'),
      '--api-key',
      'from-flags',
      '--client-secret',
      's',
      '--jwks-file',
      join(dir, 'flag-jwks.json'),
    ]);
    const tokenUrl = await tokenUrlOf(child);
    const request = async (key: AppKey, apiKey: string) =>
      postForm(tokenUrl, clientCredentialsForm(await signAssertion({ key, apiKey, aud: tokenUrl })));

    // Act
    const fromFlags = await request(flagKey, 'from-flags');
    const fromConfig = await request(configKey, 'from-config');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');

    // Assess
    expect(fromFlags.status, fromFlags.text).toBe(200);
    expect(fromConfig.status, fromConfig.text).toBe(200);
    expect(code).toBe(0);
  });

  it('accepts a charset parameter only with --accept-content-type-parameters, and serves /oauth2-mock/token', async () => {
    // Prepare
    await writeFile(join(dir, 'lenient-jwks.json'), JSON.stringify(flagKey.jwks));
    const start = (extra: string[]) =>
      runCli([
        '--port',
        '0',
        '--api-key',
        'app',
        '--client-secret',
        's',
        '--jwks-file',
        join(dir, 'lenient-jwks.json'),
        ...extra,
      ]);
    const post = async (tokenUrl: string, url = tokenUrl) =>
      postForm(
        url,
        clientCredentialsForm(await signAssertion({ key: flagKey, apiKey: 'app', aud: url })),
        'application/x-www-form-urlencoded;charset=UTF-8',
      );
    const strict = start([]);
    const lenient = start(['--accept-content-type-parameters']);

    // Act
    const strictAnswer = await post(await tokenUrlOf(strict));
    const lenientUrl = await tokenUrlOf(lenient);
    const lenientAnswer = await post(lenientUrl);
    const mockPathAnswer = await post(lenientUrl, lenientUrl.replace('/oauth2/token', '/oauth2-mock/token'));
    strict.kill('SIGTERM');
    lenient.kill('SIGTERM');
    await Promise.all([once(strict, 'exit'), once(lenient, 'exit')]);

    // Assess
    expect(strictAnswer.status).toBe(415);
    expect(lenientAnswer.status, lenientAnswer.text).toBe(200);
    expect(mockPathAnswer.status, mockPathAnswer.text).toBe(200);
  });
});
