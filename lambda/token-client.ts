/**
 * Client of the NHS API platform token endpoint: RFC 8693 token exchange of a CIS2 ID token,
 * `client_credentials`, and `refresh_token`. It owns retries, timeouts and the mapping of every
 * NHS answer to either a parsed token or a typed {@link ProxyError}.
 */
import { type AssertionParams, signClientAssertion } from './assertion.js';
import { BodyTooLargeError, readBoundedText } from './bounded-body.js';
import type { Clock } from './clock.js';
import { ProxyError, type UpstreamDetail, withTimeout } from './errors.js';
import { parseJsonObject } from './json.js';
import { PLATFORM_ERRORS, URN } from './nhs/platform.js';
import { type BudgetDecision, callerKey, type NhsBudget } from './nhs-budget.js';
import type { Signer } from './signer/signer.js';
import { DEFAULT_THROTTLE_WINDOW_MS, MAX_THROTTLE_WINDOW_MS, ThrottleBreaker } from './throttle-breaker.js';
import type { Grant, Trace } from './trace.js';

/** The app's credentials at the platform. */
export interface AppCredentials {
  readonly apiKey: string;
  readonly clientSecret: string;
}

/** A successful token endpoint answer, numbers parsed from the platform's strings. */
export interface TokenResponse {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresInS: number;
  readonly issuedTokenType?: string;
  readonly refreshToken?: string;
  readonly refreshTokenExpiresInS?: number;
  readonly refreshCount?: number;
  /** Our clock when the answer arrived: expiry is computed from this, not from NHS. */
  readonly receivedAt: number;
}

/** Retry and timeout policy. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Per-attempt timeout. */
  readonly attemptTimeoutMs: number;
  /** Overall budget for one call, retries and backoff included; keep well inside API Gateway's 29 s. */
  readonly deadlineMs: number;
  /** Backoff before retry n is uniformly random in [0, min(maxBackoffMs, baseBackoffMs * 2^(n-1))]. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Defaults: 3 attempts of at most 8 s each inside 20 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  attemptTimeoutMs: 8_000,
  deadlineMs: 20_000,
  baseBackoffMs: 100,
  maxBackoffMs: 2_000,
};

/** Dependencies and settings of a {@link TokenEndpointClient}. */
export interface TokenClientOptions {
  readonly tokenUrl: string;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly credentials: () => Promise<AppCredentials>;
  readonly retry?: Partial<RetryPolicy>;
  /** Lifetime of each assertion; see {@link AssertionParams.lifetimeS}. */
  readonly assertionLifetimeS?: number;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Called with an assertion NHS rejected with a 4xx, to name what is wrong with it. Returns
   * finding codes (never the assertion), which go to the log line and the error response.
   */
  readonly diagnoseRejectedAssertion?: (assertion: string, apiKey: string) => Promise<readonly string[]>;
  /** The container's NHS throttling breaker; default one of the client's own. */
  readonly breaker?: ThrottleBreaker;
  /** The NHS budget every call must fit in; absent, calls are limited only by the breaker. */
  readonly budget?: NhsBudget;
}

/** One attempt's outcome, before we decide whether to retry. */
type AttemptOutcome =
  | { kind: 'token'; token: TokenResponse }
  | { kind: 'retryable'; error: ProxyError }
  | { kind: 'final'; error: ProxyError }
  /** NHS throttled us (429): never retried, the breaker opens. */
  | { kind: 'throttled'; error: ProxyError; retryAfterMs?: number };

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls the token endpoint with bounded, jittered retries on network errors, 5xx and unparseable
 * bodies, never on a 4xx. A 429 is not retried: it opens the container's {@link ThrottleBreaker},
 * which fails calls fast (before any signing) until `Retry-After` passes. Every attempt of a grant that
 * authenticates with an assertion signs a new one with a fresh `jti`: the platform burns a `jti`
 * before it checks anything else, so resending one can only fail.
 */
export class TokenEndpointClient {
  private readonly policy: RetryPolicy;
  private readonly fetch: typeof fetch;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The container's NHS throttling breaker. */
  readonly breaker: ThrottleBreaker;

