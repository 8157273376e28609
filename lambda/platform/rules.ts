/**
 * The NHS England API platform's token endpoint contract, as read from its own source
 * (NHSDigital/identity-service-api, see `docs/nhs-platform.md` §1–§4).
 *
 * This module is the single place that knows the platform's rules and exact error strings.
 * The emulator enforces them, the assertion doctor predicts them, and the proxy builds
 * assertions that satisfy them; keeping one copy means the three can never drift apart.
 */

/** Form and token-type URNs used by the token endpoint. */
export const URN = {
  clientAssertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
} as const;

/** The only `alg` the platform accepts for a client assertion. */
export const ASSERTION_ALG = 'RS512';

/**
 * Algorithms the platform's `VerifyJWT.SubjectToken` accepts on a subject token (docs/nhs-platform.md
 * §4d). Any other `alg` (`none`, `HS256`, `PS512`...) fails there with the catch-all 500 `unknown_error`.
 */
export const SUBJECT_TOKEN_ALGS: readonly string[] = ['RS256', 'RS512'];

/** The platform rejects an assertion whose `exp` is more than this many seconds ahead (5 min + 10 s). */
export const MAX_ASSERTION_LIFETIME_S = 310;

/** How long the platform caches an app's JWKS, keyed by its `jwks-resource-url`. */
export const JWKS_CACHE_S = 3600;

/** An error the platform answers with: HTTP status plus the JSON `error` and `error_description`. */
export interface PlatformError {
  readonly status: number;
  readonly error: string;
  readonly error_description: string;
}

const invalidRequest = (status: number, error_description: string): PlatformError => ({
  status,
  error: 'invalid_request',
  error_description,
});

/**
 * Every token endpoint error the platform produces that matters to this project, by a stable name.
 * Strings are the current (post November 2022) forms; match them character for character.
 */
