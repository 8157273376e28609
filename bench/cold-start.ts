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
  const assets = readdirSync(outDir)
    .filter((name) => name.startsWith('asset.'))
    .map((name) => join(outDir, name, 'index.mjs'))
    .filter((file) => {
      try {
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
  if (assets.length === 0) throw new Error(`no Lambda bundle (index.mjs) found in ${outDir}`);
  return assets[0] as string;
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
