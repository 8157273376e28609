/**
 * The drill rig: the proxy harness (emulator, KMS mock that really signs, the composed app) with
 * everything a drill needs to judge what happened: every call to the handler and its answer, the
 * proxy's log lines and metrics, every secret that crossed the wire, and every upstream call.
 *
 * Drills call the handler in process (`app.handler(event)`), as the Lambda runtime does, so an
 * exception escaping it is seen as such rather than as the local server's 500.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorOptions, FaultSpec } from '../../emulator/index.js';
import type { AppOverrides } from '../../lambda/proxy/app.js';
import type { InvocationContext, ProxyEvent } from '../../lambda/proxy/handler.js';
import { memoryTelemetry } from '../../lambda/proxy/telemetry.js';
import type { RetryPolicy } from '../../lambda/proxy/token-endpoint/types.js';
import { type FakeKmsKey, rsaKey } from '../helpers/kms.js';
import { peekText } from '../helpers/peek.js';
import {
  HARNESS_CLIENT_SECRET,
  HARNESS_KEY_ARN,
  type Harness,
  startHarness,
} from '../helpers/proxy-harness.js';
import { FORWARD_ALL, type ForwardLimits, LeakScanner } from './secrets.js';

/** `fast`: the vitest subset (seconds); `full`: `npm run drill` (minutes in all). */
export type DrillSize = 'fast' | 'full';

/**
 * The retry policy of every drill unless it says otherwise: the production shape (3 attempts,
 * jittered backoff, per-attempt timeout inside an overall deadline) at a scale that keeps a
 * drill of thousands of requests within seconds.
 */
export const DRILL_RETRY: RetryPolicy = {
  maxAttempts: 3,
  attemptTimeoutMs: 250,
  deadlineMs: 1_500,
  baseBackoffMs: 5,
  maxBackoffMs: 40,
};

/** A delay fault long enough to outlast {@link DRILL_RETRY}'s per-attempt timeout. */
export const SLOW_FAULT: FaultSpec = { kind: 'delay', ms: 600 };

/** One call of the handler and its answer. */
export interface Exchange {
  readonly seq: number;
  /** Sent as `X-Correlation-ID`, or the one the proxy generated (from its response header). */
  readonly correlationId: string;
  /** The ID token's `sub` when the request carried a genuine ID token that may succeed. */
  readonly expectSub?: string;
  readonly subjectToken?: string;
  /** Whether the handler must write exactly one `token_request` log line for this call. */
  readonly expectLogLine: boolean;
  readonly status: number;
  /** The body parsed, when it is a JSON object. */
  readonly body?: Record<string, unknown>;
  readonly rawBody: string;
  readonly headers: Readonly<Record<string, unknown>>;
  /** Handler time in milliseconds. */
  readonly ms: number;
  /** Name of an exception that escaped the handler (it must never throw). */
  readonly escaped?: string;
  /** Set on requests made by the recovery probe after the drill's faults were cleared. */
  readonly probe?: boolean;
}

/** Options of {@link startRig}. */
export interface RigOptions {
  readonly size: DrillSize;
  /** Retry policy; defaults to {@link DRILL_RETRY}. */
  readonly retry?: Partial<RetryPolicy>;
  readonly env?: Record<string, string>;
  readonly overrides?: AppOverrides;
  /**
   * Before each upstream call, inject one of `faults` into the emulator with this probability:
   * a fault rate per NHS call, whatever the cache hit rate.
   */
  readonly faultRate?: { readonly rate: number; readonly faults: readonly FaultSpec[] };
  /** Seeded randomness for fault choice and shuffles, so a failing run can be replayed. */
  readonly random?: () => number;
  /** What the leak scanner forwards to the leak guard; default everything. */
  readonly forward?: ForwardLimits;
  /** Run the cache's shared tier on dynalite (`CACHE_TABLE`), when the helper is there. */
  readonly sharedTier?: boolean;
  readonly emulator?: EmulatorOptions;
}

/** The shared cache tier's test table (test/helpers/dynalite.ts). */
export type DynaliteTable = Awaited<ReturnType<typeof import('../helpers/dynalite.js').startDynalite>>;

/**
 * Starts dynalite with the cache table, or says why it cannot: the helper and the shared tier
 * are built alongside the drills, so a drill needing them is skipped, with the reason, until then.
 */