  constructor(private readonly options: TokenClientOptions) {
    this.breaker = options.breaker ?? new ThrottleBreaker(options.clock);
    const given = Object.entries(options.retry ?? {}).filter(([, v]) => v !== undefined);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(given) };
    this.fetch = options.fetch ?? globalThis.fetch;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? sleepMs;
  }

  /** The overall budget of one request's calls (the policy's `deadlineMs`). */
  get deadlineMs(): number {
    return this.policy.deadlineMs;
  }

  /** Exchanges a CIS2 ID token for a user-restricted access token (RFC 8693). */
  exchange(subjectToken: string, trace: Trace): Promise<TokenResponse> {
    return this.call('token-exchange', trace, async (deadline) => ({
      grant_type: URN.tokenExchange,
      subject_token_type: URN.idToken,
      subject_token: subjectToken,
      ...(await this.assertionFields(trace, deadline)),
    }));
  }

  /** Gets an application-restricted access token. */
  clientCredentials(trace: Trace): Promise<TokenResponse> {
    return this.call('client_credentials', trace, async (deadline) => ({
      grant_type: 'client_credentials',
      ...(await this.assertionFields(trace, deadline)),
    }));
  }

  /** Redeems a single-use refresh token; authenticates with the client secret, no signature. */
  refresh(refreshToken: string, trace: Trace): Promise<TokenResponse> {
    return this.call('refresh_token', trace, async (deadline) => {
      const { apiKey, clientSecret } = await this.credentialsBefore(deadline);
      return {
        grant_type: 'refresh_token',
        client_id: apiKey,
        client_secret: clientSecret,
        refresh_token: refreshToken,
      };
    });
  }

  /**
   * The app credentials, within the call's deadline: a Secrets Manager read that hangs must end
   * the call with a clear 503 inside the budget, not run the request into the Lambda timeout.
   */
  private credentialsBefore(deadline: number): Promise<AppCredentials> {
    return withTimeout(
      this.options.credentials(),
      deadline - performance.now(),
      () =>
        new ProxyError('secrets_unavailable', 'the app credentials could not be read before the deadline'),
    );
  }

  private async assertionFields(trace: Trace, deadline: number): Promise<Record<string, string>> {
    const { apiKey } = await this.credentialsBefore(deadline);
    // Signing is bounded by the deadline too, and a hang is the signer's failure, not NHS's.
    const signed = await withTimeout(
      signClientAssertion(this.options.signer, this.options.clock, {
        apiKey,
        tokenUrl: this.options.tokenUrl,
        lifetimeS: this.options.assertionLifetimeS,
      }),
      deadline - performance.now(),
      () => new ProxyError('signer_unavailable', 'the client assertion was not signed before the deadline'),
    );
    trace.kid = signed.kid;
    trace.jti = signed.jti;
    trace.jtis.push(signed.jti);
    trace.kmsMs += signed.signMs;
    return { client_assertion_type: URN.clientAssertionType, client_assertion: signed.assertion };
  }

  private async call(
    grant: Grant,
    trace: Trace,
    buildForm: (deadline: number) => Promise<Record<string, string>>,
  ): Promise<TokenResponse> {
    trace.grant = grant;
    trace.grants.push(grant);
    // One budget per request: a refresh refused by NHS and the exchange that follows share it,
    // so together they stay inside the Lambda and API Gateway timeouts.
    trace.deadlineAt ??= performance.now() + this.policy.deadlineMs;
    const deadline = trace.deadlineAt;
    let last: ProxyError | undefined;
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (deadline - performance.now() <= 0) break;
      // Checked before signing: a call the breaker refuses costs no KMS signature either.
      const admission = this.breaker.admit();
      if ('waitMs' in admission) throw this.shedByBreaker(admission.waitMs, trace);
      let outcome: AttemptOutcome;
      let form: Record<string, string>;
      try {
        // Taken before signing too: a call over the budget costs neither NHS nor KMS.
        const decision = await this.options.budget?.take(
          grant === 'refresh_token' ? 'refresh' : 'exchange',
          callerKey(trace.caller),
        );
        if (decision && !decision.allowed) throw shedByBudget(decision, trace);
        form = await buildForm(deadline);
        trace.attempts = attempt;
        trace.nhsCalls += 1;
        // At least 1 ms, whole: the last attempt before the deadline is still sent, and times out.
        const timeoutMs = Math.max(
          1,
          Math.floor(Math.min(this.policy.attemptTimeoutMs, deadline - performance.now())),
        );
        outcome = await this.attempt(grant, form, trace, timeoutMs);
      } catch (err) {
        this.breaker.released(admission);
        throw err;
      }
      if (outcome.kind === 'throttled') {
        this.breaker.throttled(outcome.retryAfterMs);
        throw outcome.error;
      }
      // Any HTTP answer but a 429 means NHS is not throttling us; no answer tells us nothing.
      if (outcome.kind === 'token' || outcome.error.upstream) this.breaker.answered(admission);
      else this.breaker.released(admission);
      if (outcome.kind === 'token') return outcome.token;
      if (outcome.kind === 'final') throw await this.withFindings(outcome.error, grant, form);
      last = outcome.error;
      if (attempt === this.policy.maxAttempts) break;
      const ceiling = Math.min(this.policy.maxBackoffMs, this.policy.baseBackoffMs * 2 ** (attempt - 1));
      const wait = this.random() * ceiling;
      if (performance.now() + wait >= deadline) break;
      await this.sleep(wait);
    }
    if (!last || performance.now() >= deadline) {
      throw new ProxyError('nhs_timeout', 'NHS did not answer the token request before the deadline', {
        messageId: trace.messageId,
        upstream: last?.upstream,
      });
    }
    throw last;
  }

  /** The answer when the breaker will not let a call go: NHS is throttling this app. */
  private shedByBreaker(waitMs: number, trace: Trace): ProxyError {
    trace.shed = 'breaker';
    return new ProxyError(
      'nhs_rate_limited',
      'NHS is rate limiting token requests for this app; the proxy is not calling it again until its Retry-After has passed',
      { messageId: trace.messageId, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) },
    );
  }

  private async attempt(
    grant: Grant,
    form: Record<string, string>,
    trace: Trace,
    timeoutMs: number,
  ): Promise<AttemptOutcome> {
    const started = performance.now();
    let response: Response;
    let text: string;
    // A timer held in this scope, not AbortSignal.timeout: Node 20's undici keeps no strong
    // reference to a timeout signal, so once it is garbage-collected the timeout never fires and
    // an attempt against a server that drips bytes hangs for ever. The timer also covers the body.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`attempt exceeded ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    try {
      response = await this.fetch(this.options.tokenUrl, {
        method: 'POST',
        // Exactly this media type: the platform answers 415 to anything else.
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'x-correlation-id': trace.correlationId,
        },
        body: new URLSearchParams(form).toString(),
        // Never follow a redirect: a 307/308 would re-post the client secret, the refresh token
        // and the ID token to wherever it points.
        redirect: 'error',
        signal: controller.signal,
      });
      text = await readBoundedText(response, MAX_NHS_BODY_BYTES, controller.signal);
    } catch (err) {
      trace.upstreamMs += performance.now() - started;
      if (err instanceof BodyTooLargeError) {
        return {
          kind: 'retryable',
          error: new ProxyError(
            'nhs_bad_response',
            `NHS answered with a body larger than ${MAX_NHS_BODY_BYTES} bytes; it was cut off`,
            { messageId: trace.messageId },
          ),
        };
      }
      return attemptFailure(err, timeoutMs, trace.messageId);
    } finally {
      clearTimeout(timer);
    }
    trace.upstreamMs += performance.now() - started;
    trace.upstreamStatus = response.status;
    const body = parseJsonObject(text);
    const messageId = boundedString(body?.message_id);
    if (messageId) trace.messageId = messageId;
    const sent = SECRET_FIELDS.map((name) => form[name]).filter((v): v is string => v !== undefined);
    const upstream: UpstreamDetail = {
      status: response.status,
      error: upstreamString(body?.error, sent),
      error_description: upstreamString(body?.error_description, sent),
    };
    trace.upstreamError = upstream.error;
    trace.upstreamErrorDescription = upstream.error_description;
    // The last message_id NHS gave in this request, even if this answer carried none (an HTML
    // page, a truncated body): support can find the request from it.
    const options = { messageId: trace.messageId, upstream };

    if (response.ok) {
      const token = body && parseTokenResponse(body, this.options.clock.now());
      if (token) return { kind: 'token', token };
      return {
        kind: 'retryable',
        error: new ProxyError(
          'nhs_bad_response',
          `NHS answered ${response.status} without a valid token response body`,
          options,
        ),
      };
    }
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), this.options.clock.now());
      const windowMs = Math.min(MAX_THROTTLE_WINDOW_MS, retryAfterMs ?? DEFAULT_THROTTLE_WINDOW_MS);
      return {
        kind: 'throttled',
        retryAfterMs,
        error: new ProxyError('nhs_rate_limited', 'NHS is rate limiting token requests for this app (429)', {
          ...options,
          retryAfterS: Math.max(1, Math.ceil(windowMs / 1000)),
        }),
      };
    }
    if (response.status >= 500) {
      return {
        kind: 'retryable',
        error: new ProxyError(
          'nhs_unavailable',
          `NHS token endpoint failed with ${response.status}`,
          options,
        ),
      };
    }
    return { kind: 'final', error: classifyRejection(grant, upstream, options.messageId) };
  }

  private async withFindings(
    error: ProxyError,
    grant: Grant,
    form: Record<string, string>,
  ): Promise<ProxyError> {
    const assertion = form.client_assertion;
    if (
      error.code !== 'client_rejected' ||
      !assertion ||
      !this.options.diagnoseRejectedAssertion ||
      grant === 'refresh_token'
    ) {
      return error;
    }
    try {
      const { apiKey } = await this.options.credentials();
      const findings = await this.options.diagnoseRejectedAssertion(assertion, apiKey);
      return new ProxyError(error.code, error.message, {
        messageId: error.messageId,
        upstream: error.upstream,
        findings,
      });
    } catch {
      // Diagnosis is a courtesy; the NHS answer stands on its own.
      return error;
    }
  }
}

