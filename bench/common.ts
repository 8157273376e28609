/** Shared pieces of the benchmarks: API Gateway events and telemetry that costs what production costs. */
import type { ProxyEvent } from '../lambda/handler.js';
import { redactingLog, type Telemetry } from '../lambda/telemetry.js';

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

/**
 * Telemetry that serialises every line to JSON as the production logger does, then drops it,
 * so benchmarks pay the logging cost without flooding the terminal. Metrics are no-ops here; in
 * Lambda they are batched into one EMF line per invocation.
 */
export function benchTelemetry(last: LastLine = { fields: {} }): Telemetry & { last: LastLine } {
  const sink = (message: string, fields: Record<string, unknown> = {}) => {
    JSON.stringify({ level: 'INFO', message, timestamp: new Date().toISOString(), ...fields });
    if (message === 'token_request') last.fields = fields;
  };
  return {
    last,
    log: redactingLog({ info: sink, warn: sink, error: sink }),
    metrics: { count: () => {}, latency: () => {}, flush: () => {} },
  };
}
