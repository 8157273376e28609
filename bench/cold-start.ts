/**
 * Cold start: the Lambda bundle exactly as the stack builds it (the app is synthesised and the
 * function's asset read back from the cloud assembly), its size, and the wall time of a fresh
 * Node process that imports it and answers a first request, next to a bare `node -e ''`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarise } from './stats.js';

/** Result of the cold start benchmark. */
export interface ColdStartResult {
  readonly bundleKiB: number;
  readonly coldStartMs: number;
  readonly nodeBaselineMs: number;
}

/** Synthesises the int stack (no nag, no CloudFormation lint: only the asset matters) and returns the bundle path. */
export function buildBundleAsTheStackDoes(outDir: string): string {
  // Without the CLI, the app reads context only from CDK_CONTEXT_JSON, so cdk.json's context goes there.
  const context = { ...JSON.parse(readFileSync('cdk.json', 'utf8')).context, env: 'int' };
  execFileSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    env: {
      ...process.env,
      CDK_OUTDIR: outDir,
      CDK_NAG: '0',
      CDK_VALIDATION: 'false',
      CDK_CONTEXT_JSON: JSON.stringify(context),
    },
    stdio: 'pipe',
  });
  // Each function has its own bundle (token, JWKS, canary): take the token function's, by the asset
  // hash in its S3 key.
  const templateFile = readdirSync(outDir).find((name) => name.endsWith('.template.json'));
  if (!templateFile) throw new Error(`no template found in ${outDir}`);
  const resources = Object.values(
    JSON.parse(readFileSync(join(outDir, templateFile), 'utf8')).Resources as Record<
      string,
      { Type: string; Properties: { Description?: string; Code?: { S3Key?: string } } }
    >,
  );
  const token = resources.find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' && /exchanges CIS2 ID tokens/.test(r.Properties.Description ?? ''),
  );
  const key = token?.Properties.Code?.S3Key;
  if (!key) throw new Error(`no token function asset found in ${outDir}`);
  const bundle = join(outDir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  statSync(bundle);
  return bundle;
}

/** Runs a fresh Node process to completion; returns its wall time and its stdout. */
export function runNode(args: string[], env: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const t = performance.now();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  if (result.status !== 0)
    throw new Error(`cold start run failed: ${result.stderr.toString().slice(0, 500)}`);
  return { ms, stdout: result.stdout.toString() };
}

/** Wall time of a bare `node -e ''` in the same environment. */
export function bareNodeMs(env: NodeJS.ProcessEnv): number {
  return runNode(['-e', ''], env).ms;
}

/**
 * Runs `runs` fresh processes of each kind with `ENVIRONMENT=local` (local key, static
 * credentials, no SDK client built) answering `GET /health`, and reports medians.
 */
export function benchColdStart(bundle: string, workDir: string, runs = 11): ColdStartResult {
  const keyFile = join(workDir, 'local-key.pem');
  writeFileSync(
    keyFile,
    generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
  );
  // The deployed function runs with source maps enabled; so does this.
  const env = {
    PATH: process.env.PATH,
    NODE_OPTIONS: '--enable-source-maps',
    ENVIRONMENT: 'local',
    LOCAL_KEY_FILE: keyFile,
    API_KEY: 'bench',
    CLIENT_SECRET: 'bench',
    POWERTOOLS_SERVICE_NAME: 'cis2-token-proxy',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const firstRequest = `const m = await import(${JSON.stringify(bundle)});
const r = await m.handler({ httpMethod: 'GET', path: '/health', headers: {}, body: null, isBase64Encoded: false });
if (r.statusCode !== 200) { console.error(r.body); process.exit(1); }`;
  const cold: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(bareNodeMs(env));
    cold.push(runNode(['--input-type=module', '-e', firstRequest], env).ms);
  }
  return {
    bundleKiB: statSync(bundle).size / 1024,
    coldStartMs: summarise(cold).p50,
    nodeBaselineMs: summarise(bare).p50,
  };
}

/** Result of the int-like cold start. */
export interface IntColdStartResult {
  /** Wall time of the fresh process, less its first token request: spawn, import, `GET /health`, exit. */
  readonly coldStartMs: number;
  /** The first `POST /token` in the fresh process (a miss: KMS, Secrets Manager, table and NHS, all new connections). */
  readonly firstMissMs: number;
  readonly nodeBaselineMs: number;
}

