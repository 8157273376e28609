/**
 * A typed client of the proxy for internal Node services: `getToken(idToken)` signs `POST /token`
 * with SigV4 (service `execute-api`) using the standard AWS credential chain, returns the access
 * token and its expiry, and turns every failure into a {@link TokenProxyError} carrying the
 * proxy's stable `error` code, `correlation_id` and NHS `message_id`. It waits out `Retry-After` on
 * 429 and 503 within a bound, and writes no logs: tokens never leave it except in the result.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { BodyTooLargeError, readBoundedText } from '../lambda/proxy/bounded-body.js';
import type { ProxyErrorCode } from '../lambda/proxy/errors.js';

/** Most of an answer the client reads; the proxy's are under 2 KiB. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** AWS credentials, or a function that resolves them (refreshing ones included). */
export type CredentialsOption =
  | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>);

/** Options of {@link TokenProxyClient}. */
export interface TokenProxyClientOptions {
  /**
   * The stack output `TokenUrl` (`https://abc123.execute-api.eu-west-2.amazonaws.com/v1/token`), or
   * the stage's base URL (`…/v1`), to which `/token` is added.
   */
  readonly url: string;
  /** Region to sign for; default the region in an `execute-api` URL. Required for any other host. */
  readonly region?: string;
  /** Default: the standard chain (environment, SSO, shared files, web identity, ECS, EC2 instance role). */
  readonly credentials?: CredentialsOption;
  /**
   * Attempts in all when the answer is 429 (the proxy's `rate_limited`, API Gateway's throttling) or
   * 503 (`nhs_rate_limited`, `cis2_keys_unavailable`, `signer_unavailable`, `secrets_unavailable`); default 3.
   */
  readonly maxAttempts?: number;
  /** Longest wait before a retry; a larger `Retry-After` ends the call instead. Default 5000 ms. */
  readonly maxRetryDelayMs?: number;
  /** Per-attempt timeout; default 30 s (API Gateway's own limit is 29 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Options of one {@link TokenProxyClient.getToken} call. */
export interface GetTokenOptions {
  /** Sent as `X-Correlation-ID` (1–200 visible ASCII characters); default a new UUID. */
  readonly correlationId?: string;
  readonly signal?: AbortSignal;
}

/** An access token for e-RS. Printing or serialising it shows `[redacted]` in place of the token. */
export class AccessTokenGrant {
  constructor(
    /** Send as `Authorization: Bearer` to e-RS. A secret: never log it. */
    readonly accessToken: string,
    /** When the token stops working (the proxy caps it at the ID token's own expiry by default). */
    readonly expiresAt: Date,
    /** The X-Correlation-ID of the call that got it. */
    readonly correlationId: string,
  ) {}

  /** What `JSON.stringify` sees. */
  toJSON(): Record<string, unknown> {
    return {
      accessToken: '[redacted]',
      expiresAt: this.expiresAt.toISOString(),
      correlationId: this.correlationId,
    };
  }

  [inspect.custom](): string {
    return `AccessTokenGrant ${JSON.stringify(this.toJSON())}`;
  }
}

/**
 * Codes the client adds to the proxy's own (lambda/proxy/errors.ts), for answers the proxy did not write:
 * - `access_denied`: API Gateway refused the call (403: unsigned, bad signature, principal not allowed);
 * - `throttled`: API Gateway's stage throttling (429);
 * - `gateway_error`: another answer of API Gateway itself (e.g. 504 when the function timed out);
 * - `unexpected_response`: a body that is none of these;
 * - `network_error`: no answer (connection failure or the per-attempt timeout).
 */
export type ClientErrorCode =
  | 'access_denied'
  | 'throttled'
  | 'gateway_error'
  | 'unexpected_response'
  | 'network_error';

/** Any `error` a {@link TokenProxyError} can carry. */
export type TokenProxyErrorCode = ProxyErrorCode | ClientErrorCode;

/** What went wrong, with the identifiers support needs. Its message never contains a token. */
export class TokenProxyError extends Error {
  constructor(
    /** The proxy's stable code, or a {@link ClientErrorCode}. */
    readonly error: TokenProxyErrorCode,
    message: string,
    /** HTTP status; 0 when there was no answer. */
    readonly status: number,
    /** The proxy's correlation id (or API Gateway's request id); quote it to the proxy's operators. */
    readonly correlation_id: string,
    /** NHS's message_id when NHS answered; quote it to NHS support. */
    readonly message_id?: string,
    /**
     * Seconds the proxy asked to wait (`Retry-After`); the proxy always sends it with `rate_limited`,
     * `nhs_rate_limited` and `cis2_keys_unavailable`.
     */
    readonly retryAfterS?: number,
    /** NHS's answer, when there was one. */
    readonly upstream?: { status: number; error?: string; error_description?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TokenProxyError';
  }
}

/** `https://{id}.execute-api.{region}.amazonaws.com`, with or without a VPC endpoint id or `.vpce`. */
const EXECUTE_API_HOST = /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

/** The region of an `execute-api` URL, or `undefined` for any other host. */
export function regionOfApiUrl(url: string | URL): string | undefined {
  return EXECUTE_API_HOST.exec(new URL(url).hostname)?.[1];
}

/** SHA-256 and HMAC-SHA-256 for the signer, from node:crypto (the shape of @smithy/hash-node's). */
export class Sha256 {
  private hash;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.create();
  }
  private create() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.create();
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const RETRYABLE = new Set([429, 503]);
/** Backoff before a retry the proxy gave no Retry-After for. */
const DEFAULT_RETRY_DELAY_MS = 500;

/** Reads `Retry-After` in its delay-seconds form (the only form the proxy sends). */
function retryAfterSeconds(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The client. One instance per API URL; it is safe to share. */
export class TokenProxyClient {
  private readonly tokenUrl: URL;
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  /** @throws {@link TypeError} when the region can be neither read from the URL nor taken from options. */
  constructor(private readonly options: TokenProxyClientOptions) {
    const base = new URL(options.url);
    const path = base.pathname.replace(/\/+$/, '');
    this.tokenUrl = path.endsWith('/token') ? base : new URL(`${path}/token`, base);
    const region = options.region ?? regionOfApiUrl(base);
    if (!region) {
      throw new TypeError(`cannot tell the AWS region from ${base.host}; pass the region option`);
    }
    this.signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Sha256,
    });
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Exchanges a CIS2 ID token for an access token.
   *
   * @throws {@link TokenProxyError} for every failure, after waiting out 429 and 503 within the bounds.
   */
  async getToken(idToken: string, options: GetTokenOptions = {}): Promise<AccessTokenGrant> {
    const correlationId = options.correlationId ?? randomUUID();
    const body = JSON.stringify({ subject_token: idToken });
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 3);
    const maxDelayMs = this.options.maxRetryDelayMs ?? 5_000;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(body, correlationId, options.signal);
      if (outcome instanceof AccessTokenGrant) return outcome;
      if (!RETRYABLE.has(outcome.status) || attempt >= maxAttempts) throw outcome;
      const delayMs =
        outcome.retryAfterS === undefined
          ? DEFAULT_RETRY_DELAY_MS * 2 ** (attempt - 1)
          : outcome.retryAfterS * 1000;
      // Waiting longer than the caller allows would only hold its user: fail now, with Retry-After on the error.
      if (delayMs > maxDelayMs) throw outcome;
      await this.sleep(delayMs);
    }
  }

