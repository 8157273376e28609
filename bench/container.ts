/**
 * One simulated Lambda container, in its own process (so its CPU is the proxy's alone): the app
 * built by `buildApp` with an int-like configuration, its three SDK clients (KMS, Secrets
 * Manager, DynamoDB) and fetch pointed at the HTTPS stand-ins, trusted through
 * NODE_EXTRA_CA_CERTS, production telemetry to a null sink. Reads a {@link ContainerInput} on
 * stdin, prints one JSON result line. Scenarios:
 * - `miss`: misses through the real SDK over HTTPS and over plain HTTP (the difference is TLS),
 *   CPU per miss split by part; the peer baseline's misses and hits; our memory and shared hits.
 * - `spaced`: after a warm-up miss, misses `spacingS` seconds apart (real sleeps), counting TCP
 *   connections and TLS handshakes per host as this process opens them.
 */

import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import tls, { type TLSSocket } from 'node:tls';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type App, buildApp } from '../lambda/proxy/app.js';
import { createCacheDynamoClient } from '../lambda/proxy/cache/index.js';
import type { RuntimeConfig } from '../lambda/proxy/config.js';
import type { ProxyEvent } from '../lambda/proxy/handler.js';
import { benchTelemetry, type LastLine, tokenEvent } from './common.js';
import { PeerProxy } from './peer.js';
import { BENCH_SDK_CONFIG, intLikeConfig } from './real-sdk.js';
import { adminGet, type Endpoints } from './stand-ins.js';
import { cpuMsSince, summarise } from './stats.js';

/** What a container is asked to do. */
export interface ContainerInput {
  readonly scenario: 'miss' | 'spaced';
  readonly https: Endpoints;
  readonly http: Endpoints;
  readonly admin: string;
  readonly keyId: string;
  readonly secretId: string;
  readonly tableName: string;
  readonly peerKid: string;
  /** Makes user names unique across containers and runs sharing the stand-ins. */
  readonly tag: string;
  readonly misses: number;
  readonly warmup: number;
  readonly spacingS?: number;
  readonly hits?: number;
}

// Client-side connection counts by remote port, taken where both the SDK (https.Agent) and
// fetch (undici) open their TLS connections.
const connections = new Map<number, { tcp: number; tls: number; resumed: number }>();
const tlsConnect = tls.connect;
(tls as { connect: typeof tls.connect }).connect = ((...args: Parameters<typeof tls.connect>) => {
  const socket = tlsConnect(...args) as TLSSocket;
  socket.once('connect', () => counter(socket.remotePort).tcp++);
  socket.once('secureConnect', () => {
    const c = counter(socket.remotePort);
    c.tls++;
    if (socket.isSessionReused()) c.resumed++;
  });
  return socket;
}) as typeof tls.connect;
function counter(port: number | undefined) {
  const key = port ?? 0;
  const c = connections.get(key) ?? { tcp: 0, tls: 0, resumed: 0 };
  connections.set(key, c);
  return c;
}

/** CPU time split by which part of the code the process was in. */
class CpuSplit {
  parts: Record<string, number> = {};
  private readonly active: string[] = [];
  private last = process.cpuUsage();
  private account(): void {
    const now = process.cpuUsage();
    const ms = (now.user - this.last.user + now.system - this.last.system) / 1000;
    const part = this.active[this.active.length - 1] ?? 'ours';
    this.parts[part] = (this.parts[part] ?? 0) + ms;
    this.last = now;
  }
  reset(): void {
    this.parts = {};
    this.last = process.cpuUsage();
  }
  enter(part: string): void {
    this.account();
    this.active.push(part);
  }
  exit(part: string): void {
    this.account();
    this.active.splice(this.active.lastIndexOf(part), 1);
  }
  done(): Record<string, number> {
    this.account();
    return this.parts;
  }
}

const split = new CpuSplit();

