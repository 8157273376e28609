/**
 * The API Gateway (REST, proxy integration) handler: routes, the `POST /token` flow
 * (validate → token service → response), one log line per token request, and the mapping of
 * every failure to a JSON error with a stable code. Nothing escapes it as an exception.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Clock } from '../platform/clock.js';
import { ERROR_CODES, type ErrorCodeInfo, isProxyError, ProxyError } from './errors.js';
import { correlationIdOf, parseTokenRequest, type TokenRequest } from './request.js';
import type { PublicSigningJwk } from './signer/signer.js';
import { METRIC, type Telemetry } from './telemetry.js';
import type { BreakerState } from './throttle-breaker.js';
import type { TokenService } from './token-service.js';
import { newTrace, type Trace } from './trace.js';

/** What the handler needs, passed in by the composition root (lambda/proxy/app.ts). */
export interface HandlerDeps {
  readonly environment: string;
  readonly cis2Issuer: string;
  readonly enforceIssuer: boolean;
  readonly tokens: TokenService;
  /**
   * Verifies the ID token's signature after validation and before the token service (which may
   * sign and call NHS); absent turns local verification off.
   */
  readonly verifySubjectToken?: (request: TokenRequest, trace: Trace) => Promise<void>;
  /** Public keys to publish: the signing key first, then keys kept for rotation. */
  readonly jwks: () => Promise<readonly PublicSigningJwk[]>;
  readonly telemetry: Telemetry;
  readonly clock: Clock;
  readonly generateId?: () => string;
  /** The most one request may spend on its dependencies (TOKEN_DEADLINE_MS); see {@link requestDeadline}. */
  readonly deadlineMs?: number;
  /** The NHS throttling breaker's state, reported with every token request. */
  readonly breakerState?: () => BreakerState;
}

/** An API Gateway proxy event, reduced to what the handler reads. */
export type ProxyEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'path' | 'headers' | 'body' | 'isBase64Encoded'
> & {
  /** Present behind API Gateway; the local server and tests may leave it out. */
  readonly requestContext?: {
    readonly requestId?: string;
    readonly identity?: { readonly userArn?: string | null; readonly caller?: string | null };
  };
};

/** Who is calling, as API Gateway's IAM authorisation established it (the principal's ARN). */
export function callerOf(event: ProxyEvent): string | undefined {
  const identity = event.requestContext?.identity;
  return identity?.userArn || identity?.caller || undefined;
}

/** What the handler reads of the Lambda context: the time left before the Lambda timeout. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** The Lambda handler signature. */
export type Handler = (event: ProxyEvent, context?: InvocationContext) => Promise<APIGatewayProxyResult>;

/** API Gateway's integration timeout (REST APIs): past it the caller gets a bare 504/502. */
export const API_GATEWAY_TIMEOUT_MS = 29_000;

/**
 * Time kept back from the request's deadline for what follows the last NHS answer: the shared
 * tier write (two 500 ms attempts by default), the log line and the response.
 */
export const DEADLINE_MARGIN_MS = 2_000;

const ROUTES: Record<string, string> = { '/token': 'POST', '/jwks.json': 'GET', '/health': 'GET' };

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

/** A JSON response that no cache keeps unless `headers` say otherwise. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return { statusCode: status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The JSON error body: stable code, what to do, and the NHS identifiers when NHS answered. */
export function errorResponse(
  error: ProxyError,
  correlationId: string,
  extraHeaders: Record<string, string> = {},
): APIGatewayProxyResult {
  const headers: Record<string, string> = { ...extraHeaders, 'x-correlation-id': correlationId };
  if (error.retryAfterS !== undefined) headers['retry-after'] = String(error.retryAfterS);
  return json(
    error.status,
    {
      error: error.code,
      error_description: error.message,
      correlation_id: correlationId,
      message_id: error.messageId,
      upstream: error.upstream,
      findings: error.findings?.length ? error.findings : undefined,
    },
    headers,
  );
}

