/**
 * The client-authentication probe: one token-exchange request with a correctly signed client
 * assertion and a deliberately malformed subject token. The platform checks the client assertion,
 * the API key, the registered JWKS, the signature and `aud` before it decodes the subject token
 * (`Flow.PostTokenTokenExchange` in NHSDigital/identity-service-api, docs/probe.md), so it answers
 * 400 "Malformed JWT in subject_token" exactly when it accepted our client authentication, and
 * anything else it answers names what it refused. No user and no CIS2 login are needed; the probe
 * costs one `jti` and one request of the app's rate limit.
 */

import { bySeverity, diagnose } from '../doctor/index.js';
import { environmentOfTokenUrl } from '../doctor/target.js';
import type { Clock } from '../platform/clock.js';
import { parseJsonObject } from '../platform/json.js';
import { PLATFORM_ERRORS, URN } from '../platform/rules.js';
import { signClientAssertion } from '../proxy/assertion.js';
import { BodyTooLargeError, readBoundedText } from '../proxy/bounded-body.js';
import type { PublicSigningJwk, Signer } from '../proxy/signer/signer.js';
import { upstreamString } from '../proxy/token-endpoint/response.js';
import type { AppCredentials } from '../proxy/token-endpoint/types.js';

/**
 * The subject token the probe sends: the very value NHS's own end-to-end test sends next to a
 * valid client assertion, expecting 400 {@link PROBE_ACCEPTED_ANSWER} (`"subject_token": "invalid"`
 * in `test_token_exchange_form_param_errors`, e2e/tests/oauth/test_token_exchange.py of
 * NHSDigital/identity-service-api). DecodeJWT.FromSubjectTokenFormParam fails on it with
 * `FailedToDecode`, which the fault rule `failed_decoding_jwt_subject_token` answers. It is no
 * one's token: nothing leaks if it is logged.
 */
export const PROBE_SUBJECT_TOKEN = 'invalid';

/** The answer that means "client authentication accepted": the subject token was the first thing refused. */
export const PROBE_ACCEPTED_ANSWER = PLATFORM_ERRORS.subjectTokenMalformed;

/** How long the probe waits for NHS; one attempt, no retries (each would cost a request of the quota). */
export const PROBE_TIMEOUT_MS = 10_000;

/** The most of an answer the probe reads; platform error bodies are a few hundred bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** What the probe learnt. The JSON form of the CLI prints exactly these fields. */
export interface ProbeVerdict {
  /** Whether NHS accepted our client authentication. */
  readonly accepted: boolean;
  /** The `kid` the probe's assertion carried. */
  readonly kid: string;
  /** NHS's HTTP status. */
  readonly status: number;
  readonly error: string | null;
  readonly error_description: string | null;
  /** NHS's `message_id`: quote it to NHS support. */
  readonly message_id: string | null;
  /**
   * Assertion doctor finding codes for the probe's own assertion against our published keys,
   * errors first; empty when NHS accepted. `SIGNATURE_VERIFIED` without an error finding means
   * our side is sound and what NHS holds for the app (API key, registered JWKS) differs.
   */
  readonly findings: readonly string[];
}

/** Why a probe could not reach a verdict: nothing was learnt about client authentication. */
export type ProbeUnusableReason =
  | 'credentials'
  | 'signer'
  | 'unreachable'
  | 'timeout'
  | 'rate_limited'
  | 'no_platform_answer';

