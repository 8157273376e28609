/**
 * Throughput of the local server on cache hits: the server runs in its own process (one Node
 * event loop: one core), and this process drives it with concurrent keep-alive clients.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import type { FakeKmsKey } from '../test/helpers/kms.js';

/** Result of the throughput benchmark. */
export interface ThroughputResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly failures: number;
}

function post(url: URL, body: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Drives the server with `concurrency` clients for `seconds` after a one-second warm-up. */
export async function benchThroughput(
  kmsKey: FakeKmsKey,
  seconds = 4,
  concurrency = 32,
): Promise<ThroughputResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/hit-server.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  child.stdin.end(kmsKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`hit server exited with ${code}`)));
    });
    const { url, body } = JSON.parse(line) as { url: string; body: string };
    const target = new URL(url);
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const run = async (ms: number) => {
      let count = 0;
      let failures = 0;
      const until = performance.now() + ms;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < until) {
            if ((await post(target, body, agent)) === 200) count++;
            else failures++;
          }
        }),
      );
      return { count, failures };
    };
    await run(1_000);
    const t = performance.now();
    const { count, failures } = await run(seconds * 1_000);
    const elapsed = (performance.now() - t) / 1000;
    agent.destroy();
    return { requests: count, seconds: elapsed, rps: count / elapsed, failures };
  } finally {
    child.kill('SIGTERM');
  }
}
