/** Shared pieces of the benchmarks: API Gateway events and telemetry that costs what production costs. */
import { Writable } from 'node:stream';
import type { ProxyEvent } from '../lambda/proxy/handler.js';
import { powertoolsTelemetry, type Telemetry } from '../lambda/proxy/telemetry.js';

/** A `POST /token` API Gateway event for a subject token. */
export function tokenEvent(subjectToken: string): ProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/token',
    headers: { 'content-type': 'application/json', 'x-correlation-id': 'bench' },
    body: JSON.stringify({ subject_token: subjectToken }),
    isBase64Encoded: false,
  };
}

/** Metric-field snapshot of the last token_request line, for splitting a request's time. */
export interface LastLine {
  fields: Record<string, unknown>;
}

/** What the null sink received: proof that lines were really serialised and written. */
export interface SinkCount {
  writes: number;
  bytes: number;
}

/**
 * A stream that accepts and discards everything, counting what it got. Writing to it costs the
 * stream machinery a real stdout costs, minus the system call.
 */
export function nullSink(count: SinkCount = { writes: 0, bytes: 0 }): Writable & { count: SinkCount } {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      count.writes++;
      count.bytes += chunk.length;
      callback();
    },
  });
  return Object.assign(stream, { count });
}

/**
 * Runs `build` with `process.stdout` and `process.stderr` pointing at `sink`: Powertools' Logger
 * and Metrics bind their own `Console` to whatever those are when they are constructed, so what
 * they build keeps writing to the sink while the rest of the process prints normally.
 */
function withStdioAt<T>(sink: Writable, build: () => T): T {
  const saved = {
    stdout: Object.getOwnPropertyDescriptor(process, 'stdout'),
    stderr: Object.getOwnPropertyDescriptor(process, 'stderr'),
  };
  Object.defineProperty(process, 'stdout', { value: sink, configurable: true });
  Object.defineProperty(process, 'stderr', { value: sink, configurable: true });
  try {
    return build();
  } finally {
    Object.defineProperty(process, 'stdout', saved.stdout as PropertyDescriptor);
    Object.defineProperty(process, 'stderr', saved.stderr as PropertyDescriptor);
  }
}

/**
 * Production telemetry (lambda/proxy/telemetry.ts `powertoolsTelemetry`: the Powertools Logger and EMF
 * Metrics, with redaction) writing to a null sink instead of stdout, so benchmarks pay
 * everything production pays (serialising every log line and one EMF line per invocation)
 * without flooding the terminal. `last` holds the last `token_request` line's fields.
 */
export function benchTelemetry(
  last: LastLine = { fields: {} },
  environment = 'local',
): Telemetry & { last: LastLine; sink: SinkCount } {
  const sink = nullSink();
  const real = withStdioAt(sink, () => powertoolsTelemetry(environment));
  const capture =
    (write: (message: string, fields?: Record<string, unknown>) => void) =>
    (message: string, fields?: Record<string, unknown>) => {
      if (message === 'token_request' && fields) last.fields = fields;
      write(message, fields);
    };
  return {
    last,
    sink: sink.count,
    log: {
      info: capture(real.log.info),
      warn: capture(real.log.warn),
      error: capture(real.log.error),
    },
    metrics: real.metrics,
  };
}