export const PLATFORM_ERRORS = {
  contentType: invalidRequest(415, 'Content-Type header must be application/x-www-form-urlencoded'),
  clientAssertionType: invalidRequest(
    400,
    "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'",
  ),
  grantTypeInvalid: invalidRequest(400, 'grant_type is invalid'),
  grantTypeUnsupported: {
    status: 400,
    error: 'unsupported_grant_type',
    error_description: 'grant_type is invalid',
  },
  grantTypeMissing: invalidRequest(400, 'grant_type is missing'),
  subjectTokenType: invalidRequest(
    400,
    "missing or invalid subject_token_type - must be 'urn:ietf:params:oauth:token-type:id_token'",
  ),
  clientAssertionMissing: invalidRequest(400, 'Missing client_assertion'),
  clientAssertionMalformed: invalidRequest(400, 'Malformed JWT in client_assertion'),
  subjectTokenMissing: invalidRequest(400, 'Missing subject_token'),
  subjectTokenMalformed: invalidRequest(400, 'Malformed JWT in subject_token'),

  assertionAlg: invalidRequest(
    400,
    "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'",
  ),
  assertionExpired: invalidRequest(400, "Invalid 'exp' claim in client_assertion JWT - JWT has expired"),
  assertionKidMissing: invalidRequest(400, "Missing 'kid' header in client_assertion JWT"),
  assertionTyp: invalidRequest(400, "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"),
  assertionExpMissing: invalidRequest(400, "Missing 'exp' claim in client_assertion JWT"),
  assertionExpType: invalidRequest(400, "Invalid 'exp' claim in client_assertion JWT - must be an integer"),
  assertionIssSub: invalidRequest(400, "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"),
  assertionJtiMissing: invalidRequest(400, "Missing 'jti' claim in client_assertion JWT"),
  assertionJtiType: invalidRequest(
    400,
    "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID",
  ),
  assertionJtiReused: invalidRequest(400, "Non-unique 'jti' claim in client_assertion JWT"),
  assertionExpTooFar: invalidRequest(
    400,
    "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future",
  ),

  unknownApiKey: invalidRequest(401, "Invalid 'iss'/'sub' claims in client_assertion JWT"),
  publicKeyNotRegistered: {
    status: 403,
    error: 'public_key error',
    error_description:
      'You need to register a public key to use this authentication method - please contact support to configure',
  },
  jwksUnreachable: {
    status: 403,
    error: 'public_key error',
    error_description: "The JWKS endpoint, for your client_assertion can't be reached",
  },
  assertionKidUnknown: invalidRequest(
    401,
    "Invalid 'kid' header in client_assertion JWT - no matching public key",
  ),
  signatureInvalid: {
    status: 401,
    error: 'public_key error',
    error_description: 'JWT signature verification failed',
  },
  assertionAud: invalidRequest(401, "Missing or invalid 'aud' claim in client_assertion JWT"),

  subjectKidMissing: invalidRequest(400, "Missing 'kid' header in subject_token JWT"),
  subjectTyp: invalidRequest(400, "Invalid 'typ' header in subject_token JWT - must be 'JWT'"),
  subjectAlgMissing: invalidRequest(400, "Missing 'alg' header in subject_token JWT"),
  subjectExpMissing: invalidRequest(400, "Missing 'exp' claim in subject_token JWT"),
  subjectExpType: invalidRequest(400, "Invalid 'exp' claim in subject_token JWT - must be an integer"),
  subjectExpired: invalidRequest(400, "Invalid 'exp' claim in subject_token JWT - JWT has expired"),
  subjectIssMissing: invalidRequest(400, "Missing 'iss' claim in subject_token JWT"),
  subjectAudMissing: invalidRequest(401, "Missing 'aud' claim in subject_token JWT"),
  /** The same text from `SelectIdTokenIssuer.js`, which answers 400 where the claim checks answer 401. */
  subjectAudEmpty: invalidRequest(400, "Missing 'aud' claim in subject_token JWT"),
  subjectIssUnknown: invalidRequest(400, "Missing or non-matching 'iss' claim in subject_token JWT"),
  subjectKidUnknown: invalidRequest(
    401,
    "Invalid 'kid' header in subject_token JWT - no matching public key",
  ),
  unauthorizedClient: {
    status: 401,
    error: 'unauthorized_client',
    error_description:
      'you have tried to request authorization but your application is not configured to use this authorization grant type',
  },
  unknownError: {
    status: 500,
    error: 'unknown_error',
    error_description:
      'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID',
  },

  refreshTokenInvalid: { status: 401, error: 'invalid_grant', error_description: 'refresh_token is invalid' },
  refreshPeriodExpired: {
    status: 401,
    error: 'invalid_grant',
    error_description: 'refresh token refresh period has expired',
  },
  clientCredentialsInvalid: {
    status: 401,
    error: 'invalid_client',
    error_description: 'client_id or client_secret is invalid',
  },
  clientSecretMissing: invalidRequest(401, 'client_secret is missing'),
  refreshTokenMissing: invalidRequest(400, 'refresh_token is missing'),
} as const satisfies Record<string, PlatformError>;

/** Stable name of a platform error (a key of {@link PLATFORM_ERRORS}). */
export type PlatformErrorName = keyof typeof PLATFORM_ERRORS;

/** A decoded JOSE header or JWT claims set: any JSON object. */
export type JsonObject = Record<string, unknown>;

/** Inputs to {@link checkAssertionClaims} beyond the decoded token itself. */
export interface AssertionCheckContext {
  /** The moment to judge time claims at, in milliseconds since the epoch. */
  readonly nowMs: number;
  /**
   * Whether this `jti` was already used by this app. The platform both looks it up and burns it
   * before the signature is checked; the caller decides whether to record it.
   */
  readonly isJtiReused?: (jti: string, sub: unknown) => boolean;
}

/**
 * The platform's expiry test, `new Date() > new Date(exp * 1000)`, evaluated with JavaScript's own
 * coercions (`validate-client-assertion-claims.js` line 56, `validate-subject-token-claims.js`
 * line 40). Anything that coerces to a past time counts as expired (`"123"`, `""`, `null`, `true`,
 * `[]`, `[<past>]`); anything that coerces to `NaN` or lies outside the Date range (beyond
 * ±8.64e15 ms, e.g. `-1e13` s) makes the Date invalid, the comparison false, and the check pass.
 */
