/**
 * The API platform token endpoint (`POST /oauth2/token`) logic, free of HTTP: given the form and
 * the URL it was posted to, decide the platform's answer. Every rule and error string comes from
 * `lambda/platform/rules.ts`, so the emulator, the proxy and the assertion doctor share one copy.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify, type JWK } from 'jose';
import type { Clock } from '../lambda/platform/clock.js';
import { type DecodedJws, decodeJws } from '../lambda/platform/jws.js';
import {
  checkAssertionClaims,
  checkSubjectTokenClaims,
  isExpiredForVerifyJwt,
  type JsonObject,
  LIFETIME_OVERRIDE_FIELDS,
  lifetimeOverrideMs,
  PLATFORM_ERRORS,
  type PlatformErrorName,
  SUBJECT_TOKEN_ALGS,
  URN,
} from '../lambda/platform/rules.js';
import type { AppRegistration, AppRegistry } from './apps.js';
import type { Cis2Provider } from './cis2.js';
import type { JtiLedger } from './jti-ledger.js';
import type { TokenStore } from './token-store.js';

/**
 * Which platform flow handles a token request. The platform's proxy (`proxies/default.xml` in
 * NHSDigital/identity-service-api) runs the first flow whose condition matches, in this order:
 *
 * 1. `Flow.PostTokenClientCredentials`: `grant_type == client_credentials` and
 *    `subject_token_type != id_token`.
 * 2. `Flow.PostTokenTokenExchange`: `subject_token_type == id_token`, **whatever the grant_type**.
 *    The flow itself then rejects a grant_type other than token-exchange (missing included) with
 *    400 `invalid_request` "grant_type is invalid", after checking `client_assertion_type`.
 * 3. `Flow.PostTokenAuthorizationCode*`: `grant_type == authorization_code` (not emulated; such
 *    requests fall through to 6).
 * 4. `Flow.PostRefreshToken`: `grant_type == refresh_token`.
 * 5. `Flow.PostTokenInvalidSubjectTokenType`: `grant_type == token-exchange` with any other
 *    `subject_token_type`, missing included.
 * 6. `Flow.PostTokenInvalidGrantType`: any other grant_type → 400 `unsupported_grant_type`.
 * 7. `Flow.PostTokenMissingGrantType`: no grant_type → 400 "grant_type is missing".
 */
export type TokenFlow =
  | 'clientCredentials'
  | 'tokenExchange'
  | 'refreshToken'
  | 'invalidSubjectTokenType'
  | 'unsupportedGrantType'
  | 'missingGrantType';

/** Picks the platform flow for a token request (see {@link TokenFlow} for the rules and source). */
export function routeTokenRequest(form: URLSearchParams): TokenFlow {
  const grantType = form.get('grant_type');
  const isIdToken = form.get('subject_token_type') === URN.idToken;
  if (grantType === 'client_credentials' && !isIdToken) return 'clientCredentials';
  if (isIdToken) return 'tokenExchange';
  if (grantType === 'refresh_token') return 'refreshToken';
  if (grantType === URN.tokenExchange) return 'invalidSubjectTokenType';
  return grantType === null ? 'missingGrantType' : 'unsupportedGrantType';
}

const stringOrUndefined = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** What a request revealed about itself, for the request record (never whole tokens). */
export interface TokenRequestTrace {
  grantType?: string;
  jti?: string;
  kid?: string;
  apiKey?: string;
  subject?: string;
}

