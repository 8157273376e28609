/**
 * Benchmarks through the real SDK clients and fetch over HTTPS: the stand-ins in one process,
 * each simulated container in another (bench/container.ts), so CPU measured in a container is
 * the proxy's own and RSA signing happens remotely, as in KMS.
 */
import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { loadRuntimeConfig, type RuntimeConfig } from '../lambda/proxy/config.js';
import type { ContainerInput } from './container.js';
import { type Endpoints, type StandIns, spawnStandIns } from './stand-ins.js';
import type { BenchCertificates } from './tls.js';

/** The account-side names the stand-ins and containers agree on. */
export const BENCH_AWS = {
  keyId: 'arn:aws:kms:eu-west-2:111122223333:key/0b5e1c3a-bench-4096',
  secretId: 'arn:aws:secretsmanager:eu-west-2:111122223333:secret:cis2-token-proxy-bench',
  tableName: 'cis2-token-cache',
  apiKey: 'bench-api-key-0001',
  clientSecret: 'bench-client-secret-not-a-secret',
  peerKid: 'peer-rs512',
} as const;

/** Region and credentials of every SDK client the bench builds (the stand-ins ignore SigV4). */
export const BENCH_SDK_CONFIG = {
  region: 'eu-west-2',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
} as const;

/**
 * The int configuration (KMS key, RSA-4096 required; the secret; the table) with its token URL
 * moved to the stand-in emulator: the only change from what int runs.
 */
export function intLikeConfig(endpoints: Endpoints, env: Record<string, string> = {}): RuntimeConfig {
  const config = loadRuntimeConfig({
    ENVIRONMENT: 'int',
    SIGNING_KEY_ID: BENCH_AWS.keyId,
    SECRET_ID: BENCH_AWS.secretId,
    CACHE_TABLE: BENCH_AWS.tableName,
    // ID tokens are verified as in int, against the stand-in's CIS2 (int's own is not reachable here).
    CIS2_ISSUER: endpoints.cis2Issuer,
    // The budget stays in the path (its table counter is part of a miss's cost) but never sheds:
    // the bench measures a miss, and NHS's real limit is not the stand-in's.
    NHS_BUDGET_PER_MINUTE: '100000',
    NHS_BUDGET_CALLER_SHARE_PCT: '100',
    ...env,
  });
  return { ...config, profile: { ...config.profile, tokenUrl: endpoints.tokenUrl } };
}

/** Starts the stand-ins with the bench key and certificates. */
export function startBenchStandIns(certs: BenchCertificates, signingKey: KeyObject): Promise<StandIns> {
  return spawnStandIns(
    {
      key: certs.key,
      cert: certs.cert,
      signingKeyPem: signingKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      keyId: BENCH_AWS.keyId,
      secretId: BENCH_AWS.secretId,
      apiKey: BENCH_AWS.apiKey,
      clientSecret: BENCH_AWS.clientSecret,
      tableName: BENCH_AWS.tableName,
      kidPrefixes: ['int'],
      peerKid: BENCH_AWS.peerKid,
    },
    certs.caFile,
  );
}

/** Runs one container process to completion and returns its result line. */
export async function runContainer<T>(
  standIns: StandIns,
  caFile: string,
  input: Omit<ContainerInput, 'https' | 'http' | 'admin' | 'keyId' | 'secretId' | 'tableName' | 'peerKid'>,
): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/container.ts'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: caFile,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const full: ContainerInput = {
    ...input,
    https: standIns.https,
    http: standIns.http,
    admin: standIns.admin,
    keyId: BENCH_AWS.keyId,
    secretId: BENCH_AWS.secretId,
    tableName: BENCH_AWS.tableName,
    peerKid: BENCH_AWS.peerKid,
  };
  child.stdin.end(JSON.stringify(full));
  const [out, err, code] = await Promise.all([
    text(child.stdout),
    text(child.stderr),
    new Promise<number | null>((resolve) => child.once('exit', resolve)),
  ]);
  if (code !== 0) throw new Error(`container (${input.scenario}) exited with ${code}: ${err.slice(0, 800)}`);
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}