  /** One signed call; a fresh signature (and X-Amz-Date) every time. */
  private async attempt(
    body: string,
    correlationId: string,
    signal: AbortSignal | undefined,
  ): Promise<AccessTokenGrant | TokenProxyError> {
    const url = this.tokenUrl;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: {},
      headers: { host: url.host, 'content-type': 'application/json', 'x-correlation-id': correlationId },
      body,
    });
    // fetch sets Host itself, to the same url.host that was signed.
    const { host: _, ...headers } = signed.headers;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const either = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, { method: 'POST', headers, body, redirect: 'error', signal: either });
      // Bounded: an answer is a few hundred bytes; anything huge is not the proxy's.
      text = await readBoundedText(response, MAX_ANSWER_BYTES, either);
    } catch (cause) {
      const reason =
        cause instanceof BodyTooLargeError
          ? `answered with a body over ${MAX_ANSWER_BYTES} bytes`
          : timeout.aborted
            ? 'did not answer in time'
            : 'could not be reached';
      return new TokenProxyError(
        'network_error',
        `the token proxy ${reason}`,
        0,
        correlationId,
        undefined,
        undefined,
        undefined,
        {
          cause,
        },
      );
    }
    return parseAnswer(response, text, correlationId);
  }
}

/** Turns the proxy's (or API Gateway's) answer into a grant or a typed error. */
function parseAnswer(
  response: Response,
  text: string,
  sentCorrelationId: string,
): AccessTokenGrant | TokenProxyError {
  const correlationId = response.headers.get('x-correlation-id') ?? sentCorrelationId;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const retryAfterS = retryAfterSeconds(response.headers.get('retry-after'));
  const fail = (code: TokenProxyErrorCode, message: string) =>
    new TokenProxyError(code, message, response.status, correlationId, undefined, retryAfterS);

  if (response.status === 200) {
    if (isRecord(body) && typeof body.access_token === 'string' && Number.isSafeInteger(body.expires_at)) {
      return new AccessTokenGrant(
        body.access_token,
        new Date((body.expires_at as number) * 1000),
        correlationId,
      );
    }
    return fail('unexpected_response', 'the token proxy answered 200 without a token response');
  }
  if (isRecord(body) && typeof body.error === 'string') {
    return new TokenProxyError(
      body.error as TokenProxyErrorCode,
      typeof body.error_description === 'string' ? body.error_description : body.error,
      response.status,
      typeof body.correlation_id === 'string' ? body.correlation_id : correlationId,
      typeof body.message_id === 'string' ? body.message_id : undefined,
      retryAfterS,
      isRecord(body.upstream) ? (body.upstream as TokenProxyError['upstream']) : undefined,
    );
  }
  if (isRecord(body) && 'message' in body) {
    // API Gateway's own answer. Only its first line is kept: a signature mismatch goes on to quote
    // the canonical request it expected, security token header included (aws/aws-sdk-js#2372).
    const said =
      typeof body.message === 'string' ? (body.message.split('\n')[0] ?? '').slice(0, 200) : 'no message';
    const code =
      response.status === 403 ? 'access_denied' : response.status === 429 ? 'throttled' : 'gateway_error';
    const requestId = response.headers.get('x-amzn-requestid') ?? correlationId;
    return new TokenProxyError(
      code,
      `API Gateway answered ${response.status}: ${said}`,
      response.status,
      requestId,
      undefined,
      retryAfterS,
    );
  }
  // The body is not quoted: an unknown body could echo anything.
  return fail('unexpected_response', `the token proxy answered ${response.status} with an unrecognised body`);
}
