/**
 * Fault injection for drills: the failures a client of the real token endpoint meets that are not
 * the platform's own validation errors (gateway errors, throttling, broken bodies, slow or dropped
 * connections). Faults are queued and consumed one per token request.
 */
import type { ServerResponse } from 'node:http';
import { PLATFORM_ERRORS, type PlatformError } from '../lambda/platform/rules.js';

/** One injected failure of the token endpoint. */
export type FaultSpec =
  /** A platform-style JSON error (`unknown_error` with a `message_id`) with this status. */
  | { kind: 'status'; status: 500 | 502 | 503 | 504 }
  /** 429 with the platform's rate-limit body, plus `Retry-After` when given. */
  | { kind: 'rate-limit'; retryAfterSeconds?: number }
  /** An HTML error page, as a load balancer in front of the platform would send (default 502). */
  | { kind: 'html'; status?: number }
  /** 200 with a JSON token body cut in half. */
  | { kind: 'truncated' }
  /** 200 with a `text/plain` body that is not JSON. */
  | { kind: 'non-json' }
  /** Waits this many milliseconds, then handles the request normally. */
  | { kind: 'delay'; ms: number }
  /** Destroys the socket without sending a response. */
  | { kind: 'drop' }
  /** 200 `application/json` whose body is `bytes` long (streamed, never held in memory). */
  | { kind: 'oversized'; bytes: number }
  /** 200 `application/json` headers at once, then one byte every `intervalMs`, never finishing. */
  | { kind: 'drip'; intervalMs: number };

/** The `kind` of a {@link FaultSpec}. */
export type FaultKind = FaultSpec['kind'];

/**
 * The platform's throttling response (`AssignMessage.RatelimitExceeded.xml` in
 * NHSDigital/identity-service-api), raised by its SpikeArrest and Quota policies.
 */
export const RATE_LIMIT_ERROR: PlatformError = {
  status: 429,
  error: 'ratelimit_exceeded',
  error_description: 'The rate limit was exceeded',
};

/** Thrown by {@link parseFaultSpec} and {@link FaultQueue.inject} for a fault that cannot be injected. */
export class FaultSpecError extends Error {
  readonly code = 'ERR_EMULATOR_FAULT';
  constructor(message: string) {
    super(message);
    this.name = 'FaultSpecError';
  }
}

const GATEWAY_STATUSES: readonly number[] = [500, 502, 503, 504];

/** Largest oversized body the emulator agrees to stream (the drill uses 400 MB). */
const MAX_OVERSIZED_BYTES = 2 ** 31;

const isNonNegativeInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * Validates an untrusted fault (from the admin HTTP API or a config file).
 *
 * @throws {@link FaultSpecError} saying what is wrong.
 */
export function parseFaultSpec(value: unknown): FaultSpec {
  if (value === null || typeof value !== 'object') throw new FaultSpecError('fault must be an object');
  const fault = value as Record<string, unknown>;
  switch (fault.kind) {
    case 'status':
      if (!GATEWAY_STATUSES.includes(fault.status as number))
        throw new FaultSpecError(`status fault needs status one of ${GATEWAY_STATUSES.join(', ')}`);
      return { kind: 'status', status: fault.status as 500 | 502 | 503 | 504 };
    case 'rate-limit':
      if (fault.retryAfterSeconds !== undefined && !isNonNegativeInteger(fault.retryAfterSeconds))
        throw new FaultSpecError('retryAfterSeconds must be a non-negative integer');
      return { kind: 'rate-limit', retryAfterSeconds: fault.retryAfterSeconds };
    case 'html':
      if (fault.status !== undefined && !(isNonNegativeInteger(fault.status) && fault.status >= 400))
        throw new FaultSpecError('html fault status must be an HTTP error status');
      return { kind: 'html', status: fault.status };
    case 'delay':
      if (!isNonNegativeInteger(fault.ms)) throw new FaultSpecError('delay fault needs ms, an integer >= 0');
      return { kind: 'delay', ms: fault.ms };
    case 'oversized':
      if (!isNonNegativeInteger(fault.bytes) || fault.bytes > MAX_OVERSIZED_BYTES)
        throw new FaultSpecError(`oversized fault needs bytes, an integer from 0 to ${MAX_OVERSIZED_BYTES}`);
      return { kind: 'oversized', bytes: fault.bytes };
    case 'drip':
      if (!isNonNegativeInteger(fault.intervalMs) || fault.intervalMs < 1)
        throw new FaultSpecError('drip fault needs intervalMs, an integer >= 1');
      return { kind: 'drip', intervalMs: fault.intervalMs };
    case 'truncated':
    case 'non-json':
    case 'drop':
      return { kind: fault.kind };
    default:
      throw new FaultSpecError(
        'fault kind must be one of status, rate-limit, html, truncated, non-json, delay, drop, oversized, drip',
      );
  }
}

