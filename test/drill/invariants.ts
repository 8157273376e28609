/**
 * The invariants every drill must hold, checked by one function after every drill, in the vitest
 * subset and in `npm run drill` alike:
 *
 * - no exception escapes the handler, and every answer is well-formed JSON with a stable code;
 * - every `POST /token` writes exactly one `token_request` log line;
 * - every failure carries the `message_id` of the last NHS answer that had one, and none otherwise;
 * - the overall deadline holds, retries are bounded and every attempt has a fresh `jti`;
 * - every access token handed out belongs to the caller's ID token subject, and to no one else;
 * - no error is cached: none is served as a cache hit, and once the faults are gone the same ID
 *   token succeeds (the recovery probe);
 * - no secret appears in a log line, an answer or the process output.
 */
import { SignCommand } from '@aws-sdk/client-kms';
import type { RequestRecord } from '../../emulator/index.js';
import { ERROR_STATUS, type ProxyErrorCode } from '../../lambda/proxy/errors.js';
import type { LogLine } from '../../lambda/proxy/telemetry.js';
import { findLeaks } from '../helpers/leak-guard.js';
import { HARNESS_API_KEY } from '../helpers/proxy-harness.js';
import { type DrillRig, type DrillSize, type Exchange, quantile, runConcurrently } from './rig.js';
import type { ForwardLimits } from './secrets.js';

/** The drill families, one module each. */
export type DrillFamily =
  | 'upstream'
  | 'dependency'
  | 'bad-input'
  | 'secrets'
  | 'isolation'
  | 'load'
  | 'quota';

/** How a drill is run. */
export interface DrillContext {
  readonly size: DrillSize;
  /** What each drill's leak scanner forwards to the leak guard. */
  readonly forward: ForwardLimits;
}

/** A drill: one kind of trouble, injected, watched, and judged. */
export interface Drill {
  readonly name: string;
  readonly family: DrillFamily;
  /** What the drill injects, for the report. */
  readonly injected: string;
  run(context: DrillContext): Promise<DrillOutcome>;
}

/** What a drill saw and whether the proxy held up. */
export interface DrillOutcome {
  readonly name: string;
  readonly family: DrillFamily;
  readonly injected: string;
  /** What the proxy did, in a line. */
  readonly behaviour: string;
  /** Calls to the handler made by the drill (recovery probes not included). */
  readonly requests: number;
  /** Of those, answered 200 with an access token. */
  readonly served: number;
  /** Faults that reached the proxy: emulator faults served plus dependency faults raised. */
  readonly faultsInjected: number;
  readonly upstreamCalls: number;
  readonly kmsSigns: number;
  /** Failures by `<status> <code>`. */
  readonly failuresByCode: Readonly<Record<string, number>>;
  /** Failures where NHS had given a `message_id`, and of those, how many carried it. */
  readonly failuresNhsGaveMessageId: number;
  readonly failuresWithMessageId: number;
  readonly leaks: number;
  readonly errorsCached: number;
  readonly escaped: number;
  readonly probes: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly durationMs: number;
  /** Broken invariants and unmet expectations; empty when the drill passed. */
  readonly violations: readonly string[];
  /** Drill-specific figures for the report (e.g. metric counters). */
  readonly notes: readonly string[];
  /** Why the drill did not run, when it did not. */
  readonly skipped?: string;
}

/** Collects a drill's own expectations next to the shared invariants. */
export class Verdict {
  readonly violations: string[] = [];
  readonly notes: string[] = [];
  /** Dependency faults raised (KMS, Secrets Manager, DynamoDB), counted by the drill. */
  dependencyFaults = 0;

  /** Records `message` as a violation unless `ok`; violations are capped per message prefix. */
  check(ok: boolean, message: string): boolean {
    if (!ok && this.violations.length < 50) this.violations.push(message);
    return ok;
  }

  note(line: string): void {
    this.notes.push(line);
  }
}