/** Thrown when the probe cannot tell whether NHS accepts our client authentication. */
export class ProbeUnusableError extends Error {
  override readonly name = 'ProbeUnusableError';
  constructor(
    readonly reason: ProbeUnusableReason,
    message: string,
    readonly messageId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a probe needs: the same seams the proxy's token client is built from. */
export interface ProbeOptions {
  /** The key to sign with (the proxy's signer, or a published key that does not sign yet). */
  readonly signer: Signer;
  readonly clock: Clock;
  readonly credentials: () => Promise<AppCredentials>;
  /** The environment's token URL: the assertion's `aud`, exactly as the proxy signs it. */
  readonly tokenUrl: string;
  /** Where to send the probe; default `tokenUrl`. The doctor checks `aud` against this. */
  readonly endpoint?: string;
  /** Our published keys, which the doctor checks a refused assertion against. */
  readonly jwks: () => Promise<readonly PublicSigningJwk[]>;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** NHS's text as the proxy passes it on: known platform strings as they are, echoes of the assertion scrubbed. */
const scrubbed = (value: unknown, assertion: string): string | null =>
  upstreamString(value, [assertion]) ?? null;

/**
 * Sends one probe and classifies NHS's answer. The assertion is signed by
 * {@link signClientAssertion}, the proxy's own code path, and never leaves this function except
 * in the request to NHS.
 *
 * @throws {@link ProbeUnusableError} when no verdict can be had: no credentials, the signer
 *   failed, NHS could not be reached or timed out, rate limited us, or answered without a
 *   platform error body.
 */
export async function probeClientAuth(options: ProbeOptions): Promise<ProbeVerdict> {
  const endpoint = options.endpoint ?? options.tokenUrl;
  let apiKey: string;
  try {
    ({ apiKey } = await options.credentials());
  } catch (error) {
    throw new ProbeUnusableError(
      'credentials',
      `the app credentials could not be read: ${messageOf(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  let signed: Awaited<ReturnType<typeof signClientAssertion>>;
  try {
    signed = await signClientAssertion(options.signer, options.clock, { apiKey, tokenUrl: options.tokenUrl });
  } catch (error) {
    throw new ProbeUnusableError(
      'signer',
      `the probe assertion could not be signed: ${messageOf(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }

  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  // Held until the body is read, so it bounds the read too (and is not collected mid-request).
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? globalThis.fetch)(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: URN.tokenExchange,
        subject_token_type: URN.idToken,
        subject_token: PROBE_SUBJECT_TOKEN,
        client_assertion_type: URN.clientAssertionType,
        client_assertion: signed.assertion,
      }).toString(),
      // As the token client: a redirect would re-post the assertion wherever it points.
      redirect: 'error',
      signal,
    });
    // Beyond the limit the answer is not a platform error body: judged as unparseable below.
    text = await readBoundedText(response, MAX_ANSWER_BYTES, signal).catch((error: unknown) => {
      if (error instanceof BodyTooLargeError) return '';
      throw error;
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new ProbeUnusableError(
      timedOut ? 'timeout' : 'unreachable',
      timedOut
        ? `${endpoint} did not answer within ${timeoutMs} ms`
        : `${endpoint} could not be reached (${messageOf(error)})`,
      undefined,
      { cause: error },
    );
  }

  const body = parseJsonObject(text);
  const answer = {
    kid: signed.kid,
    status: response.status,
    error: scrubbed(body?.error, signed.assertion),
    error_description: scrubbed(body?.error_description, signed.assertion),
    message_id: scrubbed(body?.message_id, signed.assertion),
  };
  if (
    answer.status === PROBE_ACCEPTED_ANSWER.status &&
    answer.error === PROBE_ACCEPTED_ANSWER.error &&
    answer.error_description === PROBE_ACCEPTED_ANSWER.error_description
  ) {
    return { accepted: true, ...answer, findings: [] };
  }
  // 429 is the app's rate limit, applied after the API key and before the JWKS check; it, like an
  // answer without a platform error body (a gateway page, a 2xx), says nothing about the rest.
  if (answer.status === 429) {
    throw new ProbeUnusableError(
      'rate_limited',
      `NHS rate limited the probe (429); try again later`,
      answer.message_id ?? undefined,
    );
  }
  if (answer.error === null) {
    throw new ProbeUnusableError(
      'no_platform_answer',
      `${endpoint} answered ${answer.status} without a platform error body: is it the NHS token endpoint?`,
      answer.message_id ?? undefined,
    );
  }
  let findings: readonly string[] = [];
  try {
    // As the proxy does for a rejected assertion (rejection-diagnosis.ts), but judged against the
    // URL the probe reached, so an `aud` meant for another environment is named.
    const diagnosis = await diagnose({
      assertion: signed.assertion,
      jwks: { keys: await options.jwks() },
      tokenUrl: endpoint,
      apiKey,
      environment: environmentOfTokenUrl(endpoint),
      nowMs: options.clock.now(),
    });
    findings = bySeverity(diagnosis.findings).map((finding) => finding.code);
  } catch {
    // The doctor is a courtesy (our JWKS may be unreadable); NHS's answer stands on its own.
  }
  return { accepted: false, ...answer, findings };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
