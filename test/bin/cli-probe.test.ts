/**
 * `cli probe` and `cli rotate check` against the emulator and the local proxy, both in-process on
 * random ports, wired as `npm start` wires them: the emulator fetches the app's JWKS from the
 * proxy's /jwks.json.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../bin/cli.js';
import { LOCAL_API_KEY, LOCAL_CLIENT_SECRET } from '../../bin/local-defaults.js';
import { type Emulator, MESSAGE_ID_PATTERN, startEmulator } from '../../emulator/index.js';
import { PLATFORM_ERRORS } from '../../lambda/platform/rules.js';
import { buildApp } from '../../lambda/proxy/app.js';
import { loadRuntimeConfig } from '../../lambda/proxy/config.js';
import { type LocalServer, serveLocally } from '../../lambda/proxy/local-server.js';
import { memoryTelemetry } from '../../lambda/proxy/telemetry.js';
import { makeAppKey } from '../helpers/emulator-fixtures.js';
import { mockKms, rsaKey } from '../helpers/kms.js';

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

let dir: string;
let keyFile: string;
let emulator: Emulator;
let proxy: LocalServer;
let stranger: Emulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-probe-'));
  keyFile = join(dir, 'signing-key.pem');
  writeFileSync(keyFile, rsaKey().export({ format: 'pem', type: 'pkcs8' }));
  // Only the proxy's /jwks.json is used here, which does not depend on where the emulator runs.
  const config = loadRuntimeConfig({
    ENVIRONMENT: 'local',
    API_KEY: LOCAL_API_KEY,
    CLIENT_SECRET: LOCAL_CLIENT_SECRET,
    LOCAL_KEY_FILE: keyFile,
  });
  proxy = await serveLocally((await buildApp(config, { telemetry: memoryTelemetry() })).handler, 0);
  // As npm start: the proxy's own JWKS route is the app's registered jwks-resource-url.
  emulator = await startEmulator({
    apps: [{ apiKey: LOCAL_API_KEY, clientSecret: LOCAL_CLIENT_SECRET, jwksUrl: `${proxy.url}/jwks.json` }],
  });
  // Another platform whose registered JWKS holds somebody else's key.
  const other = await makeAppKey('someone-else');
  stranger = await startEmulator({ apps: [{ apiKey: 'stranger-app', clientSecret: 's', jwks: other.jwks }] });
});

afterAll(async () => {
  await Promise.all([proxy.close(), emulator.close(), stranger.close()]);
});

describe('npm run cli -- probe', () => {
  afterEach(() => vi.unstubAllEnvs());

  const localEnv = () => {
    vi.stubEnv('LOCAL_KEY_FILE', keyFile);
    vi.stubEnv('EMULATOR_PORT', new URL(emulator.baseUrl).port);
  };

  it('--env local --json: NHS (the emulator) accepts our client authentication, exit 0', async () => {
    // Prepare
    localEnv();
    const run = io();

    // Act
    const code = await runCli(['probe', '--env', 'local', '--json'], run.io);

    // Assess
    expect(run.err.join('')).toBe('');
    expect(code).toBe(0);
    const verdict = JSON.parse(run.out.join(''));
    expect(Object.keys(verdict)).toEqual([
      'accepted',
      'kid',
      'status',
      'error',
      'error_description',
      'message_id',
      'findings',
    ]);
    expect(verdict).toMatchObject({ accepted: true, kid: expect.stringMatching(/^local-/), findings: [] });
    expect(verdict.message_id).toMatch(MESSAGE_ID_PATTERN);
  });

  it('--token-url and --api-key at a platform holding another key: exit 1 with NHS exact answer', async () => {
    // Prepare
    localEnv();
    const run = io();

    // Act
    const code = await runCli(
      ['probe', '--token-url', stranger.tokenUrl, '--api-key', 'stranger-app', '--json'],
      run.io,
    );

    // Assess
    expect(code).toBe(1);
    const verdict = JSON.parse(run.out.join(''));
    expect(verdict).toMatchObject({
      accepted: false,
      status: 401,
      error: 'invalid_request',
      error_description: PLATFORM_ERRORS.assertionKidUnknown.error_description,
      message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
    });
    expect(verdict.findings).toContain('SIGNATURE_VERIFIED');
  });

  it('exits 2 without a verdict when the endpoint cannot be reached, or the options conflict', async () => {
    // Prepare
    localEnv();
    const unreachable = io();
    const conflicting = io();

    // Act
    const codes = [
      await runCli(['probe', '--token-url', 'http://127.0.0.1:1/oauth2/token'], unreachable.io),
      await runCli(['probe', '--kid', 'a', '--key', 'b'], conflicting.io),
    ];

    // Assess
    expect(codes).toEqual([2, 2]);
    expect(unreachable.err.join('')).toContain('could not be reached');
    expect(conflicting.err.join('')).toContain('--kid or --key, not both');
    expect(unreachable.out).toEqual([]);
  });

  it('a deployed environment whose key policy refuses our principal: exit 2, pointing at the canary', async () => {
    // Prepare: KMS publishes the key but refuses to sign, as the stack's key policy does for operators.
    const { kms, fakes } = mockKms([{ keyId: 'key-x', privateKey: rsaKey() }]);
    kms.on(SignCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));
    kms.on(GetPublicKeyCommand).callsFake(fakes.getPublicKey);
    vi.stubEnv('SIGNING_KEY_ID', 'key-x');
    const run = io();

    // Act
    const code = await runCli(['probe', '--env', 'internal-dev', '--api-key', 'k'], run.io);
    kms.restore();

    // Assess
    expect(code).toBe(2);
    expect(run.err.join('')).toContain('AccessDeniedException');
    expect(run.err.join('')).toContain('invoke the canary function');
  });

  it('the text form quotes the message_id', async () => {
    // Prepare
    localEnv();
    const run = io();

    // Act
    const code = await runCli(['probe'], run.io);

    // Assess
    expect(code).toBe(0);
    expect(run.out.join('')).toMatch(/^NHS accepts our client authentication \(kid local-.*message_id rrt-/);
  });
});

describe('npm run cli -- rotate check', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('approves a key NHS accepts and refuses one it does not', async () => {
    // Prepare: a second key, never registered with (nor published to) the emulator.
    vi.stubEnv('EMULATOR_PORT', new URL(emulator.baseUrl).port);
    vi.stubEnv('LOCAL_KEY_FILE', keyFile);
    const newKeyFile = join(dir, 'next-key.pem');
    writeFileSync(newKeyFile, rsaKey().export({ format: 'pem', type: 'pkcs8' }));
    const accepted = io();
    const refused = io();

    // Act
    const codes = [
      await runCli(['rotate', 'check', '--key', keyFile, '--json'], accepted.io),
      await runCli(['rotate', 'check', '--key', newKeyFile, '--json'], refused.io),
    ];

    // Assess
    expect(codes).toEqual([0, 1]);
    expect(JSON.parse(accepted.out.join(''))).toMatchObject({ approved: true, accepted: true });
    expect(JSON.parse(refused.out.join(''))).toMatchObject({
      approved: false,
      accepted: false,
      error_description: PLATFORM_ERRORS.assertionKidUnknown.error_description,
      findings: expect.arrayContaining(['KID_NOT_IN_JWKS']),
    });
  });

  it('insists on naming the key to switch to', async () => {
    // Prepare
    const run = io();

    // Act
    const code = await runCli(['rotate', 'check'], run.io);

    // Assess
    expect(code).toBe(2);
    expect(run.err.join('')).toContain('--key or --kid');
  });

  it('reads the canary verdicts of a deployed environment and approves only an accepted key', async () => {
    // Prepare
    const file = join(dir, 'canary.json');
    const verdict = (keyId: string, kid: string, accepted: boolean) => ({
      keyId,
      accepted,
      kid,
      status: accepted ? 400 : 401,
      error: 'invalid_request',
      error_description: accepted
        ? 'Malformed JWT in subject_token'
        : PLATFORM_ERRORS.assertionKidUnknown.error_description,
      message_id: 'rrt-1',
      findings: [],
    });
    writeFileSync(
      file,
      JSON.stringify({
        verdicts: [
          verdict('arn:aws:kms:eu-west-2:111122223333:key/aaaa', 'int-a', true),
          verdict('arn:aws:kms:eu-west-2:111122223333:key/bbbb', 'int-b', false),
        ],
      }),
    );
    const runs = [io(), io(), io()];

    // Act
    const codes = [
      await runCli(['rotate', 'check', '--kid', 'int-a', '--verdicts', file], runs[0]!.io),
      await runCli(['rotate', 'check', '--key', 'bbbb', '--verdicts', file], runs[1]!.io),
      await runCli(['rotate', 'check', '--kid', 'int-c', '--verdicts', file], runs[2]!.io),
    ];

    // Assess
    expect(codes).toEqual([0, 1, 1]);
    expect(runs[0]!.out.join('')).toMatch(/^APPROVED/);
    expect(runs[1]!.out.join('')).toMatch(/^NOT APPROVED/);
    expect(runs[2]!.err.join('')).toContain('no verdict for int-c');
  });
});
