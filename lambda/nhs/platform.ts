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
 * Applies the platform's client assertion claim checks in the platform's own order
 * (`validate-client-assertion-claims` plus the `RaiseFault.InvalidJwt` conditions):
 * alg → expired → kid → typ → exp missing → exp type → iss/sub → jti missing → jti type →
 * jti reused → exp more than 310 s ahead.
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
  // The expiry check runs before the presence and type checks, so only a numeric exp can trip it.
  if (typeof exp === 'number' && nowS > exp) return 'assertionExpired';
  if (!header.kid) return 'assertionKidMissing';
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return 'assertionTyp';
  if (exp === undefined || exp === null) return 'assertionExpMissing';
  if (typeof exp !== 'number') return 'assertionExpType';
  if (!iss || !sub || iss !== sub) return 'assertionIssSub';
  if (jti === undefined || jti === null) return 'assertionJtiMissing';
  if (typeof jti !== 'string') return 'assertionJtiType';
  if (ctx.isJtiReused?.(jti, sub)) return 'assertionJtiReused';
  if (exp - nowS > MAX_ASSERTION_LIFETIME_S) return 'assertionExpTooFar';
  return undefined;
}

/**
 * Applies the platform's subject token (CIS2 ID token) claim checks in its own order
 * (`validate-subject-token-claims.js`, then `SelectIdTokenIssuer.js`).
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
  if (!header.kid) return 'subjectKidMissing';
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return 'subjectTyp';
  if (!header.alg) return 'subjectAlgMissing';
  if (!claims.exp) return 'subjectExpMissing';
  if (typeof claims.exp !== 'number') return 'subjectExpType';
  if (nowMs > claims.exp * 1000) return 'subjectExpired';
  if (!claims.iss) return 'subjectIssMissing';
  if (!claims.aud) return 'subjectAudMissing';
  if (typeof claims.iss !== 'string' || !acceptedIssuers.includes(claims.iss)) return 'subjectIssUnknown';
  return undefined;
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