export function isExpiredAsPlatformJs(nowMs: number, exp: unknown): boolean {
  // Number() is the ToNumber that `exp * 1000` applies; JSON values cannot make it throw.
  return new Date(nowMs) > new Date(Number(exp) * 1000);
}

/**
 * The platform's `iss`/`sub` test, `!iss || !sub || iss != sub` (`validate-client-assertion-claims.js`
 * lines 59-60). The comparison is JavaScript's loose one, so `123` and `"123"` or `["KEY"]` and
 * `"KEY"` pass here; the API key check on `sub` (`VerifyAPIKey.FromJWT`) decides afterwards.
 */
export function issSubFailAsPlatformJs(iss: unknown, sub: unknown): boolean {
  // biome-ignore lint/suspicious/noDoubleEquals: the platform's JavaScript compares loosely; so must we.
  return !iss || !sub || iss != sub;
}

/**
 * Applies the platform's client assertion claim checks in the platform's own order and with its
 * JavaScript semantics (`validate-client-assertion-claims.js` lines 47-81, then the
 * `RaiseFault.InvalidJwt` condition): alg → expired → kid → typ → exp missing → exp type →
 * iss/sub → jti missing → jti type → jti reused → exp more than 310 s ahead.
 *
 * Two rules depend on Apigee internals the source does not show, and keep a strict reading
 * (docs/nhs-platform.md §2, UNCONFIRMED): `alg` must be the string `"RS512"` (the JavaScript's
 * `!= "RS512"` would let `["RS512"]` through, but what `DecodeJWT` makes of a non-string `alg` is
 * not known), and "more than 5 minutes" is `exp - now > 310` on unrounded seconds (the script reads
 * `DecodeJWT`'s `seconds_remaining`, whose rounding is not known).
 *
 * @returns the name of the first failing check, or `undefined` when all pass.
 */
export function checkAssertionClaims(
  header: JsonObject,
  claims: JsonObject,
  ctx: AssertionCheckContext,
): PlatformErrorName | undefined {
  const nowS = ctx.nowMs / 1000;
  const { exp, iss, sub, jti } = claims;
  if (header.alg !== ASSERTION_ALG) return 'assertionAlg';
  if (isExpiredAsPlatformJs(ctx.nowMs, exp)) return 'assertionExpired';
  if (!header.kid) return 'assertionKidMissing';
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return 'assertionTyp';
  if (!exp) return 'assertionExpMissing';
  if (typeof exp !== 'number') return 'assertionExpType';
  if (issSubFailAsPlatformJs(iss, sub)) return 'assertionIssSub';
  if (!jti) return 'assertionJtiMissing';
  if (typeof jti !== 'string') return 'assertionJtiType';
  if (ctx.isJtiReused?.(jti, sub)) return 'assertionJtiReused';
  if (exp - nowS > MAX_ASSERTION_LIFETIME_S) return 'assertionExpTooFar';
  return undefined;
}

/**
 * Whether `VerifyJWT` itself would find the token expired (`exp` plus its 10 s `TimeAllowance`
 * before now). Only an `exp` the JavaScript cannot turn into a Date (below -8.64e12 s) gets this
 * far. Which fault `VerifyJWT` raises then is not in the platform's source; the emulator keeps its
 * earlier answer, "JWT has expired" (docs/nhs-platform.md §2, UNCONFIRMED).
 */
export function isExpiredForVerifyJwt(nowMs: number, exp: unknown): boolean {
  return typeof exp === 'number' && exp * 1000 + VERIFY_JWT_TIME_ALLOWANCE_MS < nowMs;
}

/** `<TimeAllowance>10s</TimeAllowance>` of `VerifyJWT.ClientCredentials` and `VerifyJWT.SubjectToken`. */
export const VERIFY_JWT_TIME_ALLOWANCE_MS = 10_000;