type SdkClient = KMSClient | SecretsManagerClient | DynamoDBClient;
function measured<T extends SdkClient>(client: T): T {
  (client.middlewareStack as KMSClient['middlewareStack']).add(
    (next) => async (args) => {
      split.enter('sdk');
      try {
        return await next(args);
      } finally {
        split.exit('sdk');
      }
    },
    { step: 'initialize', priority: 'high', name: 'benchCpuSplit' },
  );
  return client;
}

/** fetch with its CPU (reading the body included) counted as the NHS HTTP client's. */
const measuredFetch: typeof fetch = async (input, init) => {
  split.enter('nhs_http');
  try {
    const response = await fetch(input, init);
    const body = await response.arrayBuffer();
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  } finally {
    split.exit('nhs_http');
  }
};

function clients(endpoints: Endpoints, config: RuntimeConfig) {
  return {
    kms: measured(new KMSClient({ ...BENCH_SDK_CONFIG, endpoint: endpoints.kms })),
    secretsManager: measured(
      new SecretsManagerClient({ ...BENCH_SDK_CONFIG, endpoint: endpoints.secretsManager }),
    ),
    dynamo: measured(
      createCacheDynamoClient({ ...BENCH_SDK_CONFIG, endpoint: endpoints.dynamodb }, config.cacheTimeoutMs),
    ),
  };
}

async function ourApp(endpoints: Endpoints, last: LastLine, env: Record<string, string> = {}) {
  const config = intLikeConfig(endpoints, env);
  return buildApp(config, {
    ...clients(endpoints, config),
    fetch: measuredFetch,
    telemetry: benchTelemetry(last, 'int'),
  });
}

async function events(input: ContainerInput, scheme: 'https' | 'http', prefix: string, count: number) {
  const { tokens } = await adminGet<{ tokens: string[] }>(
    input,
    `/id-tokens?scheme=${scheme}&count=${count}&prefix=${encodeURIComponent(`${input.tag}-${prefix}`)}`,
  );
  return tokens.map(tokenEvent);
}