function tryDecode(token: string | null): DecodedJws | undefined {
  try {
    return token ? decodeJws(token) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a token request says about itself, read leniently (nothing is verified), so that even
 * rejected or faulted requests can be recorded. Tokens themselves are never copied.
 */
export function traceTokenRequest(form: URLSearchParams): TokenRequestTrace {
  const assertion = tryDecode(form.get('client_assertion'));
  const subjectToken = tryDecode(form.get('subject_token'));
  return {
    grantType: form.get('grant_type') ?? undefined,
    jti: stringOrUndefined(assertion?.payload.jti),
    kid: stringOrUndefined(assertion?.header.kid),
    apiKey: stringOrUndefined(assertion?.payload.sub) ?? form.get('client_id') ?? undefined,
    subject: stringOrUndefined(subjectToken?.payload.sub),
  };
}

/** The platform's answer to a token request. */
export type TokenOutcome =
  | { readonly ok: true; readonly body: Readonly<Record<string, string>>; readonly trace: TokenRequestTrace }
  | { readonly ok: false; readonly error: PlatformErrorName; readonly trace: TokenRequestTrace };

/** What the token endpoint consults. */
export interface TokenEndpointDeps {
  readonly apps: AppRegistry;
  readonly jtis: JtiLedger;
  readonly tokens: TokenStore;
  readonly cis2: Cis2Provider;
  readonly clock: Clock;
}

/** A platform rejection raised inside the flow; caught by {@link handleTokenRequest}. */
class PlatformRejection extends Error {
  constructor(readonly reason: PlatformErrorName) {
    super(PLATFORM_ERRORS[reason].error_description);
    this.name = 'PlatformRejection';
  }
}

function reject(reason: PlatformErrorName): never {
  throw new PlatformRejection(reason);
}

/** The e-RS product scopes are `…:aal2:…` and `…:aal3:…` (docs/nhs-platform.md §5). */
const ERS_ASSURANCE_LEVELS = ['2', '3'];

/**
 * Answers a token request as the platform would.
 *
 * @param postedUrl - the full URL the client posted to; the assertion `aud` must equal it exactly
 *   (Apigee's `proxy.url`, query string included).
 * @param trace - the request's trace, completed in place with what only the flow learns (the
 *   refresh grant's subject); defaults to {@link traceTokenRequest} of the form.
 */
export async function handleTokenRequest(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
  postedUrl: string,
  trace: TokenRequestTrace = traceTokenRequest(form),
): Promise<TokenOutcome> {
  try {
    const body = await runFlow(deps, form, postedUrl, trace);
    return { ok: true, body, trace };
  } catch (error) {
    if (error instanceof PlatformRejection) return { ok: false, error: error.reason, trace };
    throw error;
  }
}

async function runFlow(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
  postedUrl: string,
  trace: TokenRequestTrace,
): Promise<Record<string, string>> {
  switch (routeTokenRequest(form)) {
    case 'clientCredentials':
      return clientCredentials(deps, form, postedUrl);
    case 'tokenExchange':
      return tokenExchange(deps, form, postedUrl);
    case 'refreshToken':
      return refresh(deps, form, trace);
    case 'invalidSubjectTokenType':
      return reject('subjectTokenType');
    case 'unsupportedGrantType':
      return reject('grantTypeUnsupported');
    case 'missingGrantType':
      return reject('grantTypeMissing');
  }
}

/** The access token lifetime the request asks for, when the platform honours it (`_access_token_expiry_ms`). */
const accessLifetimeMs = (deps: TokenEndpointDeps, form: URLSearchParams): number | undefined =>
  lifetimeOverrideMs(form.get(LIFETIME_OVERRIDE_FIELDS.accessToken), deps.tokens.defaultAccessTokenMs);

async function clientCredentials(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
  postedUrl: string,
): Promise<Record<string, string>> {
  if (form.get('client_assertion_type') !== URN.clientAssertionType) reject('clientAssertionType');
  const app = await verifyClientAssertion(deps, form, postedUrl);
  // Application-restricted scopes are filtered to `urn:nhsd:apim:app:level3:*`; every emulated
  // app is treated as subscribed to a level 3 product, so this filter always passes.
  const access = deps.tokens.issueAccessToken(app.apiKey, app.apiKey, accessLifetimeMs(deps, form));
  return {
    access_token: access.token,
    expires_in: String(access.expiresInS),
    token_type: 'Bearer',
    issued_at: String(deps.clock.now()),
  };
}

async function tokenExchange(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
  postedUrl: string,
): Promise<Record<string, string>> {
  if (form.get('client_assertion_type') !== URN.clientAssertionType) reject('clientAssertionType');
  if (form.get('grant_type') !== URN.tokenExchange) reject('grantTypeInvalid');
  const app = await verifyClientAssertion(deps, form, postedUrl);
  const { subject, idAssuranceLevel } = await verifySubjectToken(deps, form);
  // Flow.PostTokenTokenExchange runs only the access token override; the refresh token gets the default.
  const access = deps.tokens.issueAccessToken(
    subject,
    app.apiKey,
    accessLifetimeMs(deps, form),
    idAssuranceLevel,
  );
  const refresh = deps.tokens.issueRefreshToken({
    sub: subject,
    apiKey: app.apiKey,
    refreshCount: 0,
    idAssuranceLevel,
  });
  return {
    access_token: access.token,
    expires_in: String(access.expiresInS),
    token_type: 'Bearer',
    issued_token_type: URN.accessToken,
    refresh_token: refresh.token,
    refresh_token_expires_in: String(refresh.expiresInS),
    refresh_count: '0',
  };
}

/**
 * `Flow.PostRefreshToken`: the app authenticates with `client_id` and `client_secret` (no
 * assertion). A missing `client_id` is answered like an unknown one; the platform's own
 * "client_id is missing" body is not part of the contract. All three lifetime overrides apply;
 * a session older than its (possibly shortened) validity fails after the old token is spent, as
 * `RaiseFault.TokenRefreshTimelimitExceeded` runs after `OAuthV2.GenerateRefreshToken`.
 */
function refresh(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
  trace: TokenRequestTrace,
): Record<string, string> {
  const app = deps.apps.get(form.get('client_id'));
  if (!app) reject('clientCredentialsInvalid');
  const secret = form.get('client_secret');
  if (secret === null) reject('clientSecretMissing');
  if (secret !== app.clientSecret) reject('clientCredentialsInvalid');
  const refreshToken = form.get('refresh_token');
  if (refreshToken === null) reject('refreshTokenMissing');
  const { tokens } = deps;
  const lifetimeMs =
    lifetimeOverrideMs(form.get(LIFETIME_OVERRIDE_FIELDS.refreshToken), tokens.defaultRefreshTokenMs) ??
    tokens.defaultRefreshTokenMs;
  const validityMs =
    lifetimeOverrideMs(
      form.get(LIFETIME_OVERRIDE_FIELDS.refreshTokensValidity),
      tokens.defaultRefreshTokenMs,
    ) ?? tokens.defaultRefreshTokenMs;
  const grant = tokens.redeemRefreshToken(refreshToken, app.apiKey);
  if (grant === 'invalid') reject('refreshTokenInvalid');
  if (grant === 'expired') reject('refreshPeriodExpired');
  trace.subject = grant.sub;
  if (deps.clock.now() - grant.firstIssuedAt > validityMs) reject('refreshPeriodExpired');
  const refreshCount = grant.refreshCount + 1;
  const access = tokens.issueAccessToken(
    grant.sub,
    app.apiKey,
    accessLifetimeMs(deps, form),
    grant.idAssuranceLevel,
  );
  const next = tokens.issueRefreshToken({ ...grant, refreshCount }, lifetimeMs, validityMs);
  return {
    access_token: access.token,
    expires_in: String(access.expiresInS),
    token_type: 'Bearer',
    refresh_token: next.token,
    refresh_token_expires_in: String(next.expiresInS),
    refresh_count: String(refreshCount),
  };
}

function decodeOr(token: string, malformed: PlatformErrorName): DecodedJws {
  try {
    return decodeJws(token);
  } catch {
    return reject(malformed);
  }
}

async function signatureVerifies(token: string, key: KeyObject, algorithms: string[]): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms });
    return true;
  } catch {
    return false;
  }
}