/** The answer to a call the budget refused: 429 with when to come back. */
function shedByBudget(decision: Exclude<BudgetDecision, { allowed: true }>, trace: Trace): ProxyError {
  trace.shed = decision.reason;
  const why =
    decision.reason === 'caller_share'
      ? "this caller has used its share of the app's NHS token budget"
      : "the app's NHS token budget is used up for now";
  return new ProxyError('rate_limited', `${why}; retry after the Retry-After seconds`, {
    messageId: trace.messageId,
    retryAfterS: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
  });
}

/**
 * Reads an exception from one HTTP attempt. Timeouts and network failures (fetch reports those,
 * redirects refused included, as a TypeError) are NHS's and worth retrying; anything else is a
 * fault of ours, which retrying would only repeat, so it ends the call as an internal error.
 */
function attemptFailure(err: unknown, timeoutMs: number, messageId: string | undefined): AttemptOutcome {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      kind: 'retryable',
      error: new ProxyError('nhs_timeout', `NHS token endpoint did not answer within ${timeoutMs} ms`, {
        messageId,
      }),
    };
  }
  if (err instanceof TypeError) {
    return {
      kind: 'retryable',
      error: new ProxyError(
        'nhs_unavailable',
        'NHS token endpoint could not be reached (connection failed or dropped)',
        { messageId, cause: err },
      ),
    };
  }
  return {
    kind: 'final',
    error: new ProxyError('internal_error', 'the token request could not be sent; quote the correlation_id', {
      messageId,
      cause: err,
    }),
  };
}

