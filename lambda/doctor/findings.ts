/**
 * The catalogue of everything the assertion doctor can report. Each finding has a stable `code`
 * (callers, logs and dashboards key on it), a fixed severity and a fixed fix; only the message
 * and the details vary with the assertion.
 *
 * Messages, fixes and details must never carry the assertion or its signature: the proxy logs
 * finding codes and messages, and a signed assertion is a replayable credential for up to
 * five minutes. Header and claim values (kid, iss, aud, exp) and single offending characters
 * are not secret and may appear.
 */

import type { PlatformErrorName } from '../platform/rules.js';

/** How bad a finding is. `error`: the platform rejects it or it is a security fault; `warning`: likely trouble; `info`: context. */
export type Severity = 'error' | 'warning' | 'info';

/** One thing the doctor found, with details such as `segment`, `offset`, `codePoint`, `kid`, `expected`, `actual`. */
export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  readonly message: string;
  readonly fix: string;
  readonly [detail: string]: unknown;
}

interface FindingSpec {
  readonly severity: Severity;
  readonly fix: string;
  /** The platform error this finding makes the token endpoint answer with, if it is one of its checks. */
  readonly rejects?: PlatformErrorName;
}

const spec = (severity: Severity, fix: string, rejects?: PlatformErrorName): FindingSpec => ({
  severity,
  fix,
  rejects,
});

/**
 * Every finding code, grouped by the check that raises it, in the platform's order.
 * docs/doctor.md lists the same codes; a test keeps the two in step.
 */