export async function startSharedTable(): Promise<DynaliteTable | { readonly unavailable: string }> {
  try {
    const { startDynalite } = await import('../helpers/dynalite.js');
    return await startDynalite();
  } catch (err) {
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
}

/** Request options of {@link DrillRig.post}. */
export interface PostOptions {
  readonly headers?: Record<string, string>;
  /** The ID token's `sub`, when the request may succeed (then its token must belong to it). */
  readonly expectSub?: string;
  readonly probe?: boolean;
  /** The caller's IAM principal ARN, as API Gateway's IAM authorisation would report it. */
  readonly caller?: string;
  /** The Lambda context the handler is invoked with (its remaining time). */
  readonly context?: InvocationContext;
}

let sharedKey: FakeKmsKey | undefined;

/** One KMS key per process: RSA key generation is the slowest step of starting a harness. */
export function drillKmsKey(): FakeKmsKey {
  sharedKey ??= { keyId: HARNESS_KEY_ARN, privateKey: rsaKey() };
  return sharedKey;
}

/** A small seeded PRNG (mulberry32), so drills are repeatable from their seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The running proxy plus the record of a drill. */
export interface DrillRig {
  readonly size: DrillSize;
  readonly harness: Harness;
  readonly telemetry: ReturnType<typeof memoryTelemetry>;
  readonly scanner: LeakScanner;
  readonly exchanges: Exchange[];
  readonly policy: RetryPolicy;
  readonly random: () => number;
  /** The shared tier's table, when the rig runs one. */
  readonly table?: DynaliteTable;
  /** Calls made to the NHS token endpoint (attempts, retries included). */
  readonly upstreamCalls: number;
  /** Faults the rig queued in the emulator (by rate or by {@link DrillRig.inject}). */
  readonly faultsQueued: number;
  /** Queues `count` faults in the emulator. */
  inject(fault: FaultSpec, count?: number): void;
  /** Mints a CIS2 ID token for `sub` (with claim overrides) and registers it as a secret. */
  idToken(sub: string, claims?: Record<string, unknown | null>): Promise<string>;
  /** `POST /token` with `{"subject_token": token}` and a fresh correlation id. */
  post(subjectToken: string, options?: PostOptions): Promise<Exchange>;
  /** Sends any event to the handler and records the answer. */
  send(
    event: ProxyEvent,
    meta?: {
      expectSub?: string;
      subjectToken?: string;
      expectLogLine?: boolean;
      probe?: boolean;
      context?: InvocationContext;
    },
  ): Promise<Exchange>;
  /** Registers a step that undoes a dependency fault; run before the recovery probe and at close. */
  onRestore(step: () => void | Promise<void>): void;
  /** Clears queued emulator faults and runs the restore steps. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

const TOKEN_FIELD = /"(?:access_token|refresh_token)"\s*:\s*"([^"]+)"/g;

/** Starts a rig: a fresh harness, its own telemetry and leak scanner. */
export async function startRig(options: RigOptions): Promise<DrillRig> {
  const random = options.random ?? seededRandom(7);
  const scanner = new LeakScanner(options.forward ?? FORWARD_ALL);
  scanner.addSecret(HARNESS_CLIENT_SECRET);
  // The rig's own sinks, not the harness's: the harness would forward every log line and every
  // assertion to the leak guard, whose check is quadratic (see secrets.ts).
  const telemetry = memoryTelemetry();
  const policy: RetryPolicy = { ...DRILL_RETRY, ...options.retry };
  let upstreamCalls = 0;
  let faultsQueued = 0;
  // Rate-based faults stop at restore: the recovery probe runs with every fault cleared.
  let injecting = true;
  let harness: Harness | undefined;
  const restoreSteps: (() => void | Promise<void>)[] = [];

  /** Records every secret sent to or received from NHS, and injects the rate faults. */
  const upstream: typeof fetch = async (input, init) => {
    upstreamCalls += 1;
    const form = new URLSearchParams(String(init?.body ?? ''));
    scanner.addSecret(
      form.get('client_assertion'),
      form.get('subject_token'),
      form.get('refresh_token'),
      form.get('client_secret'),
    );
    const rate = injecting ? options.faultRate : undefined;
    if (rate && harness && random() < rate.rate) {
      harness.emulator.injectFaults(rate.faults[Math.floor(random() * rate.faults.length)] as FaultSpec, 1);
      faultsQueued += 1;
    }
    const response = await fetch(input, init);
    peekText(response, (text) => {
      for (const match of text.matchAll(TOKEN_FIELD)) scanner.addSecret(match[1]);
    });
    return response;
  };

  let table: DynaliteTable | undefined;
  // The NHS budget is off (the harness's default) unless a drill turns it on.
  let env = options.env;
  let overrides: AppOverrides = { telemetry, fetch: upstream, ...options.overrides };
  if (options.sharedTier) {
    const started = await startSharedTable();
    if ('unavailable' in started)
      throw new Error(`the shared cache tier cannot start: ${started.unavailable}`);
    table = started;
    env = { ...env, CACHE: 'on', CACHE_TABLE: table.tableName };
    overrides = { ...overrides, dynamo: table.newClient() };
  }
  harness = await startHarness({
    env,
    emulator: options.emulator,
    kmsKey: drillKmsKey(),
    overrides,
    client: { retry: policy },
  });
  const h = harness;
  const exchanges: Exchange[] = [];

  const send: DrillRig['send'] = async (event, meta = {}) => {
    const started = performance.now();
    let status = 0;
    let rawBody = '';
    let headers: Record<string, unknown> = {};
    let escaped: string | undefined;
    try {
      const result = await h.app.handler(event, meta.context);
      status = result.statusCode;
      rawBody = result.body;
      headers = { ...result.headers };
    } catch (err) {
      escaped = err instanceof Error ? err.name : typeof err;
    }
    const ms = performance.now() - started;
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    // The access token is the one thing the caller is meant to receive; everything else in the
    // answer must be clean, and the token must have come from NHS for this caller (isolation).
    if (typeof body?.access_token === 'string') scanner.addSecret(body.access_token);
    scanner.addText(body ? { ...body, access_token: undefined } : rawBody, headers);
    const exchange: Exchange = {
      seq: exchanges.length + 1,
      correlationId: String(headers['x-correlation-id'] ?? ''),
      expectSub: meta.expectSub,
      subjectToken: meta.subjectToken,
      expectLogLine: meta.expectLogLine ?? false,
      status,
      body,
      rawBody,
      headers,
      ms,
      escaped,
      probe: meta.probe,
    };
    exchanges.push(exchange);
    return exchange;
  };

  return {
    size: options.size,
    harness: h,
    telemetry,
    scanner,
    exchanges,
    policy,
    random,
    table,
    get upstreamCalls() {
      return upstreamCalls;
    },
    get faultsQueued() {
      return faultsQueued;
    },
    inject(fault, count = 1) {
      h.emulator.injectFaults(fault, count);
      faultsQueued += count;
    },
    async idToken(sub, claims = {}) {
      const token = await h.emulator.idToken({ sub, ...claims });
      scanner.addSecret(token);
      return token;
    },
    post(subjectToken, postOptions = {}) {
      const correlationId = `drill-${randomUUID()}`;
      return send(
        {
          httpMethod: 'POST',
          path: '/token',
          headers: {
            'content-type': 'application/json',
            'x-correlation-id': correlationId,
            ...postOptions.headers,
          },
          body: JSON.stringify({ subject_token: subjectToken }),
          isBase64Encoded: false,
          requestContext: postOptions.caller ? { identity: { userArn: postOptions.caller } } : undefined,
        },
        {
          expectSub: postOptions.expectSub,
          subjectToken,
          expectLogLine: true,
          probe: postOptions.probe,
          context: postOptions.context,
        },
      );
    },
    send,
    onRestore(step) {
      restoreSteps.push(step);
    },
    async restore() {
      injecting = false;
      h.emulator.clearFaults();
      // NHS's Retry-After windows pass with the faults: the breaker must not shed the probe.
      h.app.tokenClient.breaker.reset();
      for (const step of restoreSteps.splice(0)) await step();
    },
    async close() {
      h.emulator.clearFaults();
      for (const step of restoreSteps.splice(0)) await step();
      await h.close();
      await table?.stop();
    },
  };
}

/** Runs `task` over `items` with at most `concurrency` in flight; results in input order. */
export async function runConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** The `q` quantile (0..1) of `values`, nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Fisher–Yates shuffle with the rig's randomness. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