/**
 * Decides who must act on a 4xx from NHS: the caller (their ID token was refused), the session
 * (a refresh token was refused), or an operator (NHS refused this proxy's own client authentication).
 */
function classifyRejection(
  grant: Grant,
  upstream: UpstreamDetail,
  messageId: string | undefined,
): ProxyError {
  const description = upstream.error_description ?? '';
  const said = `NHS answered ${upstream.status} ${upstream.error ?? ''}: ${description || '(no description)'}`;
  if (
    grant === 'refresh_token' &&
    (upstream.error === 'invalid_grant' || description.includes('refresh_token'))
  ) {
    return new ProxyError('refresh_rejected', `${said}. Present a fresh ID token.`, { messageId, upstream });
  }
  if (description.includes('subject_token')) {
    return new ProxyError(
      'subject_token_rejected',
      `${said}. Obtain a new CIS2 ID token for this environment.`,
      {
        messageId,
        upstream,
        status: upstream.status === 401 ? 401 : 400,
      },
    );
  }
  // NHS words a failed signature the same for our assertion and for the ID token. Ours cannot be
  // the one: NHS found a key under our kid (else "no matching public key"), and our kid is our
  // key's RFC 7638 thumbprint, so that key is ours. A forged or corrupted ID token is the caller's
  // problem, and must not raise the operators' RequestFailed alarm.
  if (grant === 'token-exchange' && description === PLATFORM_ERRORS.signatureInvalid.error_description) {
    return new ProxyError(
      'subject_token_rejected',
      `${said}. The subject_token's signature does not verify with CIS2's keys: obtain a new CIS2 ID token.`,
      { messageId, upstream, status: 401 },
    );
  }
  if (upstream.error === 'unauthorized_client') {
    return new ProxyError(
      'subject_token_rejected',
      `${said}. The user's authentication assurance level is not accepted for this app's products (e-RS needs AAL2 or AAL3).`,
      { messageId, upstream, status: 403 },
    );
  }
  return new ProxyError(
    'client_rejected',
    `${said}. NHS refused this proxy's client authentication: check the API key in the secret, the JWKS registered with NHS, and the signing key. Quote the message_id to NHS support.`,
    { messageId, upstream },
  );
}

