/**
 * The request half of a token endpoint call: the form of each grant, with its client
 * authentication (a freshly signed assertion, or the client secret for a refresh), built within
 * the call's deadline.
 */

import type { Clock } from '../../platform/clock.js';
import { URN } from '../../platform/rules.js';
import { signClientAssertion } from '../assertion.js';
import { ProxyError, withTimeout } from '../errors.js';
import type { Signer } from '../signer/signer.js';
import type { Trace } from '../trace.js';
import type { AppCredentials } from './types.js';

/** A token request's form fields, before URL encoding. */
export type TokenForm = Record<string, string>;

/** What building a form needs. */
export interface FormContext {
  readonly tokenUrl: string;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly credentials: () => Promise<AppCredentials>;
  /** Lifetime of each assertion; see `AssertionParams.lifetimeS`. */
  readonly assertionLifetimeS?: number;
}

/** The RFC 8693 token exchange form for a CIS2 ID token, with a new assertion. */
export async function exchangeForm(
  context: FormContext,
  subjectToken: string,
  trace: Trace,
  deadline: number,
): Promise<TokenForm> {
  return {
    grant_type: URN.tokenExchange,
    subject_token_type: URN.idToken,
    subject_token: subjectToken,
    ...(await assertionFields(context, trace, deadline)),
  };
}

/** The refresh form: authenticated with the client secret, no signature. */
export async function refreshForm(
  context: FormContext,
  refreshToken: string,
  deadline: number,
): Promise<TokenForm> {
  const { apiKey, clientSecret } = await credentialsBefore(context, deadline);
  return {
    grant_type: 'refresh_token',
    client_id: apiKey,
    client_secret: clientSecret,
    refresh_token: refreshToken,
  };
}

/**
 * The app credentials, within the call's deadline: a Secrets Manager read that hangs must end
 * the call with a clear 503 inside the budget, not run the request into the Lambda timeout.
 */
function credentialsBefore(context: FormContext, deadline: number): Promise<AppCredentials> {
  return withTimeout(
    context.credentials(),
    deadline - context.clock.monotonicMs(),
    () => new ProxyError('secrets_unavailable', 'the app credentials could not be read before the deadline'),
    context.clock,
  );
}

/** A new client assertion (fresh `jti`), recorded on the trace by kid and jti, never by value. */
async function assertionFields(context: FormContext, trace: Trace, deadline: number): Promise<TokenForm> {
  const { apiKey } = await credentialsBefore(context, deadline);
  // Signing is bounded by the deadline too, and a hang is the signer's failure, not NHS's.
  const signed = await withTimeout(
    signClientAssertion(context.signer, context.clock, {
      apiKey,
      tokenUrl: context.tokenUrl,
      lifetimeS: context.assertionLifetimeS,
    }),
    deadline - context.clock.monotonicMs(),
    () => new ProxyError('signer_unavailable', 'the client assertion was not signed before the deadline'),
    context.clock,
  );
  trace.kid = signed.kid;
  trace.jti = signed.jti;
  trace.jtis.push(signed.jti);
  trace.kmsMs += signed.signMs;
  return { client_assertion_type: URN.clientAssertionType, client_assertion: signed.assertion };
}