export const FINDINGS = {
  // Pasted input: what was removed before diagnosing. The diagnosis is of the cleaned assertion.
  INPUT_WHITESPACE: spec('info', 'None needed: surrounding whitespace was ignored.'),
  INPUT_QUOTES: spec('info', 'None needed: the quotes around the assertion were ignored.'),
  INPUT_BEARER_PREFIX: spec(
    'info',
    'Send the assertion as the bare client_assertion form field; it is not a bearer token.',
  ),
  INPUT_LINE_BREAKS: spec(
    'info',
    'None needed if the line breaks came from copying; make sure the assertion you send has none.',
  ),
  INPUT_FORM_BODY: spec('info', 'None needed: client_assertion was read from the form body.'),
  FORM_ASSERTION_TYPE_INVALID: spec(
    'error',
    'Send client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
    'clientAssertionType',
  ),
  ASSERTION_MISSING: spec(
    'error',
    'Send the signed JWT in the client_assertion form field.',
    'clientAssertionMissing',
  ),

  // Structure: what makes the platform answer "Malformed JWT in client_assertion".
  SEGMENT_COUNT: spec(
    'error',
    'Send the whole compact JWS: header.payload.signature, exactly two dots.',
    'clientAssertionMalformed',
  ),
  CHAR_TYPOGRAPHIC_DASH: spec(
    'error',
    'Copy the assertion as plain text; a word processor or chat tool replaced "-" or "--" with a dash. See the repair.',
    'clientAssertionMalformed',
  ),
  CHAR_TYPOGRAPHIC_QUOTE: spec(
    'error',
    'Copy the assertion as plain text; remove the typographic quote.',
    'clientAssertionMalformed',
  ),
  CHAR_WHITESPACE: spec(
    'error',
    'Remove the whitespace; an assertion contains none.',
    'clientAssertionMalformed',
  ),
  CHAR_PADDING: spec(
    'error',
    'Strip the "=" padding: JWS segments are unpadded base64url (RFC 7515 §2).',
    'clientAssertionMalformed',
  ),
  CHAR_STANDARD_BASE64: spec(
    'error',
    'Encode with base64url, not base64: "+" becomes "-", "/" becomes "_", no padding.',
    'clientAssertionMalformed',
  ),
  CHAR_INVALID: spec(
    'error',
    'Remove the character; only A-Z a-z 0-9 - _ and two dots may appear.',
    'clientAssertionMalformed',
  ),
  CHARS_TRUNCATED: spec('info', 'Fix the characters listed first, then run the doctor again.'),
  SEGMENT_LENGTH: spec(
    'error',
    'A character is missing or extra: no byte string encodes to this length. Copy the assertion again.',
    'clientAssertionMalformed',
  ),
  HEADER_UNDECODABLE: spec(
    'error',
    'The header must be the base64url encoding of a UTF-8 JSON object.',
    'clientAssertionMalformed',
  ),
  PAYLOAD_UNDECODABLE: spec(
    'error',
    'The payload must be the base64url encoding of a UTF-8 JSON object.',
    'clientAssertionMalformed',
  ),
  SIGNATURE_LENGTH: spec(
    'warning',
    'An RS512 signature is exactly as long as the key (512 bytes for RSA 4096); the signature was probably cut or padded.',
  ),

  // Header and claims, in the order of the platform's validate-client-assertion-claims.js.
  ALG_NOT_RS512: spec('error', 'Sign with RS512 and set the header "alg": "RS512".', 'assertionAlg'),
  EXP_EXPIRED: spec(
    'error',
    'Sign a fresh assertion (exp = now + 300 s at most) for every request, and keep the clock in sync.',
    'assertionExpired',
  ),
  KID_MISSING: spec(
    'error',
    'Set the header "kid" to the kid of your key in the registered JWKS.',
    'assertionKidMissing',
  ),
  TYP_INVALID: spec('error', 'Set the header "typ": "JWT".', 'assertionTyp'),
  EXP_MISSING: spec(
    'error',
    'Add an "exp" claim: now + at most 300 s, in seconds since the epoch.',
    'assertionExpMissing',
  ),
  EXP_NOT_NUMBER: spec(
    'error',
    'Make "exp" a JSON number of seconds since the epoch, not a string.',
    'assertionExpType',
  ),
  EXP_FRACTIONAL: spec('warning', 'Use a whole number of seconds for "exp".'),
  ISS_SUB_INVALID: spec(
    'error',
    'Set both "iss" and "sub" to your application\'s API key for this environment.',
    'assertionIssSub',
  ),
  JTI_MISSING: spec(
    'error',
    'Add a "jti" claim: a new random UUID for every assertion.',
    'assertionJtiMissing',
  ),
  JTI_NOT_STRING: spec(
    'error',
    'Make "jti" a string: a new random UUID for every assertion.',
    'assertionJtiType',
  ),
  EXP_TOO_FAR: spec(
    'error',
    "Set exp to at most now + 300 s (the platform allows 310 s); check the signing host's clock.",
    'assertionExpTooFar',
  ),
  HEADER_JKU_IGNORED: spec(
    'info',
    'None needed: the platform ignores jku/x5u and uses the JWKS registered for the app.',
  ),

  // The app behind the API key (VerifyAPIKey on sub).
  API_KEY_MISMATCH: spec(
    'error',
    'Set "iss" and "sub" to the API key of the app registered in this environment.',
    'unknownApiKey',
  ),

  // Key and signature (VerifyJWT against the app's JWKS).
  SIGNATURE_NOT_CHECKED: spec(
    'info',
    'Give the registered JWKS (--jwks-file or --jwks-url) to check kid and signature.',
  ),
  KID_NOT_IN_JWKS: spec(
    'error',
    'Sign with a key whose kid is in the registered JWKS, or publish the key and wait an hour: the platform caches JWKS for 3600 s.',
    'assertionKidUnknown',
  ),
  SIGNATURE_INVALID: spec(
    'error',
    'Sign with the private key matching the public key published under this kid (RSASSA-PKCS1-v1_5 with SHA-512).',
    'signatureInvalid',
  ),
  SIGNATURE_OTHER_KEY: spec(
    'warning',
    'Put the kid of the key you sign with into the header; the signing key and header kid disagree.',
  ),
  SIGNATURE_VERIFIED: spec('info', 'None needed.'),
  KID_OTHER_ENVIRONMENT: spec(
    'warning',
    'Check you are signing with the key registered for the target environment.',
  ),

  // Audience (VerifyJWT <Audience ref="proxy.url">): exact string equality with the token URL.
  AUD_MISSING: spec('error', 'Set "aud" to the exact token URL you POST to, as a string.', 'assertionAud'),
  AUD_MISMATCH: spec(
    'error',
    'Set "aud" to the exact token URL you POST to, character for character.',
    'assertionAud',
  ),
  AUD_OTHER_ENVIRONMENT: spec(
    'error',
    'Use the token URL of the environment you POST to as "aud", and that environment\'s API key and key.',
    'assertionAud',
  ),
  AUD_NOT_CHECKED: spec('info', 'Give --env or --token-url to check "aud" against the target.'),
  AUD_UNKNOWN: spec(
    'warning',
    'Set "aud" to the token URL of the environment you POST to; give --env or --token-url to check it.',
  ),

  // The JWKS given to the doctor: how it was read, then its hygiene.
  JWKS_UNPARSEABLE: spec('error', 'Give a JWKS: a JSON object {"keys": [ ...public JWKs... ]}.'),
  JWKS_TYPOGRAPHIC_QUOTES: spec(
    'warning',
    'Copy the JWKS as plain text; typographic quotes were read as plain quotes, the platform will not do that.',
  ),
  JWKS_NOT_A_SET: spec('warning', 'Register a JWKS: wrap the key(s) as {"keys": [ ... ]}.'),
  JWKS_EMPTY: spec('error', 'Publish your public signing key in the JWKS.'),
  JWKS_PRIVATE_KEY: spec(
    'error',
    'Remove d, p, q, dp, dq, qi from the JWKS at once, and treat the key as leaked: make a new key and rotate.',
  ),
  JWKS_DUPLICATE_KID: spec('warning', 'Give every key a unique kid.'),
  JWKS_USE_NOT_SIG: spec('warning', 'Set "use": "sig" on signing keys.'),
  JWKS_ALG_NOT_RS512: spec('warning', 'Set "alg": "RS512" on the key, or leave alg out.'),
  JWKS_KID_MISSING: spec('warning', 'Give the key a kid; the platform selects keys by kid.'),
  JWKS_KEY_NOT_RSA: spec('warning', 'Client assertions are RS512: publish RSA keys.'),
  JWKS_KEY_UNUSABLE: spec('error', 'Publish the key as an RSA public JWK with base64url "n" and "e".'),
  KEY_TOO_SMALL: spec('warning', 'Use an RSA 4096 key (KMS key spec RSA_4096), as NHS tooling does.'),

  // Repair of typographic substitutions.
  REPAIR_VERIFIED: spec(
    'info',
    'Send the repaired assertion only if it is still within its lifetime; better, sign a fresh one and copy it as plain text.',
  ),
  REPAIR_UNVERIFIED: spec(
    'warning',
    'Give the registered JWKS to confirm the repair, or better, sign a fresh assertion and copy it as plain text.',
  ),
  REPAIR_FAILED: spec('warning', 'Sign a fresh assertion and copy it as plain text.'),
} as const satisfies Record<string, FindingSpec>;

/** A stable finding code: a key of {@link FINDINGS}. */
export type FindingCode = keyof typeof FINDINGS;

/** Builds a finding with the catalogue's severity and fix. */
export function finding(code: FindingCode, message: string, details: Record<string, unknown> = {}): Finding {
  const { severity, fix } = FINDINGS[code];
  return { code, severity, message, fix, ...details };
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Findings ordered errors first, keeping the platform's order within a severity. */
export function bySeverity(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
}
