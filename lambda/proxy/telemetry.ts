/**
 * Logs and metrics. Production uses Powertools for AWS Lambda (structured JSON logs, CloudWatch
 * EMF metrics); local runs and tests swap in sinks they can read. Every log call goes through
 * {@link redact}, a safety net behind the rule that no token, assertion or secret is ever passed in.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from '../names.js';

export { METRIC, type MetricName } from '../names.js';

/** Structured log fields: identifiers, statuses and timings only. */
export type LogFields = Record<string, unknown>;

/** Where log lines go. */
export interface LogSink {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Where metrics go. */
export interface MetricsSink {
  count(name: MetricName, value?: number): void;
  latency(name: MetricName, ms: number): void;
  /** Writes out what was recorded for this invocation. */
  flush(): void;
}

/** Logs and metrics together, passed to every stage that reports. */
export interface Telemetry {
  readonly log: LogSink;
  readonly metrics: MetricsSink;
}

// A compact JWS/JWT (header starting `eyJ`, i.e. `{"`) or anything longer that looks like one.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_\-–—+/=]*/g;

/**
 * Replaces anything shaped like a JWT in log fields with a marker, recursively. This is a net
 * under the rule, not the rule: opaque access and refresh tokens cannot be recognised, so the
 * code never hands them to a logger in the first place.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(JWT_LIKE, '[redacted-jwt]');
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, depth + 1)]));
}

/** Wraps a sink so every line is redacted and undefined fields are dropped. */
export function redactingLog(sink: LogSink): LogSink {
  const clean = (fields: LogFields | undefined) =>
    fields &&
    (redact(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))) as LogFields);
  return {
    info: (message, fields) => sink.info(message, clean(fields)),
    warn: (message, fields) => sink.warn(message, clean(fields)),
    error: (message, fields) => sink.error(message, clean(fields)),
  };
}

/** Production telemetry: Powertools Logger and EMF Metrics with an `environment` dimension. */
export function powertoolsTelemetry(environment: string): Telemetry {
  const logger = new Logger({ serviceName: SERVICE_NAME, persistentKeys: { environment } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { environment },
  });
  return {
    log: redactingLog({
      info: (message, fields) => logger.info(message, fields ?? {}),
      warn: (message, fields) => logger.warn(message, fields ?? {}),
      error: (message, fields) => logger.error(message, fields ?? {}),
    }),
    metrics: {
      count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
      latency: (name, ms) => metrics.addMetric(name, MetricUnit.Milliseconds, Math.round(ms * 1000) / 1000),
      flush: () => metrics.publishStoredMetrics(),
    },
  };
}

/** Metrics kept in memory: for local runs, tests and benchmarks. */
export class MemoryMetrics implements MetricsSink {
  readonly counts = new Map<MetricName, number>();
  readonly latencies = new Map<MetricName, number[]>();

  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  latency(name: MetricName, ms: number): void {
    const list = this.latencies.get(name) ?? [];
    list.push(ms);
    this.latencies.set(name, list);
  }
  flush(): void {}
  /** Count recorded for `name` (0 if none). */
  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }
}

/** A log line as recorded by {@link MemoryLog}. */
export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/** A log sink that keeps lines in memory; optionally echoes them as JSON. */
export class MemoryLog implements LogSink {
  readonly lines: LogLine[] = [];
  constructor(private readonly echo?: (line: string) => void) {}
  info(message: string, fields: LogFields = {}): void {
    this.push('info', message, fields);
  }
  warn(message: string, fields: LogFields = {}): void {
    this.push('warn', message, fields);
  }
  error(message: string, fields: LogFields = {}): void {
    this.push('error', message, fields);
  }
  private push(level: LogLine['level'], message: string, fields: LogFields): void {
    this.lines.push({ level, message, fields });
    this.echo?.(JSON.stringify({ level, message, ...fields }));
  }
}

/** Telemetry that records in memory, with log redaction as in production. */
export function memoryTelemetry(
  echo?: (line: string) => void,
): Telemetry & { lines: LogLine[]; counters: MemoryMetrics } {
  const log = new MemoryLog(echo);
  const metrics = new MemoryMetrics();
  return { log: redactingLog(log), metrics, lines: log.lines, counters: metrics };
}
