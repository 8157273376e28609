/**
 * Client of the NHS API platform token endpoint: RFC 8693 token exchange of a CIS2 ID token, and
 * `refresh_token`. It owns the retry loop, the deadline, the throttling breaker and the budget;
 * the request ({@link exchangeForm}), the HTTP attempt ({@link postForm}) and the reading of the
 * answer ({@link processTokenResponse}) are modules of their own.
 */
import { type Clock, sleepOn } from '../../platform/clock.js';
import { ProxyError } from '../errors.js';
import { type BudgetDecision, callerKey, type NhsBudget } from '../nhs-budget.js';
import type { Signer } from '../signer/signer.js';
import { ThrottleBreaker } from '../throttle-breaker.js';
import type { Grant, Trace } from '../trace.js';
import { postForm } from './attempt.js';
import { exchangeForm, refreshForm, type TokenForm } from './request.js';
import { type AttemptOutcome, processTokenResponse } from './response.js';
import { type AppCredentials, DEFAULT_RETRY_POLICY, type RetryPolicy, type TokenResponse } from './types.js';

/** Dependencies and settings of a {@link TokenEndpointClient}. */
export interface TokenClientOptions {
  readonly tokenUrl: string;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly credentials: () => Promise<AppCredentials>;
  readonly retry?: Partial<RetryPolicy>;
  /** Lifetime of each assertion; see `AssertionParams.lifetimeS`. */
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
    this.sleep = options.sleep ?? ((ms) => sleepOn(options.clock, ms));
  }

  /** The overall budget of one request's calls (the policy's `deadlineMs`). */
  get deadlineMs(): number {
    return this.policy.deadlineMs;
  }

  /** Exchanges a CIS2 ID token for a user-restricted access token (RFC 8693). */
  exchange(subjectToken: string, trace: Trace): Promise<TokenResponse> {
    return this.call('token-exchange', trace, (deadline) =>
      exchangeForm(this.options, subjectToken, trace, deadline),
    );
  }

  /** Redeems a single-use refresh token; authenticates with the client secret, no signature. */
  refresh(refreshToken: string, trace: Trace): Promise<TokenResponse> {
    return this.call('refresh_token', trace, (deadline) => refreshForm(this.options, refreshToken, deadline));
  }

  private async call(
    grant: Grant,
    trace: Trace,
    buildForm: (deadline: number) => Promise<TokenForm>,
  ): Promise<TokenResponse> {
    trace.grant = grant;
    trace.grants.push(grant);
    // One budget per request: a refresh refused by NHS and the exchange that follows share it,
    // so together they stay inside the Lambda and API Gateway timeouts.
    trace.deadlineAt ??= this.options.clock.monotonicMs() + this.policy.deadlineMs;
    const deadline = trace.deadlineAt;
    let last: ProxyError | undefined;
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (deadline - this.options.clock.monotonicMs() <= 0) break;
      // Checked before signing: a call the breaker refuses costs no KMS signature either.
      const admission = this.breaker.admit();
      if ('waitMs' in admission) throw this.shedByBreaker(admission.waitMs, trace);
      let outcome: AttemptOutcome;
      let form: TokenForm;
      try {
        // Taken before signing too: a call over the budget costs neither NHS nor KMS.
        const decision = await this.options.budget?.take(
          grant === 'refresh_token' ? 'refresh' : 'exchange',
          callerKey(trace.caller),
        );
        // A retry the budget refuses ends the call with what NHS last said: an NHS outage under
        // load must still count as NHS's failure, not as a caller over its share.
        if (decision && !decision.allowed) throw last ?? shedByBudget(decision, trace);
        form = await buildForm(deadline);
        trace.attempts = attempt;
        trace.nhsCalls += 1;
        // At least 1 ms, whole: the last attempt before the deadline is still sent, and times out.
        const timeoutMs = Math.max(
          1,
          Math.floor(Math.min(this.policy.attemptTimeoutMs, deadline - this.options.clock.monotonicMs())),
        );
        const answer = await postForm(
          this.options.clock,
          this.fetch,
          this.options.tokenUrl,
          form,
          trace,
          timeoutMs,
        );
        outcome =
          answer.kind === 'answer'
            ? processTokenResponse(answer, grant, form, trace, this.options.clock.now())
            : answer;
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
      if (this.options.clock.monotonicMs() + wait >= deadline) break;
      await this.sleep(wait);
    }
    if (!last || this.options.clock.monotonicMs() >= deadline) {
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

  /** Adds the assertion doctor's findings to NHS's refusal of our client authentication. */
  private async withFindings(error: ProxyError, grant: Grant, form: TokenForm): Promise<ProxyError> {
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
