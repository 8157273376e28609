/**
 * Typed errors of the proxy. Every failure a caller can see has a stable `code` (the `error`
 * field of the JSON response), an HTTP status, and, when NHS answered, the NHS `message_id` and
 * the upstream status, `error` and `error_description`, so a support ticket can cite them.
 *
 * Messages are written by us and never contain a token, an assertion or a secret.
 */

import { type Clock, systemClock } from '../platform/clock.js';

/** Who must act on a failure. */
export type Blame =
  /** The caller: their request, ID token or session; a 4xx tells them what to change. */
  | 'caller'
  /** NHS's token endpoint: it failed, could not be reached or throttled us; retry later. */
  | 'upstream'
  /** A service the proxy calls besides NHS (KMS, Secrets Manager, CIS2's keys); retry later. */
  | 'dependency'
  /** This deployment's settings, secret, key or NHS registration: an operator must act. */
  | 'configuration'
  /** A fault in the proxy itself. */
  | 'internal';

/** What an error code means for the caller and for operators. */
export interface ErrorCodeInfo {
  /** HTTP status it maps to (an error may override it to mirror NHS). */
  readonly status: number;
  readonly blame: Blame;
  /**
   * The call whose failure it reports, for the `UpstreamFailure` and `DependencyFailure` metrics:
   * NHS's token endpoint (`upstream`), or KMS, Secrets Manager, CIS2's keys or the settings read
   * at start (`dependency`). Absent when no call failed.
   */
  readonly failed?: 'upstream' | 'dependency';
}

/** Stable error codes returned to callers, with the HTTP status each maps to and who must act. */
export const ERROR_CODES = {
  /** The request body or headers are not what `POST /token` expects. */
  invalid_request: { status: 400, blame: 'caller' },
  /** `subject_token` is not a compact JWS with a usable payload. */
  invalid_subject_token: { status: 400, blame: 'caller' },
  /** `subject_token` expired before we could exchange it. */
  subject_token_expired: { status: 401, blame: 'caller' },
  /**
   * NHS rejected the subject token (wrong issuer, signature...): 400 or 401 as NHS said, or 403
   * when the user's assurance level is too low for the app's products (NHS says 401).
   */
  subject_token_rejected: { status: 401, blame: 'caller' },
  /**
   * `subject_token`'s signature does not verify with the CIS2 issuer's published keys (forged,
   * corrupted, or from another issuer): refused before anything is signed or sent to NHS.
   */
  subject_token_unverified: { status: 401, blame: 'caller' },
  /** The CIS2 issuer's keys could not be fetched, so no ID token can be verified; retry later. */
  cis2_keys_unavailable: { status: 503, blame: 'dependency', failed: 'dependency' },
  /** This caller, or the app as a whole, is over the NHS call budget the proxy keeps; retry later. */
  rate_limited: { status: 429, blame: 'caller' },
  payload_too_large: { status: 413, blame: 'caller' },
  unsupported_media_type: { status: 415, blame: 'caller' },
  method_not_allowed: { status: 405, blame: 'caller' },
  not_found: { status: 404, blame: 'caller' },
  /** NHS refused a refresh token (used, expired or revoked); a fresh exchange is needed. */
  refresh_rejected: { status: 401, blame: 'caller' },
  /** NHS rejected this proxy's own client authentication: an operator must fix configuration. */
  client_rejected: { status: 500, blame: 'configuration', failed: 'upstream' },
  /** NHS answered 5xx or could not be reached, after retries. */
  nhs_unavailable: { status: 502, blame: 'upstream', failed: 'upstream' },
  /** NHS answered 200 with a body that is not a token response, after retries. */
  nhs_bad_response: { status: 502, blame: 'upstream', failed: 'upstream' },
  /** NHS kept rate limiting us (429) until retries ran out. */
  nhs_rate_limited: { status: 503, blame: 'upstream', failed: 'upstream' },
  /** The overall deadline passed before NHS answered. */
  nhs_timeout: { status: 504, blame: 'upstream', failed: 'upstream' },
  /** KMS is throttling or unavailable; retrying later can succeed. */
  signer_unavailable: { status: 503, blame: 'dependency', failed: 'dependency' },
  /** KMS refused to sign (access denied, key disabled or wrong type): an operator must act. */
  signer_misconfigured: { status: 500, blame: 'configuration', failed: 'dependency' },
  /** Secrets Manager could not be read; retrying later can succeed. */
  secrets_unavailable: { status: 503, blame: 'dependency', failed: 'dependency' },
  /** A setting or secret is missing or wrong: an operator must act. */
  config_error: { status: 500, blame: 'configuration', failed: 'dependency' },
  internal_error: { status: 500, blame: 'internal' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A stable error code (the `error` field of the proxy's JSON error responses). */
export type ProxyErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status of each code, derived from {@link ERROR_CODES}. */
export const ERROR_STATUS = Object.fromEntries(
  Object.entries(ERROR_CODES).map(([code, info]) => [code, info.status]),
) as { readonly [K in ProxyErrorCode]: (typeof ERROR_CODES)[K]['status'] };

/** What NHS said, when it said something. */
export interface UpstreamDetail {
  readonly status: number;
  readonly error?: string;
  readonly error_description?: string;
}

/** Options of a {@link ProxyError}. */
export interface ProxyErrorOptions {
  readonly cause?: unknown;
  /** HTTP status to return instead of the code's default (used to mirror NHS 400 vs 401). */
  readonly status?: number;
  readonly messageId?: string;
  readonly upstream?: UpstreamDetail;
  /** Seconds after which the caller may retry, sent as `Retry-After`. */
  readonly retryAfterS?: number;
  /** Assertion doctor finding codes for an assertion NHS rejected (codes only, never the assertion). */
  readonly findings?: readonly string[];
}

/** The one error type the proxy raises on purpose. */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;
  readonly messageId?: string;
  readonly upstream?: UpstreamDetail;
  readonly retryAfterS?: number;
  readonly findings?: readonly string[];

  constructor(code: ProxyErrorCode, message: string, options: ProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.messageId = options.messageId;
    this.upstream = options.upstream;
    this.retryAfterS = options.retryAfterS;
    this.findings = options.findings;
  }
}

/** Narrows an unknown thrown value to a {@link ProxyError}. */
export function isProxyError(value: unknown): value is ProxyError {
  return value instanceof ProxyError;
}

/**
 * Settles as `work` does, unless it has not settled within `ms`: then rejects with `onTimeout()`.
 * A dependency that hangs (a blackholed connection, an SDK call without a timeout) must cost a
 * bounded wait and a clear error, never the whole Lambda timeout. `work` is not cancelled (give
 * it an AbortSignal for that); a failure it reports after the timeout is ignored. `ms` runs on
 * `clock`'s monotonic line.
 */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => ProxyError,
  clock: Pick<Clock, 'setTimer'> = systemClock,
): Promise<T> {
  // Normalised: a test double may answer synchronously where the real client returns a promise.
  const pending = Promise.resolve(work);
  pending.catch(() => {});
  let cancel: (() => void) | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(Math.max(0, ms), () => reject(onTimeout()));
  });
  return Promise.race([pending, timedOut]).finally(() => cancel?.());
}