function publicKeyFromJwk(jwk: JWK): KeyObject | undefined {
  try {
    return createPublicKey({ key: jwk as JsonObject, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/**
 * The client assertion steps of docs/nhs-platform.md §4 (3 to 11): decode, claim checks with the `jti`
 * lookup, burn the `jti`, API key, `jwks-resource-url`, JWKS, `kid`, signature, `aud`.
 *
 * @returns the app the assertion authenticates.
 */
async function verifyClientAssertion(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
  postedUrl: string,
): Promise<AppRegistration> {
  const token = form.get('client_assertion');
  if (!token) reject('clientAssertionMissing');
  const { header, payload } = decodeOr(token, 'clientAssertionMalformed');

  const claimFailure = checkAssertionClaims(header, payload, {
    nowMs: deps.clock.now(),
    isJtiReused: (jti, sub) => deps.jtis.has(sub, jti),
  });
  if (claimFailure) reject(claimFailure);
  // Burned before the key and signature checks, as the platform does: a rejected assertion's jti is spent.
  deps.jtis.burn(payload.sub, payload.jti as string);
  // VerifyAPIKey.FromJWT reads the key from `sub` only: a loosely equal `iss` (123 for "123") has passed.

  const app = deps.apps.get(payload.sub);
  if (!app) reject('unknownApiKey');
  const jwks = await deps.apps.jwksFor(app);
  if (jwks.kind === 'unregistered') reject('publicKeyNotRegistered');
  if (jwks.kind === 'unreachable') reject('jwksUnreachable');

  const jwk = jwks.keys.find((candidate) => candidate.kid === header.kid);
  if (!jwk) reject('assertionKidUnknown');
  const key = publicKeyFromJwk(jwk);
  if (!key || !(await signatureVerifies(token, key, ['RS512']))) reject('signatureInvalid');
  // Only an exp beyond the JavaScript Date range gets here expired; VerifyJWT's answer is UNCONFIRMED.
  if (isExpiredForVerifyJwt(deps.clock.now(), payload.exp)) reject('assertionExpired');

  // Apigee's VerifyJWT <Audience> accepts an aud array that contains the expected value.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(postedUrl)) reject('assertionAud');
  return app;
}

/**
 * The subject token steps of docs/nhs-platform.md §4 (12 to 17): decode, claim and issuer checks, CIS2
 * `kid`, signature, and the e-RS assurance-level scope filter.
 *
 * @returns the CIS2 user the token is for (its `sub`) and its `id_assurance_level`.
 */
async function verifySubjectToken(
  deps: TokenEndpointDeps,
  form: URLSearchParams,
): Promise<{ subject: string; idAssuranceLevel?: number }> {
  const token = form.get('subject_token');
  if (!token) reject('subjectTokenMissing');
  const { header, payload } = decodeOr(token, 'subjectTokenMalformed');

  const claimFailure = checkSubjectTokenClaims(header, payload, deps.clock.now(), [deps.cis2.issuer]);
  if (claimFailure) reject(claimFailure);
  const key = deps.cis2.publicKeyFor(header.kid);
  if (!key) reject('subjectKidUnknown');
  // An alg VerifyJWT.SubjectToken does not accept is one of the "other VerifyJWT faults" that reach
  // the catch-all (docs/nhs-platform.md §4c, UNCONFIRMED which ones).
  if (!(SUBJECT_TOKEN_ALGS as readonly unknown[]).includes(header.alg)) reject('unknownError');
  if (!(await signatureVerifies(token, key, [...SUBJECT_TOKEN_ALGS]))) reject('signatureInvalid');
  if (isExpiredForVerifyJwt(deps.clock.now(), payload.exp)) reject('subjectExpired');

  // FilterScopesTokenExchange.js builds the pattern `:aal<authentication_assurance_level>:` and keeps
  // the product scopes matching it; e-RS only has aal2 and aal3 scopes, so nothing else survives.
  if (!ERS_ASSURANCE_LEVELS.includes(String(payload.authentication_assurance_level)))
    reject('unauthorizedClient');
  const level = Number(payload.id_assurance_level);
  return { subject: String(payload.sub ?? ''), idAssuranceLevel: Number.isFinite(level) ? level : undefined };
}
