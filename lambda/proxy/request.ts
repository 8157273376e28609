/**
 * Validation of `POST /token` requests, before anything is signed or sent: a request that cannot
 * succeed is answered here with a 4xx naming what is wrong, and costs no KMS call and no NHS call.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { isJsonObject } from '../platform/json.js';
import { decodeJws, JwsDecodeError } from '../platform/jws.js';
import { checkSubjectTokenClaims, PLATFORM_ERRORS, SUBJECT_TOKEN_ALGS } from '../platform/rules.js';
import { ProxyError } from './errors.js';

/** Largest request body we read; CIS2 ID tokens are a few KiB. */
export const MAX_BODY_BYTES = 32 * 1024;

// Re-exported for id-token-verifier.ts, which imports it from here; the platform rules define it.

/** Longest remaining life we accept in an ID token; CIS2 ID tokens live minutes to hours. */
export const MAX_SUBJECT_LIFETIME_MS = 24 * 3600 * 1000;

/** A request that passed validation. */
export interface TokenRequest {
  readonly subjectToken: string;
  /** The ID token's `exp`, in milliseconds. */
  readonly subjectExpiresAt: number;
  /** The ID token's `sub` (a user id, not a secret), for logs. */
  readonly subject?: string;
}

/** How subject tokens are judged. */
export interface SubjectTokenPolicy {
  readonly nowMs: number;
  /** CIS2 issuers the environment's platform accepts. */
  readonly cis2Issuer: string;
  /** Whether a token from another issuer is refused here; off where the issuer is not confirmed. */
  readonly enforceIssuer: boolean;
}

const CORRELATION_ID = /^[\x21-\x7e]{1,200}$/;

/** Case-insensitive header lookup on an API Gateway event. */
export function header(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * The caller's `X-Correlation-ID` if it is usable, otherwise a new one.
 *
 * @throws {@link ProxyError} `invalid_request` if the header is present but not 1–200 visible ASCII characters.
 */
export function correlationIdOf(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  generate: () => string,
): string {
  const given = header(event, 'x-correlation-id');
  if (given === undefined || given === '') return generate();
  if (!CORRELATION_ID.test(given)) {
    throw new ProxyError('invalid_request', 'X-Correlation-ID must be 1 to 200 visible ASCII characters');
  }
  return given;
}

function bodyText(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string {
  const raw = event.body ?? '';
  if (Buffer.byteLength(raw) > (event.isBase64Encoded ? (MAX_BODY_BYTES * 4) / 3 + 4 : MAX_BODY_BYTES)) {
    throw new ProxyError('payload_too_large', `request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new ProxyError('payload_too_large', `request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return text;
}

/**
 * Validates a `POST /token` event: JSON body `{"subject_token": "<CIS2 ID token>"}`, where the
 * token is a compact JWS that the platform's own subject token checks would not refuse.
 *
 * @throws {@link ProxyError} with a 4xx code naming the first problem found.
 */
export function parseTokenRequest(
  event: Pick<APIGatewayProxyEvent, 'headers' | 'body' | 'isBase64Encoded'>,
  policy: SubjectTokenPolicy,
): TokenRequest {
  const contentType = header(event, 'content-type');
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType.trim())) {
    throw new ProxyError('unsupported_media_type', 'Content-Type must be application/json');
  }
  const text = bodyText(event);
  if (!text.trim())
    throw new ProxyError(
      'invalid_request',
      'request body is empty; send {"subject_token": "<CIS2 ID token>"}',
    );
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProxyError(
      'invalid_request',
      'request body is not valid JSON; send {"subject_token": "<CIS2 ID token>"}',
    );
  }
  if (!isJsonObject(body)) {
    throw new ProxyError(
      'invalid_request',
      'request body must be a JSON object {"subject_token": "<CIS2 ID token>"}',
    );
  }
  const subjectToken = (body as Record<string, unknown>).subject_token;
  if (subjectToken === undefined) throw new ProxyError('invalid_request', 'subject_token is missing');
  if (typeof subjectToken !== 'string')
    throw new ProxyError('invalid_request', 'subject_token must be a string');
  return validateSubjectToken(subjectToken, policy);
}

function validateSubjectToken(token: string, policy: SubjectTokenPolicy): TokenRequest {
  if (token.length === 0) throw new ProxyError('invalid_request', 'subject_token is empty');
  let decoded: ReturnType<typeof decodeJws>;
  try {
    decoded = decodeJws(token);
  } catch (err) {
    const reason = err instanceof JwsDecodeError ? err.reason : 'segments';
    const detail = {
      segments: 'it does not have three dot-separated parts',
      alphabet: 'it contains characters outside base64url (whitespace, quotes, typographic dashes?)',
      header: 'its header is not base64url-encoded JSON',
      payload: 'its payload is not base64url-encoded JSON',
    }[reason];
    throw new ProxyError(
      'invalid_subject_token',
      `subject_token is not a CIS2 ID token (a compact JWT): ${detail}`,
    );
  }
  const failure = checkSubjectTokenClaims(decoded.header, decoded.payload, policy.nowMs, [policy.cis2Issuer]);
  if (failure && !(failure === 'subjectIssUnknown' && !policy.enforceIssuer)) {
    // Claims NHS's refusal, so it quotes NHS's words exactly; our own context stays outside the quotes.
    const nhs = `NHS would refuse this subject_token with "${PLATFORM_ERRORS[failure].error_description}"`;
    if (failure === 'subjectExpired') {
      throw new ProxyError('subject_token_expired', `${nhs}; obtain a new CIS2 ID token`);
    }
    const extra =
      failure === 'subjectIssUnknown' ? ` (this environment's CIS2 issuer is ${policy.cis2Issuer})` : '';
    throw new ProxyError('invalid_subject_token', `${nhs}${extra}`);
  }
  // Checked after the platform's claim rules, so a token failing both is told the platform's reason.
  // Checked here at all because NHS answers any other alg with a catch-all 500, which would cost a
  // KMS signature per retry and reach the caller as nhs_unavailable.
  const { alg } = decoded.header;
  if (!SUBJECT_TOKEN_ALGS.includes(alg as string)) {
    // Echo the alg only when it is short: the message goes to the caller and to the log line.
    const named = typeof alg === 'string' && /^[\w-]{1,16}$/.test(alg) ? `alg ${alg}` : 'an unsupported alg';
    throw new ProxyError(
      'invalid_subject_token',
      `subject_token is signed with ${named}; CIS2 ID tokens are ${SUBJECT_TOKEN_ALGS.join(' or ')}`,
    );
  }
  if (decoded.signature.length === 0) {
    throw new ProxyError(
      'invalid_subject_token',
      'subject_token has no signature; send the ID token CIS2 issued',
    );
  }
  const { exp, sub } = decoded.payload;
  // The platform only asks for a number; CIS2 issues whole seconds. A fractional or astronomical
  // exp would make expiry arithmetic (and the cache entries keyed on it) meaningless. A past exp
  // the platform's script does not see as expired (beyond the Date range, e.g. -1e13) is refused
  // here in our own words: what NHS answers for it is not known (docs/nhs-platform.md §2).
  const expMs = (exp as number) * 1000;
  if (!Number.isSafeInteger(exp) || expMs > policy.nowMs + MAX_SUBJECT_LIFETIME_MS || expMs <= policy.nowMs) {
    throw new ProxyError(
      'invalid_subject_token',
      "subject_token's exp must be whole seconds within a day from now; send the ID token CIS2 issued",
    );
  }
  return {
    subjectToken: token,
    subjectExpiresAt: (exp as number) * 1000,
    subject: typeof sub === 'string' ? sub : undefined,
  };
}