/** Longest NHS-supplied string we pass on; the platform's own are well under 300 characters. */
const MAX_UPSTREAM_STRING = 500;

/** Largest NHS response body we read; a token response is under 2 KiB, an error well under 1 KiB. */
export const MAX_NHS_BODY_BYTES = 64 * 1024;

/** Longest access token lifetime we believe: the platform issues 599 s and lets clients only shorten it. */
export const MAX_ACCESS_TOKEN_LIFETIME_S = 3600;

/** Longest refresh token lifetime we believe: the platform issues 43199 s (12 h) for separate auth. */
export const MAX_REFRESH_TOKEN_LIFETIME_S = 86_400;

/** Every string the platform itself puts in `error` or `error_description` (docs/nhs-platform.md §4). */
const KNOWN_PLATFORM_STRINGS: ReadonlySet<string> = new Set(
  Object.values(PLATFORM_ERRORS).flatMap((e) => [e.error, e.error_description]),
);

/** Form fields whose values are secrets (the grant type names are not, and appear in NHS text). */
const SECRET_FIELDS = ['client_secret', 'client_assertion', 'subject_token', 'refresh_token'] as const;

/** Form fields whose values are secrets, as an echo would spell them (form or JSON). */
const ECHOED_SECRET =
  /((?:client_secret|client_assertion|subject_token|refresh_token|access_token)["']?\s*[=:]\s*["']?)[^&\s"',}]+/gi;

/**
 * A string NHS sent, fit for a log line and an error body: a known platform string as it is;
 * anything else (an intermediary's page, an echo of our request) scrubbed of every value we sent
 * and of anything following a secret field's name, then cut to length.
 */
function upstreamString(value: unknown, sent: readonly string[]): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (KNOWN_PLATFORM_STRINGS.has(value)) return value;
  let text = value;
  for (const secret of sent) {
    // A value too short to be a real secret would shred the text rather than protect anything.
    if (secret.length < 8) continue;
    for (const spelling of new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
    ]))
      text = text.split(spelling).join('[redacted]');
  }
  return text.replace(ECHOED_SECRET, '$1[redacted]').slice(0, MAX_UPSTREAM_STRING);
}

/** A string NHS sent, cut to a length fit for a log line (identifiers such as `message_id`). */
function boundedString(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, MAX_UPSTREAM_STRING) : undefined;
}

/** The platform sends numbers as strings (`"599"`); accept both, reject anything else. */
function parseSeconds(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads a 200's body. Lifetimes are capped: an `expires_in` of `Number.MAX_SAFE_INTEGER` would
 * make a session no clock arithmetic (nor the cache's TTL) can handle, and a longer life than the
 * platform issues can only mean a broken answer, so we hold the token no longer than it could live.
 */
function parseTokenResponse(body: Record<string, unknown>, receivedAt: number): TokenResponse | undefined {
  const expiresInS = capped(parseSeconds(body.expires_in), MAX_ACCESS_TOKEN_LIFETIME_S);
  if (typeof body.access_token !== 'string' || !body.access_token || expiresInS === undefined)
    return undefined;
  const refreshToken =
    typeof body.refresh_token === 'string' && body.refresh_token ? body.refresh_token : undefined;
  return {
    accessToken: body.access_token,
    tokenType: typeof body.token_type === 'string' ? body.token_type : 'Bearer',
    expiresInS,
    issuedTokenType: typeof body.issued_token_type === 'string' ? body.issued_token_type : undefined,
    refreshToken,
    refreshTokenExpiresInS: refreshToken
      ? capped(parseSeconds(body.refresh_token_expires_in), MAX_REFRESH_TOKEN_LIFETIME_S)
      : undefined,
    refreshCount: parseSeconds(body.refresh_count),
    receivedAt,
  };
}

function capped(value: number | undefined, max: number): number | undefined {
  return value === undefined ? undefined : Math.min(value, max);
}

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