/** Faults waiting for the next token requests, oldest first. */
export class FaultQueue {
  private readonly queue: FaultSpec[] = [];

  /**
   * Schedules `fault` for the next `count` token requests, after any already queued.
   *
   * @throws {@link FaultSpecError} for an invalid fault or count.
   */
  inject(fault: FaultSpec, count = 1): void {
    const checked = parseFaultSpec(fault);
    if (!Number.isInteger(count) || count < 1) throw new FaultSpecError('count must be an integer >= 1');
    for (let i = 0; i < count; i += 1) this.queue.push(checked);
  }

  /** Drops every queued fault. */
  clear(): void {
    this.queue.length = 0;
  }

  /** Removes and returns the fault for the current request, if any. */
  take(): FaultSpec | undefined {
    return this.queue.shift();
  }
}

/** A fault that replaces the response (every kind except `delay`, which only postpones it). */
export type ResponseFault = Exclude<FaultSpec, { kind: 'delay' }>;

function htmlPage(status: number): string {
  const title = `${status} Error`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
}

/** A plausible token-exchange body, for the truncated fault; the tokens in it are never valid. */
function fakeTokenBody(): string {
  return JSON.stringify({
    access_token: 'Emulat0rTruncatedResp0nse0000',
    expires_in: '599',
    token_type: 'Bearer',
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    refresh_token: 'Emulat0rTruncatedRefresh0000000',
    refresh_token_expires_in: '43199',
    refresh_count: '0',
  });
}

/** Chunk of an oversized body: the start of a token response, then padding inside the string. */
const OVERSIZED_CHUNK = Buffer.alloc(64 * 1024, 'A');

/**
 * Streams `bytes` of `{"access_token":"AAAA…` with backpressure, stopping when the client goes:
 * 400 MB costs the emulator one 64 KiB buffer, not 400 MB.
 */
function streamOversized(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': bytes });
  const head = Buffer.from('{"access_token":"').subarray(0, bytes);
  let left = bytes - head.length;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const pump = (): void => {
    while (!closed && left > 0) {
      const chunk = OVERSIZED_CHUNK.subarray(0, Math.min(left, OVERSIZED_CHUNK.length));
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!closed) res.end();
  };
  res.write(head);
  pump();
}

/** Sends headers, then one byte of a JSON body every `intervalMs` until the client goes. */
function drip(res: ServerResponse, intervalMs: number): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  res.write('{');
  const timer = setInterval(() => res.write(' '), intervalMs);
  res.on('close', () => clearInterval(timer));
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** What a fault sent, for the request record. */
export interface FaultResponse {
  /** HTTP status sent, or 0 when the connection was dropped. */
  readonly status: number;
  /** The platform-style error in the body, when the body is one. */
  readonly error?: PlatformError;
  readonly messageId?: string;
}

/**
 * Writes the response a fault stands for.
 *
 * @param nextMessageId - mints the `message_id` of platform-style JSON error bodies.
 */
export function writeFault(
  res: ServerResponse,
  fault: ResponseFault,
  nextMessageId: () => string,
): FaultResponse {
  const sendError = (error: PlatformError): FaultResponse => {
    const messageId = nextMessageId();
    const body = { error: error.error, error_description: error.error_description, message_id: messageId };
    send(res, error.status, 'application/json', JSON.stringify(body));
    return { status: error.status, error, messageId };
  };
  switch (fault.kind) {
    case 'status':
      return sendError({ ...PLATFORM_ERRORS.unknownError, status: fault.status });
    case 'rate-limit':
      if (fault.retryAfterSeconds !== undefined)
        res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      return sendError(RATE_LIMIT_ERROR);
    case 'html': {
      const status = fault.status ?? 502;
      send(res, status, 'text/html', htmlPage(status));
      return { status };
    }
    case 'truncated': {
      const body = fakeTokenBody();
      send(res, 200, 'application/json', body.slice(0, Math.floor(body.length / 2)));
      return { status: 200 };
    }
    case 'non-json':
      send(res, 200, 'text/plain', 'OK upstream connection established; no token for you\n');
      return { status: 200 };
    case 'drop':
      res.socket?.destroy();
      return { status: 0 };
    case 'oversized':
      streamOversized(res, fault.bytes);
      return { status: 200 };
    case 'drip':
      drip(res, fault.intervalMs);
      return { status: 200 };
  }
}
