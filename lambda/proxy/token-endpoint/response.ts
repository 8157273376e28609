/**
 * The response half of a token endpoint call: NHS's answer read into a token, or classified into
 * a typed {@link ProxyError} that says whether to retry and who must act. NHS text passed on is
 * scrubbed of every secret we sent.
 */

import { parseJsonObject } from '../../platform/json.js';
import { PLATFORM_ERRORS } from '../../platform/rules.js';
import { ProxyError, type UpstreamDetail } from '../errors.js';
import { DEFAULT_THROTTLE_WINDOW_MS, MAX_THROTTLE_WINDOW_MS } from '../throttle-breaker.js';
import type { Grant, Trace } from '../trace.js';
import type { HttpAnswer } from './attempt.js';
import type { TokenForm } from './request.js';
import type { TokenResponse } from './types.js';

/** One attempt's outcome, before we decide whether to retry. */
export type AttemptOutcome =
  | { kind: 'token'; token: TokenResponse }
  | { kind: 'retryable'; error: ProxyError }
  | { kind: 'final'; error: ProxyError }
  /** NHS throttled us (429): never retried, the breaker opens. */
  | { kind: 'throttled'; error: ProxyError; retryAfterMs?: number };

/** Longest NHS-supplied string we pass on; the platform's own are well under 300 characters. */
const MAX_UPSTREAM_STRING = 500;

/** Longest access token lifetime we believe: the platform issues 599 s and lets clients only shorten it. */
export const MAX_ACCESS_TOKEN_LIFETIME_S = 3600;

/** Longest refresh token lifetime we believe: the platform issues 43199 s (12 h) for separate auth. */
export const MAX_REFRESH_TOKEN_LIFETIME_S = 86_400;

/**
 * Reads NHS's answer to `form`: a token, or an error to retry, to end the call on, or to open the
 * breaker on. Records NHS's status, message_id and (scrubbed) error text on the trace.
 */
export function processTokenResponse(
  answer: HttpAnswer,
  grant: Grant,
  form: TokenForm,
  trace: Trace,
  nowMs: number,
): AttemptOutcome {
  trace.upstreamStatus = answer.status;
  const body = parseJsonObject(answer.text);
  const sent = SECRET_FIELDS.map((name) => form[name]).filter((v): v is string => v !== undefined);
  // An identifier, but still text from the other end: an echo of our form must not pass in it.
  const messageId = upstreamString(body?.message_id, sent);
  if (messageId) trace.messageId = messageId;
  const upstream: UpstreamDetail = {
    status: answer.status,
    error: upstreamString(body?.error, sent),
    error_description: upstreamString(body?.error_description, sent),
  };
  trace.upstreamError = upstream.error;
  trace.upstreamErrorDescription = upstream.error_description;
  // The last message_id NHS gave in this request, even if this answer carried none (an HTML
  // page, a truncated body): support can find the request from it.
  const options = { messageId: trace.messageId, upstream };

  if (answer.ok) {
    const token = body && parseTokenResponse(body, nowMs);
    if (token) return { kind: 'token', token };
    return {
      kind: 'retryable',
      error: new ProxyError(
        'nhs_bad_response',
        `NHS answered ${answer.status} without a valid token response body`,
        options,
      ),
    };
  }
  if (answer.status === 429) {
    const retryAfterMs = parseRetryAfterMs(answer.headers.get('retry-after'), nowMs);
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
  if (answer.status >= 500) {
    return {
      kind: 'retryable',
      error: new ProxyError('nhs_unavailable', `NHS token endpoint failed with ${answer.status}`, options),
    };
  }
  return { kind: 'final', error: classifyRejection(grant, upstream, options.messageId) };
}

/**
 * Decides who must act on a 4xx from NHS: the caller (their ID token was refused), the session
 * (a refresh token was refused), or an operator (NHS refused this proxy's own client authentication).
 */
export function classifyRejection(
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
export function upstreamString(value: unknown, sent: readonly string[]): string | undefined {
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