/** Settings of {@link concludeDrill}. */
export interface ConcludeOptions {
  /** Time a request may take beyond the retry deadline (local work, KMS, the cache, scheduling). */
  readonly deadlineSlackMs?: number;
  /** Whether to run the recovery probe (off for drills whose requests can never succeed). */
  readonly probe?: boolean;
  /** What the proxy did, before the summary of answers the conclusion appends. */
  readonly did: string;
  readonly startedAt: number;
}

const PROBE_LIMIT = 200;
const PROBE_CONCURRENCY = 16;
/** Statuses a code may take besides its default: NHS's own 400/401/403 for a refused subject token. */
const MIRRORED: Partial<Record<ProxyErrorCode, readonly number[]>> = {
  subject_token_rejected: [400, 401, 403],
};

const isFailure = (ex: Exchange) => ex.status !== 200;

function jtisOf(line: LogLine | undefined): string[] {
  if (!line) return [];
  const { jtis, jti } = line.fields;
  if (Array.isArray(jtis)) return jtis.map(String);
  return typeof jti === 'string' ? [jti] : [];
}

/**
 * Re-requests, with every fault cleared, each ID token that failed while it could have succeeded:
 * each must now get a token, proving no error was kept.
 *
 * @returns how many probes did not succeed (errors cached).
 */
async function recoveryProbe(rig: DrillRig): Promise<number> {
  await rig.restore();
  const failed = new Map<string, string>();
  for (const ex of rig.exchanges) {
    if (isFailure(ex) && ex.expectSub !== undefined && ex.subjectToken && !ex.probe)
      failed.set(ex.subjectToken, ex.expectSub);
  }
  const probes = [...failed].slice(0, PROBE_LIMIT);
  const answers = await runConcurrently(probes, PROBE_CONCURRENCY, ([token, sub]) =>
    rig.post(token, { expectSub: sub, probe: true }),
  );
  return answers.filter((ex) => ex.status !== 200).length;
}

/** Checks one answer's shape: JSON, a known code with its status, a correlation id. */
function checkShape(ex: Exchange, verdict: Verdict): void {
  const where = `request #${ex.seq} (${ex.status})`;
  if (!verdict.check(ex.escaped === undefined, `${where}: ${ex.escaped} escaped the handler`)) return;
  if (!verdict.check(ex.body !== undefined, `${where}: body is not a JSON object`)) return;
  const body = ex.body as Record<string, unknown>;
  for (const [name, value] of Object.entries(ex.headers))
    verdict.check(typeof value === 'string', `${where}: header ${name} is a ${typeof value}, not a string`);
  verdict.check(
    String(ex.headers['content-type']).startsWith('application/json'),
    `${where}: content-type is ${String(ex.headers['content-type'])}`,
  );
  if (ex.status === 200) {
    if (ex.expectLogLine)
      verdict.check(typeof body.access_token === 'string', `${where}: 200 without an access_token`);
    return;
  }
  const code = body.error as ProxyErrorCode;
  if (!verdict.check(typeof code === 'string' && code in ERROR_STATUS, `${where}: unknown code ${code}`))
    return;
  verdict.check(
    ex.status === ERROR_STATUS[code] || (MIRRORED[code]?.includes(ex.status) ?? false),
    `${where}: code ${code} with status ${ex.status}`,
  );
  verdict.check(
    body.correlation_id === ex.correlationId,
    `${where}: correlation_id missing or not the header's`,
  );
  verdict.check(body.access_token === undefined, `${where}: a failure carried an access token`);
}

/**
 * Runs the shared invariants over a drill's record and builds its outcome. Call it last: it
 * clears the drill's faults to run the recovery probe.
 */