/** What the int-like cold start needs from the stand-ins. */
export interface IntColdStartSetup {
  readonly caFile: string;
  readonly endpoints: {
    kms: string;
    secretsManager: string;
    dynamodb: string;
    tokenUrl: string;
    cis2Issuer: string;
  };
  readonly aws: { keyId: string; secretId: string; tableName: string };
  /** One fresh CIS2 ID token per run, so that every first request is a miss. */
  readonly idTokens: readonly string[];
}

/**
 * The same bundle with an int-like configuration: `ENVIRONMENT=int` (RSA-4096 KMS key required),
 * the secret and the table, so all three SDK clients are built at init, pointed at the HTTPS
 * stand-ins with the SDK's own `AWS_ENDPOINT_URL_*` variables and trusting the bench CA through
 * NODE_EXTRA_CA_CERTS. The NHS host keeps its real name (`int.api.service.nhs.uk`, in the
 * assertion's `aud`, the SNI and the Host header); a two-line `--import` preload only sends its
 * TLS connections to the stand-in emulator's port on loopback.
 */
export function benchColdStartInt(
  bundle: string,
  workDir: string,
  setup: IntColdStartSetup,
): IntColdStartResult {
  const preload = join(workDir, 'nhs-on-loopback.mjs');
  const nhsPort = new URL(setup.endpoints.tokenUrl).port;
  writeFileSync(
    preload,
    `import tls from 'node:tls';
const connect = tls.connect;
tls.connect = (options, ...rest) =>
  connect(options?.host === 'int.api.service.nhs.uk' ? { ...options, host: '127.0.0.1', port: ${nhsPort} } : options, ...rest);
`,
  );
  const env = {
    PATH: process.env.PATH,
    NODE_OPTIONS: `--enable-source-maps --import ${JSON.stringify(`file://${preload}`)}`,
    NODE_EXTRA_CA_CERTS: setup.caFile,
    ENVIRONMENT: 'int',
    SIGNING_KEY_ID: setup.aws.keyId,
    SECRET_ID: setup.aws.secretId,
    CACHE_TABLE: setup.aws.tableName,
    CIS2_ISSUER: setup.endpoints.cis2Issuer,
    NHS_BUDGET_PER_MINUTE: '100000',
    NHS_BUDGET_CALLER_SHARE_PCT: '100',
    AWS_REGION: 'eu-west-2',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_KMS: setup.endpoints.kms,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: setup.endpoints.secretsManager,
    AWS_ENDPOINT_URL_DYNAMODB: setup.endpoints.dynamodb,
    POWERTOOLS_SERVICE_NAME: 'cis2-token-proxy',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const script = `const m = await import(${JSON.stringify(bundle)});
const health = await m.handler({ httpMethod: 'GET', path: '/health', headers: {}, body: null, isBase64Encoded: false });
if (health.statusCode !== 200) { console.error(health.body); process.exit(1); }
const t = performance.now();
const r = await m.handler({ httpMethod: 'POST', path: '/token', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ subject_token: process.env.BENCH_ID_TOKEN }), isBase64Encoded: false });
const firstMissMs = performance.now() - t;
if (r.statusCode !== 200) { console.error(r.body); process.exit(1); }
console.log('BENCH ' + JSON.stringify({ firstMissMs }));
process.exit(0);`;
  const cold: number[] = [];
  const first: number[] = [];
  const bare: number[] = [];
  for (const idToken of setup.idTokens) {
    bare.push(bareNodeMs(env));
    const { ms, stdout } = runNode(['--input-type=module', '-e', script], {
      ...env,
      BENCH_ID_TOKEN: idToken,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('BENCH '));
    if (!line) throw new Error('int-like cold start printed no result');
    const { firstMissMs } = JSON.parse(line.slice(6)) as { firstMissMs: number };
    first.push(firstMissMs);
    cold.push(ms - firstMissMs);
  }
  return {
    coldStartMs: summarise(cold).p50,
    firstMissMs: summarise(first).p50,
    nodeBaselineMs: summarise(bare).p50,
  };
}