/**
 * Whether Apigee shows a decoded claim as `[""]`, the value `SelectIdTokenIssuer.js` treats as
 * missing: an array holding one empty string. How Apigee renders other arrays is UNCONFIRMED.
 */
const isEmptyStringArray = (value: unknown): boolean =>
  Array.isArray(value) && value.length === 1 && value[0] === '';

/**
 * Applies the platform's subject token (CIS2 ID token) claim checks in its own order and with its
 * JavaScript semantics: `validate-subject-token-claims.js` lines 33-43, then `SelectIdTokenIssuer.js`
 * lines 13-22 (its `exp` test cannot fail by then: `exp` is already a number).
 *
 * @param acceptedIssuers - issuers the environment trusts (CIS2, NHS login); `iss` must equal one exactly.
 * @returns the name of the first failing check, or `undefined` when all pass.
 */
export function checkSubjectTokenClaims(
  header: JsonObject,
  claims: JsonObject,
  nowMs: number,
  acceptedIssuers: readonly string[],
): PlatformErrorName | undefined {
  const { exp, iss, aud } = claims;
  if (!header.kid) return 'subjectKidMissing';
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return 'subjectTyp';
  if (!header.alg) return 'subjectAlgMissing';
  if (!exp) return 'subjectExpMissing';
  if (typeof exp !== 'number') return 'subjectExpType';
  if (isExpiredAsPlatformJs(nowMs, exp)) return 'subjectExpired';
  if (!iss) return 'subjectIssMissing';
  if (!aud) return 'subjectAudMissing';
  if (typeof iss !== 'string' || !acceptedIssuers.includes(iss)) return 'subjectIssUnknown';
  if (isEmptyStringArray(aud)) return 'subjectAudEmpty';
  return undefined;
}

/**
 * Form fields that shorten token lifetimes (`JavaScript.CalculateAccessTokenOverride`,
 * `...RefreshTokenOverride`, `...RefreshTokenValidityOverride` with the `AssignMessage.*Override`
 * policies). Client credentials and token exchange honour only the access token field; the
 * refresh grant honours all three (`proxies/default.xml`).
 */
export const LIFETIME_OVERRIDE_FIELDS = {
  accessToken: '_access_token_expiry_ms',
  refreshToken: '_refresh_token_expiry_ms',
  refreshTokensValidity: '_refresh_tokens_validity_ms',
} as const;

/**
 * The lifetime a `_..._ms` form field sets, or `undefined` when the platform keeps its default.
 * The platform overrides when `parseInt(field) < parseInt(default)` (`calculate-access-token-override.js`
 * line 4 and its two twins) and then assigns the field's raw text. What Apigee's `OAuthV2` makes of
 * text `parseInt` reads only in part (`"100abc"`, `"-5"`, `"1e3"`) is UNCONFIRMED, so only a whole
 * positive number of milliseconds overrides here; anything else keeps the default.
 */
export function lifetimeOverrideMs(field: string | null, defaultMs: number): number | undefined {
  if (field === null || !Number.isFinite(defaultMs)) return undefined;
  if (!(Number.parseInt(field, 10) < Math.trunc(defaultMs))) return undefined;
  return /^[1-9][0-9]{0,14}$/.test(field) ? Number(field) : undefined;
}

/** Token URL (also the assertion `aud`) of each real platform environment. */
export const PLATFORM_TOKEN_URLS = {
  sandbox: 'https://sandbox.api.service.nhs.uk/oauth2/token',
  'sandbox-mock': 'https://sandbox.api.service.nhs.uk/oauth2-mock/token',
  'internal-dev': 'https://internal-dev.api.service.nhs.uk/oauth2/token',
  'internal-dev-mock': 'https://internal-dev.api.service.nhs.uk/oauth2-mock/token',
  int: 'https://int.api.service.nhs.uk/oauth2/token',
  'int-mock': 'https://int.api.service.nhs.uk/oauth2-mock/token',
  prod: 'https://api.service.nhs.uk/oauth2/token',
} as const;