export async function concludeDrill(
  rig: DrillRig,
  drill: Pick<Drill, 'name' | 'family' | 'injected'>,
  verdict: Verdict,
  options: ConcludeOptions,
): Promise<DrillOutcome> {
  const errorsCached = options.probe === false ? 0 : await recoveryProbe(rig);
  verdict.check(errorsCached === 0, `${errorsCached} ID token(s) still failed once the faults were cleared`);

  const lines = rig.telemetry.lines.filter((line) => line.message === 'token_request');
  const linesById = new Map<string, LogLine[]>();
  for (const line of lines) {
    const id = String(line.fields.correlation_id);
    linesById.set(id, [...(linesById.get(id) ?? []), line]);
  }
  const records = rig.harness.emulator.records();
  const recordsByJti = new Map<string, RequestRecord>();
  const givenIds = new Set(records.map((r) => r.messageId).filter((id) => id !== undefined));
  const seenJtis = new Set<string>();
  for (const record of records) {
    if (!record.jti) continue;
    verdict.check(!seenJtis.has(record.jti), `jti ${record.jti} reached NHS twice`);
    seenJtis.add(record.jti);
    recordsByJti.set(record.jti, record);
  }

  // Fuzzed requests may share a correlation id; then each of them accounts for one line.
  const expectedLines = new Map<string, number>();
  for (const ex of rig.exchanges)
    if (ex.expectLogLine) expectedLines.set(ex.correlationId, (expectedLines.get(ex.correlationId) ?? 0) + 1);
  const allowedMs = rig.policy.deadlineMs + (options.deadlineSlackMs ?? 400);
  const tokenOwner = new Map<string, string>();
  let nhsGave = 0;
  let surfaced = 0;
  for (const ex of rig.exchanges) {
    const where = `request #${ex.seq} (${ex.status})`;
    checkShape(ex, verdict);
    verdict.check(ex.ms <= allowedMs, `${where}: took ${Math.round(ex.ms)} ms, deadline ${allowedMs} ms`);
    const own = linesById.get(ex.correlationId) ?? [];
    const expected = expectedLines.get(ex.correlationId) ?? 0;
    if (ex.expectLogLine)
      verdict.check(
        own.length === expected,
        `${where}: ${own.length} token_request log lines, not ${expected}`,
      );
    const line = expected === 1 ? own[0] : undefined;
    const jtis = jtisOf(line);
    verdict.check(jtis.length <= rig.policy.maxAttempts, `${where}: ${jtis.length} attempts`);
    verdict.check(new Set(jtis).size === jtis.length, `${where}: a jti was reused across attempts`);

    if (ex.status === 200 && typeof ex.body?.access_token === 'string' && ex.expectSub !== undefined) {
      const token = ex.body.access_token;
      const info = rig.harness.emulator.introspect(token);
      verdict.check(
        info?.sub === ex.expectSub && info.apiKey === HARNESS_API_KEY && info.active,
        `${where}: token belongs to ${info?.sub ?? 'no one'} (active ${info?.active}), caller ${ex.expectSub}`,
      );
      const owner = tokenOwner.get(token);
      verdict.check(owner === undefined || owner === ex.expectSub, `${where}: token also served to ${owner}`);
      tokenOwner.set(token, ex.expectSub);
    }
    if (!isFailure(ex) || !ex.body) continue;
    const cache = line?.fields.cache;
    verdict.check(
      cache !== 'memory' && cache !== 'shared',
      `${where}: failure served from the ${cache} cache`,
    );
    // A delayed attempt outlives its timeout by design: the proxy never saw that answer.
    const seen = jtis
      .map((jti) => recordsByJti.get(jti))
      .filter((r): r is RequestRecord => r !== undefined && r.fault !== 'delay' && r.messageId !== undefined)
      .sort((a, b) => a.seq - b.seq);
    // A request that joined another's flight to NHS (single flight) made no attempt of its own
    // and shares that flight's answer: its message_id must be one NHS really gave.
    const joined =
      jtis.length === 0 && typeof ex.body.message_id === 'string' && givenIds.has(ex.body.message_id);
    const lastGiven = joined ? (ex.body.message_id as string) : seen.at(-1)?.messageId;
    if (lastGiven !== undefined) nhsGave += 1;
    if (lastGiven !== undefined && ex.body.message_id === lastGiven) surfaced += 1;
    verdict.check(
      ex.body.message_id === lastGiven,
      `${where}: message_id ${String(ex.body.message_id)}, NHS last gave ${String(lastGiven)}`,
    );
    if (line) verdict.check(line.fields.message_id === lastGiven, `${where}: log line message_id differs`);
  }

  // Every log line the proxy wrote (as redacted for CloudWatch) must be clean, not just answers.
  rig.scanner.addText(...rig.telemetry.lines);
  const scannerLeaks = rig.scanner.leaks();
  const guardLeaks = findLeaks();
  const leaks = scannerLeaks.length + guardLeaks.length;
  verdict.check(leaks === 0, `secrets leaked: ${[...scannerLeaks, ...guardLeaks].slice(0, 5).join('; ')}`);
  verdict.check(rig.scanner.secretCount > 0, 'the leak scanner held no secret: it checked nothing');

  const drillExchanges = rig.exchanges.filter((ex) => !ex.probe);
  const failuresByCode: Record<string, number> = {};
  for (const ex of drillExchanges.filter(isFailure)) {
    const key = `${ex.status} ${String(ex.body?.error ?? ex.escaped ?? 'no-body')}`;
    failuresByCode[key] = (failuresByCode[key] ?? 0) + 1;
  }
  const served = drillExchanges.filter((ex) => ex.status === 200).length;
  const latencies = drillExchanges.map((ex) => ex.ms);
  const summary = [
    `${served}/${drillExchanges.length} served`,
    ...Object.entries(failuresByCode).map(([code, n]) => `${code} ×${n}`),
    nhsGave > 0 ? `message_id on ${surfaced}/${nhsGave}` : '',
  ].filter(Boolean);
  const probes = rig.exchanges.length - drillExchanges.length;
  return {
    name: drill.name,
    family: drill.family,
    injected: drill.injected,
    behaviour: `${options.did}${options.did ? '; ' : ''}${summary.join(', ')}${probes ? `; ${probes - errorsCached}/${probes} recovered` : ''}`,
    requests: drillExchanges.length,
    served,
    faultsInjected: records.filter((r) => r.fault !== undefined).length + verdict.dependencyFaults,
    upstreamCalls: rig.upstreamCalls,
    kmsSigns: rig.harness.kms.commandCalls(SignCommand).length,
    failuresByCode,
    failuresNhsGaveMessageId: nhsGave,
    failuresWithMessageId: surfaced,
    leaks,
    errorsCached,
    escaped: drillExchanges.filter((ex) => ex.escaped !== undefined).length,
    probes,
    latencyMs: {
      p50: round(quantile(latencies, 0.5)),
      p99: round(quantile(latencies, 0.99)),
      max: round(Math.max(0, ...latencies)),
    },
    durationMs: Math.round(performance.now() - options.startedAt),
    violations: verdict.violations,
    notes: verdict.notes,
  };
}

/** The outcome of a drill that could not run, with the reason. */
export function skippedDrill(
  drill: Pick<Drill, 'name' | 'family' | 'injected'>,
  reason: string,
): DrillOutcome {
  return {
    name: drill.name,
    family: drill.family,
    injected: drill.injected,
    behaviour: `skipped: ${reason}`,
    requests: 0,
    served: 0,
    faultsInjected: 0,
    upstreamCalls: 0,
    kmsSigns: 0,
    failuresByCode: {},
    failuresNhsGaveMessageId: 0,
    failuresWithMessageId: 0,
    leaks: 0,
    errorsCached: 0,
    escaped: 0,
    probes: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
    durationMs: 0,
    violations: [],
    notes: [],
    skipped: reason,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The `token_request` log line of an exchange, if the handler wrote one. */
export function tokenLine(rig: DrillRig, ex: Exchange): LogLine | undefined {
  return rig.telemetry.lines.find(
    (line) => line.message === 'token_request' && line.fields.correlation_id === ex.correlationId,
  );
}