/** Turns anything thrown into a ProxyError without copying its message (it may quote a body). */
function asProxyError(err: unknown): ProxyError {
  if (isProxyError(err)) return err;
  return new ProxyError(
    'internal_error',
    'unexpected internal error; quote the correlation_id to the operators',
    {
      cause: err,
    },
  );
}

/**
 * The point on the clock's monotonic line (`Clock.monotonicMs`) by which a request's dependency
 * calls (key fetch, secrets, signing, NHS) must be done: the configured budget, but never past the
 * Lambda timeout or API Gateway's 29 s, each less {@link DEADLINE_MARGIN_MS}, so the caller gets our
 * typed error rather than a 502.
 */
export function requestDeadline(startedAt: number, budgetMs: number, context?: InvocationContext): number {
  const remaining = context?.getRemainingTimeInMillis();
  const bounds = [budgetMs, API_GATEWAY_TIMEOUT_MS - DEADLINE_MARGIN_MS];
  if (typeof remaining === 'number' && Number.isFinite(remaining))
    bounds.push(remaining - DEADLINE_MARGIN_MS);
  return startedAt + Math.max(0, Math.min(...bounds));
}

/** Builds the handler. */
export function createHandler(deps: HandlerDeps): Handler {
  const { telemetry, clock } = deps;
  const generateId = deps.generateId ?? randomUUID;

  /** Writes the request's one log line and its metrics, whatever the outcome. */
  function record(trace: Trace, failed: ProxyError | undefined, startedAt: number): void {
    const durationMs = performance.now() - startedAt;
    const { metrics } = telemetry;
    metrics.latency(METRIC.latencyTotal, durationMs);
    if (trace.kmsMs > 0) metrics.latency(METRIC.latencyKmsSign, trace.kmsMs);
    if (trace.nhsCalls > 0) metrics.count(METRIC.nhsTokenCall, trace.nhsCalls);
    if (trace.shed) metrics.count(METRIC.requestShed);
    if (failed?.code === 'subject_token_unverified') metrics.count(METRIC.idTokenRefused);
    if (deps.breakerState) metrics.count(METRIC.nhsBreakerOpen, deps.breakerState() === 'closed' ? 0 : 1);
    if (trace.grants.length > 0) {
      metrics.latency(METRIC.latencyUpstream, trace.upstreamMs);
      for (const grant of trace.grants) {
        metrics.count(grant === 'refresh_token' ? METRIC.upstreamRefresh : METRIC.upstreamExchange);
      }
      if (trace.attempts > 1) metrics.count(METRIC.upstreamRetry, trace.attempts - 1);
    }
    if (!failed) metrics.count(METRIC.requestSucceeded);
    else if (failed.status < 500) metrics.count(METRIC.clientError);
    else metrics.count(METRIC.requestFailed);
    // Which call failed, from the code's entry in ERROR_CODES, for the operators' alarms.
    const failedCall = failed && (ERROR_CODES[failed.code] as ErrorCodeInfo).failed;
    if (failedCall === 'upstream') metrics.count(METRIC.upstreamFailure);
    if (failedCall === 'dependency') metrics.count(METRIC.dependencyFailure);
    const fields = {
      correlation_id: trace.correlationId,
      // The join key with API Gateway's access log, and who asked (an IAM principal ARN).
      request_id: trace.requestId,
      caller: trace.caller,
      shed: trace.shed,
      nhs_calls: trace.nhsCalls || undefined,
      outcome: failed ? 'failure' : 'success',
      status: failed ? failed.status : 200,
      error_code: failed?.code,
      error_description: failed?.message,
      cause: failed?.cause instanceof Error ? failed.cause.name : undefined,
      grant: trace.grant,
      grants: trace.grants.length > 1 ? trace.grants : undefined,
      cache: trace.cache,
      kid: trace.kid,
      jti: trace.jti,
      jtis: trace.jtis.length > 1 ? trace.jtis : undefined,
      attempts: trace.attempts,
      upstream_status: trace.upstreamStatus,
      upstream_error: trace.upstreamError,
      upstream_error_description: trace.upstreamErrorDescription,
      message_id: failed?.messageId ?? trace.messageId,
      findings: failed?.findings,
      duration_ms: round(durationMs),
      kms_ms: round(trace.kmsMs),
      upstream_ms: round(trace.upstreamMs),
    };
    if (!failed) telemetry.log.info('token_request', fields);
    else if (failed.status < 500) telemetry.log.warn('token_request', fields);
    else telemetry.log.error('token_request', fields);
    metrics.flush();
  }

  async function token(event: ProxyEvent, trace: Trace): Promise<APIGatewayProxyResult> {
    const request = parseTokenRequest(event, {
      nowMs: clock.now(),
      cis2Issuer: deps.cis2Issuer,
      enforceIssuer: deps.enforceIssuer,
    });
    await deps.verifySubjectToken?.(request, trace);
    const issued = await deps.tokens.getToken(request, trace);
    const now = clock.now();
    return json(
      200,
      {
        access_token: issued.accessToken,
        token_type: issued.tokenType,
        expires_in: Math.max(0, Math.floor((issued.expiresAt - now) / 1000)),
        expires_at: Math.floor(issued.expiresAt / 1000),
        issued_token_type: issued.issuedTokenType,
      },
      { 'x-correlation-id': trace.correlationId, pragma: 'no-cache' },
    );
  }

  return async function handle(
    event: ProxyEvent,
    context?: InvocationContext,
  ): Promise<APIGatewayProxyResult> {
    const startedAt = performance.now();
    let correlationId = generateId();
    try {
      correlationId = correlationIdOf(event, () => correlationId);
      const path = (event.path ?? '/').replace(/\/+$/, '') || '/';
      // Own keys only: a path such as `constructor` must not find Object.prototype's members.
      const allowed = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
      // The path is the caller's text (it could hold anything they pasted): never echoed back.
      if (!allowed)
        throw new ProxyError('not_found', 'no such route; use POST /token, GET /jwks.json or GET /health');
      if (event.httpMethod !== allowed) {
        const error = new ProxyError('method_not_allowed', `${path} only accepts ${allowed}`);
        return errorResponse(error, correlationId, { allow: allowed });
      }
      if (path === '/jwks.json') {
        return json(200, { keys: await deps.jwks() }, { 'cache-control': 'public, max-age=300' });
      }
      if (path === '/health') {
        const keys = await deps.jwks();
        return json(200, { status: 'ready', environment: deps.environment, kid: keys[0]?.kid });
      }
      const trace = newTrace(correlationId);
      trace.requestId = event.requestContext?.requestId;
      trace.caller = callerOf(event);
      // Set here, not at the first NHS call: time spent on the cache, the key fetch or Secrets
      // Manager comes out of the same budget.
      if (deps.deadlineMs !== undefined)
        trace.deadlineAt = requestDeadline(clock.monotonicMs(), deps.deadlineMs, context);
      let response: APIGatewayProxyResult;
      let failure: ProxyError | undefined;
      try {
        response = await token(event, trace);
      } catch (err) {
        failure = asProxyError(err);
        response = errorResponse(failure, correlationId);
      }
      try {
        record(trace, failure, startedAt);
      } catch {
        // Telemetry must never cost the caller a token it already has, nor turn a 4xx into a 500.
      }
      return response;
    } catch (err) {
      const error = asProxyError(err);
      if (error.status >= 500) {
        telemetry.log.error('request_failed', {
          correlation_id: correlationId,
          error_code: error.code,
          error_description: error.message,
          cause: error.cause instanceof Error ? error.cause.name : undefined,
        });
      }
      return errorResponse(error, correlationId);
    }
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
