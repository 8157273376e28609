/**
 * The canary against the emulator, with two published KMS keys (a KMS mock that really signs):
 * it reports per key whether NHS accepts it, in log lines with NHS's message_id and in EMF
 * metrics with the `key` dimension the stack's alarm and widgets use.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Emulator, MESSAGE_ID_PATTERN, startEmulator } from '../../../emulator/index.js';
import { systemClock } from '../../../lambda/platform/clock.js';
import { localProfile } from '../../../lambda/platform/environments.js';
import { PLATFORM_ERRORS } from '../../../lambda/platform/rules.js';
import { CANARY_METRIC, createCanary, powertoolsCanaryReporter } from '../../../lambda/probe/canary.js';
import { buildProbeSetup, type ProbeSetup } from '../../../lambda/probe/setup.js';
import { LocalKeySigner } from '../../../lambda/proxy/signer/local.js';
import { mockKms, rsaKey } from '../../helpers/kms.js';

const API_KEY = 'canary-app';
let emulator: Emulator;
let setup: ProbeSetup;
let kms: ReturnType<typeof mockKms>;

beforeAll(async () => {
  kms = mockKms([
    { keyId: 'key-a', privateKey: rsaKey() },
    { keyId: 'key-b', privateKey: rsaKey() },
  ]);
  emulator = await startEmulator();
  const profile = localProfile(Number(new URL(emulator.baseUrl).port));
  setup = await buildProbeSetup(
    {
      profile,
      signing: { kind: 'kms', keyId: 'key-a', publishedKeyIds: ['key-a', 'key-b'] },
      credentials: { kind: 'static', apiKey: API_KEY, clientSecret: 's' },
    },
    { kms: kms.client },
  );
  // NHS holds only key a: key b is published by us but not yet fetched by NHS.
  const [a] = await setup.jwks();
  emulator.registerApp({ apiKey: API_KEY, clientSecret: 's', jwks: { keys: [a!] } });
});

afterAll(async () => {
  kms.kms.restore();
  await emulator.close();
});

/** Runs `work` and returns every JSON document it wrote to standard output or error. */
async function capture(work: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const record = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(record),
    vi.spyOn(process.stderr, 'write').mockImplementation(record),
  ];
  try {
    await work();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

const emfOf = (docs: Record<string, unknown>[], metric: string) =>
  docs
    .filter((d) => d._aws && metric in d)
    .map((d) => {
      const [directive] = (d._aws as { CloudWatchMetrics: { Dimensions: string[][]; Namespace: string }[] })
        .CloudWatchMetrics;
      return {
        namespace: directive!.Namespace,
        dimensions: Object.fromEntries(directive!.Dimensions[0]!.map((name) => [name, d[name]])),
        value: d[metric],
      };
    });

describe('client-auth canary', () => {
  it('probes every published key and reports accepted and refused per key', async () => {
    // Prepare
    const canary = createCanary({
      setup,
      tokenUrl: localProfile(Number(new URL(emulator.baseUrl).port)).tokenUrl,
      clock: systemClock,
      reporter: powertoolsCanaryReporter('int'),
    });
    let run: Awaited<ReturnType<typeof canary>> | undefined;

    // Act
    const docs = await capture(async () => {
      run = await canary();
    });

    // Assess: the verdicts returned.
    const [a, b] = run!.verdicts;
    expect(run!.failures).toEqual([]);
    expect(a).toMatchObject({ keyId: 'key-a', signing: true, accepted: true, status: 400 });
    expect(b).toMatchObject({
      keyId: 'key-b',
      signing: false,
      accepted: false,
      status: 401,
      error_description: PLATFORM_ERRORS.assertionKidUnknown.error_description,
    });
    // Metrics: one data point per key, with the key dimension.
    const base = { service: 'cis2-token-proxy', environment: 'int' };
    expect(emfOf(docs, CANARY_METRIC.accepted)).toEqual([
      { namespace: 'Cis2TokenProxy', dimensions: { ...base, key: 'key-a' }, value: 1 },
    ]);
    expect(emfOf(docs, CANARY_METRIC.refused)).toEqual([
      { namespace: 'Cis2TokenProxy', dimensions: { ...base, key: 'key-b' }, value: 1 },
    ]);
    // Log lines: kid, NHS's answer and message_id, never the assertion.
    const lines = docs.filter((d) => d.message === 'client_auth_probe');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        keyId: 'key-a',
        kid: a!.kid,
        accepted: true,
        message_id: a!.message_id,
      }),
      expect.objectContaining({
        level: 'ERROR',
        keyId: 'key-b',
        kid: b!.kid,
        accepted: false,
        error_description: b!.error_description,
        message_id: expect.stringMatching(MESSAGE_ID_PATTERN),
        findings: expect.stringContaining('SIGNATURE_VERIFIED'),
      }),
    ]);
    expect(JSON.stringify(docs)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('counts a probe without a verdict as ClientAuthProbeFailed, neither accepted nor refused', async () => {
    // Prepare
    emulator.injectFaults({ kind: 'rate-limit' });
    const canary = createCanary({
      setup: { ...setup, keys: setup.keys.slice(0, 1) },
      tokenUrl: localProfile(Number(new URL(emulator.baseUrl).port)).tokenUrl,
      clock: systemClock,
      reporter: powertoolsCanaryReporter('int'),
    });
    let run: Awaited<ReturnType<typeof canary>> | undefined;

    // Act
    const docs = await capture(async () => {
      run = await canary();
    });

    // Assess
    expect(run).toEqual({
      verdicts: [],
      failures: [expect.objectContaining({ keyId: 'key-a', signing: true, reason: 'rate_limited' })],
    });
    expect(emfOf(docs, CANARY_METRIC.probeFailed)).toHaveLength(1);
    expect(emfOf(docs, CANARY_METRIC.accepted)).toEqual([]);
    expect(emfOf(docs, CANARY_METRIC.refused)).toEqual([]);
  });
});

describe('canary Lambda entry (lambda/canary-entry.ts)', () => {
  it('reads the proxy settings from the environment and returns the verdicts', async () => {
    // Prepare: a local key the emulator holds, and the settings the stack would pass.
    const key = rsaKey();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'canary-')), 'key.pem');
    writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }));
    const jwk = await new LocalKeySigner(key, 'local').publicJwk();
    emulator.registerApp({ apiKey: 'entry-app', clientSecret: 's', jwks: { keys: [jwk] } });
    vi.stubEnv('ENVIRONMENT', 'local');
    vi.stubEnv('EMULATOR_PORT', new URL(emulator.baseUrl).port);
    vi.stubEnv('LOCAL_KEY_FILE', keyFile);
    vi.stubEnv('API_KEY', 'entry-app');
    vi.stubEnv('CLIENT_SECRET', 's');

    // Act: the entry reads its settings when it is loaded, as on a cold start.
    const { handler } = await import('../../../lambda/canary-entry.js');
    let run: Awaited<ReturnType<typeof handler>> | undefined;
    await capture(async () => {
      run = await handler();
    });
    vi.unstubAllEnvs();

    // Assess
    expect(run).toEqual({
      verdicts: [expect.objectContaining({ keyId: keyFile, signing: true, accepted: true, kid: jwk.kid })],
      failures: [],
    });
  });
});