async function check(
  handler: (e: ProxyEvent) => Promise<{ statusCode: number; body: string }>,
  e: ProxyEvent,
) {
  const res = await handler(e);
  if (res.statusCode !== 200) throw new Error(`request failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
}

/**
 * Per-miss CPU by part and wall time through the HTTPS and the plain HTTP stand-ins, one miss of
 * each in turn so drift (JIT, GC, a busy neighbour) hits both alike; medians over `input.misses`
 * after `input.warmup`.
 */
async function ourMisses(input: ContainerInput) {
  const schemes = ['https', 'http'] as const;
  const sides = await Promise.all(
    schemes.map(async (scheme) => {
      const last: LastLine = { fields: {} };
      const app: App = await ourApp(input[scheme], last);
      const evs = await events(input, scheme, `miss-${scheme}`, input.warmup + input.misses);
      const samples: Record<string, number[]> = { total: [], sdk: [], nhs_http: [], ours: [], wall: [] };
      return { scheme, last, app, evs, samples };
    }),
  );
  for (let i = 0; i < input.warmup + input.misses; i++) {
    for (const { last, app, evs, samples } of sides) {
      split.reset();
      const cpu = process.cpuUsage();
      const t = performance.now();
      await check(app.handler, evs[i] as ProxyEvent);
      const wall = performance.now() - t;
      const total = cpuMsSince(cpu);
      const parts = split.done();
      if (last.fields.cache !== 'miss') throw new Error(`expected a miss, got ${String(last.fields.cache)}`);
      if (i < input.warmup) continue;
      samples.total?.push(total);
      samples.sdk?.push(parts.sdk ?? 0);
      samples.nhs_http?.push(parts.nhs_http ?? 0);
      samples.ours?.push(total - (parts.sdk ?? 0) - (parts.nhs_http ?? 0));
      samples.wall?.push(wall);
    }
  }
  const medians = (samples: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v).p50]));
  const [https, http] = sides as [(typeof sides)[number], (typeof sides)[number]];
  return { app: https.app, https: medians(https.samples), http: medians(http.samples) };
}

/** Wall p50 of `n` calls of `fn` after `n / 10` unmeasured. */
async function wallP50(n: number, fn: (i: number) => Promise<void>) {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  return summarise(samples).p50;
}

async function missScenario(input: ContainerInput) {
  const misses = await ourMisses(input);

  // The peer on the same HTTPS stand-ins: misses (fresh users), then hits on one user.
  const peer = new PeerProxy({
    secrets: new SecretsManagerClient({ ...BENCH_SDK_CONFIG, endpoint: input.https.secretsManager }),
    secretId: input.secretId,
    dynamo: new DynamoDBClient({ ...BENCH_SDK_CONFIG, endpoint: input.https.dynamodb }),
    tableName: input.tableName,
    tokenUrl: input.https.tokenUrl,
    kid: input.peerKid,
    telemetry: benchTelemetry({ fields: {} }, 'int'),
  });
  const peerEvents = await events(input, 'https', 'peer-miss', input.warmup + input.misses);
  const peerCpu: number[] = [];
  for (const [i, e] of peerEvents.entries()) {
    const rsaBefore = peer.rsaCpuMs;
    const cpu = process.cpuUsage();
    await check(peer.handler, e);
    const total = cpuMsSince(cpu);
    if (i >= input.warmup) peerCpu.push(total - (peer.rsaCpuMs - rsaBefore));
  }
  const hits = input.hits ?? 500;
  const [peerUser, userA, userB] = await events(input, 'https', 'hits', 3);
  await check(peer.handler, peerUser as ProxyEvent);
  const peerHit = await wallP50(hits, () => check(peer.handler, peerUser as ProxyEvent));
  await check(misses.app.handler, userA as ProxyEvent);
  const memoryHit = await wallP50(hits, () => check(misses.app.handler, userA as ProxyEvent));
  // A second container sharing only the table, one session of memory: every request a shared hit.
  await check(misses.app.handler, userB as ProxyEvent);
  const reader = await ourApp(input.https, { fields: {} }, { MEMORY_CACHE_SIZE: '1' });
  const sharedHit = await wallP50(hits, (i) => check(reader.handler, (i % 2 ? userA : userB) as ProxyEvent));
  return {
    https: misses.https,
    http: misses.http,
    peerMissCpuMs: summarise(peerCpu).p50,
    peerRsaCpuMs: peer.rsaCpuMs / (input.warmup + input.misses + 1),
    peerHitMs: peerHit,
    memoryHitMs: memoryHit,
    sharedHitMs: sharedHit,
  };
}

async function spacedScenario(input: ContainerInput) {
  const app = await ourApp(input.https, { fields: {} });
  const evs = await events(input, 'https', `spaced-${input.spacingS}`, input.warmup + input.misses);
  for (const e of evs.slice(0, input.warmup)) await check(app.handler, e);
  connections.clear();
  for (const e of evs.slice(input.warmup)) {
    await sleep((input.spacingS ?? 0) * 1000);
    await check(app.handler, e);
  }
  const ports: Record<string, string> = {};
  for (const [name, url] of Object.entries(input.https)) ports[new URL(url).port] = name;
  return {
    spacingS: input.spacingS,
    misses: input.misses,
    perHost: Object.fromEntries(
      [...connections].map(([port, c]) => [ports[String(port)] ?? String(port), c]),
    ),
  };
}

/** What the `miss` scenario prints. */
export type MissScenarioResult = Awaited<ReturnType<typeof missScenario>>;
/** What the `spaced` scenario prints. */
export type SpacedScenarioResult = Awaited<ReturnType<typeof spacedScenario>>;

const input = JSON.parse(await text(process.stdin)) as ContainerInput;
const result = input.scenario === 'miss' ? await missScenario(input) : await spacedScenario(input);
console.log(JSON.stringify(result));
process.exit(0);
