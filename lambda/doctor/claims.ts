/**
 * Header and claim findings. The platform's rules live in `checkAssertionClaims`
 * (`lambda/platform/rules.ts`), which reports only the first failing check; to report every
 * failing check without restating the rules, the doctor asks it again after applying the
 * remedy for each failure in turn, on a copy of the token.
 */
import {
  ASSERTION_ALG,
  checkAssertionClaims,
  isExpiredAsPlatformJs,
  isExpiredForVerifyJwt,
  type JsonObject,
  MAX_ASSERTION_LIFETIME_S,
  type PlatformErrorName,
} from '../platform/rules.js';
import { FINDINGS, type Finding, type FindingCode, finding } from './findings.js';
import { environmentOfTokenUrl, kidEnvironmentClash, type Target, tokenUrlOf } from './target.js';

const json = (value: unknown): string => (value === undefined ? 'absent' : JSON.stringify(value));

/** ISO-8601 form of a NumericDate; the raw number when it is beyond the range of dates. */
function isoOf(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds} s since the epoch` : date.toISOString();
}

interface ClaimCheck {
  message(header: JsonObject, claims: JsonObject, nowS: number): string;
  details?(header: JsonObject, claims: JsonObject, nowS: number): Record<string, unknown>;
  /** Makes this check pass on the copy, so the next call reports the next failure. */
  remedy(header: JsonObject, claims: JsonObject, nowS: number): void;
}

const validExp = (_h: JsonObject, c: JsonObject, nowS: number) => {
  c.exp = Math.floor(nowS) + 1;
};

/** How each claim-check failure is reported and remedied, keyed by the finding it raises. */
const CLAIM_CHECKS: Partial<Record<FindingCode, ClaimCheck>> = {
  ALG_NOT_RS512: {
    message: (h) => `The header alg is ${json(h.alg)}; the platform accepts only "${ASSERTION_ALG}".`,
    details: (h) => ({ expected: ASSERTION_ALG, actual: h.alg }),
    remedy: (h) => {
      h.alg = ASSERTION_ALG;
    },
  },
  EXP_EXPIRED: {
    // The platform's test is `new Date() > new Date(exp * 1000)`, so a non-number exp that coerces
    // to a past time (a numeric string, "", null, true, []) is reported as expired too.
    message: (_h, c, nowS) =>
      `The assertion expired at ${isoOf(Number(c.exp))}, ${Math.ceil(nowS - Number(c.exp))} s before ${isoOf(nowS)}; the platform allows no leeway.${typeof c.exp === 'number' ? '' : ` (exp is ${json(c.exp)}, which JavaScript reads as ${Number(c.exp)}.)`}`,
    details: (_h, c, nowS) => ({
      exp: c.exp,
      expiredAt: isoOf(Number(c.exp)),
      at: isoOf(nowS),
      secondsAgo: Math.ceil(nowS - Number(c.exp)),
    }),
    remedy: validExp,
  },
  KID_MISSING: {
    message: () => 'The header has no kid.',
    remedy: (h) => {
      h.kid = 'kid';
    },
  },
  TYP_INVALID: {
    message: (h) => `The header typ is ${json(h.typ)}; it must be "JWT" (any case).`,
    details: (h) => ({ expected: 'JWT', actual: h.typ }),
    remedy: (h) => {
      h.typ = 'JWT';
    },
  },
  EXP_MISSING: { message: () => 'The claims have no exp.', remedy: validExp },
  EXP_NOT_NUMBER: {
    message: (_h, c) => `The exp claim is ${json(c.exp)}, a ${typeof c.exp}; it must be a JSON number.`,
    details: (_h, c) => ({ actual: c.exp }),
    remedy: validExp,
  },
  ISS_SUB_INVALID: {
    message: (_h, c) =>
      c.iss && c.sub
        ? `iss ${json(c.iss)} and sub ${json(c.sub)} differ; both must be the API key.`
        : `iss is ${json(c.iss)} and sub is ${json(c.sub)}; both must be present and equal to the API key.`,
    details: (_h, c) => ({ iss: c.iss, sub: c.sub }),
    remedy: (_h, c) => {
      c.iss = 'api-key';
      c.sub = 'api-key';
    },
  },
  JTI_MISSING: {
    // `!jwtPayload.jti`: an empty string, 0 or false counts as missing.
    message: (_h, c) =>
      c.jti === undefined
        ? 'The claims have no jti.'
        : `The jti claim is ${json(c.jti)}, which the platform treats as missing.`,
    remedy: (_h, c) => {
      c.jti = 'jti';
    },
  },
  JTI_NOT_STRING: {
    message: (_h, c) => `The jti claim is a ${typeof c.jti} (${json(c.jti)}); it must be a string.`,
    details: (_h, c) => ({ actual: c.jti }),
    remedy: (_h, c) => {
      c.jti = 'jti';
    },
  },
  EXP_TOO_FAR: {
    message: (_h, c, nowS) =>
      `The exp claim is ${Math.floor((c.exp as number) - nowS)} s ahead of ${isoOf(nowS)}; the platform allows at most ${MAX_ASSERTION_LIFETIME_S} s.`,
    details: (_h, c, nowS) => ({
      exp: c.exp,
      at: isoOf(nowS),
      secondsAhead: Math.floor((c.exp as number) - nowS),
      maxSeconds: MAX_ASSERTION_LIFETIME_S,
    }),
    remedy: validExp,
  },
};

const CLAIM_CODES = Object.keys(CLAIM_CHECKS) as FindingCode[];
const codeFor = (name: PlatformErrorName): FindingCode | undefined =>
  CLAIM_CODES.find((code) => FINDINGS[code].rejects === name);

/**
 * Every failing header and claim check, in the platform's order, plus hints the platform does not
 * give (a fractional exp, an ignored jku). Judged at `nowMs`.
 */
export function claimFindings(header: JsonObject, claims: JsonObject, nowMs: number): Finding[] {
  const nowS = nowMs / 1000;
  const findings: Finding[] = [];
  const h = structuredClone(header);
  const c = structuredClone(claims);
  // Each remedy makes one check pass, so this ends after at most one round per check.
  for (let round = 0; round <= CLAIM_CODES.length; round += 1) {
    const failed = checkAssertionClaims(h, c, { nowMs });
    const code = failed && codeFor(failed);
    const check = code && CLAIM_CHECKS[code];
    if (!code || !check) break;
    findings.push(finding(code, check.message(h, c, nowS), check.details?.(h, c, nowS)));
    check.remedy(h, c, nowS);
  }

  if (typeof claims.exp === 'number' && !Number.isInteger(claims.exp))
    findings.push(
      finding('EXP_FRACTIONAL', `The exp claim ${claims.exp} is not a whole number of seconds.`, {
        actual: claims.exp,
      }),
    );
  for (const member of ['jku', 'x5u'] as const)
    if (header[member] !== undefined)
      findings.push(
        finding('HEADER_JKU_IGNORED', `The header has ${member}; the platform ignores it.`, { member }),
      );
  return findings;
}

/** The environment an `aud` names when it is another environment's token URL than the target's. */
function otherEnvironmentOfAud(aud: unknown, target: Target): string | undefined {
  if (typeof aud !== 'string' || target.environment === undefined || aud === target.tokenUrl)
    return undefined;
  const named = environmentOfTokenUrl(aud);
  return named !== undefined && named !== target.environment ? named : undefined;
}

/**
 * Whether two environments are proxies of one Apigee environment (same host: `int` and `int-mock`),
 * and so share apps and API keys.
 */
function shareApps(environment: string, target: Target): boolean {
  const url = tokenUrlOf(environment);
  const targetUrl = target.tokenUrl ?? (target.environment && tokenUrlOf(target.environment));
  return (
    url !== undefined &&
    !!targetUrl &&
    URL.canParse(targetUrl) &&
    new URL(url).host === new URL(targetUrl).host
  );
}

/**
 * The app check (`VerifyAPIKey.FromJWT` reads the API key from `sub`), which the platform runs
 * after the claim checks and before the JWKS, signature and `aud` (`proxies/default.xml`).
 *
 * With the API key given, `sub` must be it. Without it, an `aud` naming another environment (on
 * another host) suggests the assertion was made with that environment's credentials, whose API
 * key the target does not know: the platform then answers 401 "Invalid 'iss'/'sub' claims" before
 * it looks at `aud`. The doctor cannot know which key `sub` is, so it predicts that case and says so.
 */
export function apiKeyFindings(claims: JsonObject, apiKey: string | undefined, target: Target): Finding[] {
  if (apiKey !== undefined)
    return claims.sub === apiKey
      ? []
      : [
          finding('API_KEY_MISMATCH', `sub is ${json(claims.sub)}, not the API key given.`, {
            expected: apiKey,
            actual: claims.sub,
          }),
        ];
  const audEnvironment = otherEnvironmentOfAud(claims.aud, target);
  if (audEnvironment === undefined || shareApps(audEnvironment, target)) return [];
  return [
    finding(
      'API_KEY_MISMATCH',
      `aud is the ${audEnvironment} token URL, so sub is probably an API key of ${audEnvironment}; ${target.environment} checks the API key (sub) before aud and does not know it. Predicted on that assumption; if sub is an API key registered on ${target.environment}, the platform answers with the aud error instead.`,
      {
        sub: claims.sub,
        audEnvironment,
        environment: target.environment,
        assumed: 'api-key-of-aud-environment',
      },
    ),
  ];
}

/**
 * `VerifyJWT`'s own expiry check, which only an `exp` beyond the JavaScript Date range reaches
 * (the script's `new Date(exp * 1000)` is then invalid and its expiry test passes). Which fault
 * `VerifyJWT` raises is not in the platform's source; the emulator keeps the "JWT has expired"
 * answer (docs/nhs-platform.md §2, UNCONFIRMED), and so does the doctor.
 */
export function verifyJwtExpFindings(claims: JsonObject, nowMs: number): Finding[] {
  if (!isExpiredForVerifyJwt(nowMs, claims.exp) || isExpiredAsPlatformJs(nowMs, claims.exp)) return [];
  return [
    finding(
      'EXP_EXPIRED',
      `The exp claim ${json(claims.exp)} is beyond the range of JavaScript dates: the platform's script lets it through, and Apigee's VerifyJWT then finds it expired (the exact answer is unconfirmed; predicted as "JWT has expired").`,
      { exp: claims.exp, outOfDateRange: true },
    ),
  ];
}

/** Why an `aud` differs from the token URL, for the common mistakes seen in the field. */
function audHint(aud: string, url: string): string | undefined {
  if (aud.toLowerCase() === url.toLowerCase()) return 'it differs only in letter case';
  if (aud.replace(/\/+$/, '') === url) return 'it has a trailing slash';
  if (aud.split('?')[0] === url) return 'it has a query string';
  if (aud.replace(/^http:/, 'https:') === url) return 'it uses http:// instead of https://';
  if (url.startsWith(aud)) return `it stops short: the token URL continues with "${url.slice(aud.length)}"`;
  if (url.endsWith(aud)) return `it lacks the start "${url.slice(0, url.length - aud.length)}"`;
  return undefined;
}

/**
 * The audience check (`VerifyJWT` with `<Audience ref="proxy.url">`): `aud` must be exactly the
 * URL POSTed to, or an array containing it. Without a target only an absent or unknown `aud`
 * can be called out.
 */
export function audFindings(aud: unknown, target: Target, apiKeyGiven = false): Finding[] {
  const expected = target.tokenUrl;
  const audiences = (Array.isArray(aud) ? aud : [aud]).filter(
    (a): a is string => typeof a === 'string' && a !== '',
  );
  const [first] = audiences;
  if (first === undefined)
    return [
      finding('AUD_MISSING', `The aud claim is ${json(aud)}; it must be the token URL as a string.`, {
        expected,
        actual: aud,
      }),
    ];
  if (expected !== undefined && audiences.includes(expected)) return [];
  const audEnvironment = environmentOfTokenUrl(first);
  if (expected === undefined)
    return audEnvironment
      ? [
          finding(
            'AUD_NOT_CHECKED',
            `aud is the ${audEnvironment} token URL; no target was given to check it against.`,
            {
              actual: aud,
              environment: audEnvironment,
            },
          ),
        ]
      : [
          finding('AUD_UNKNOWN', `aud "${first}" is not the token URL of any known environment.`, {
            actual: aud,
          }),
        ];
  if (audEnvironment && audEnvironment !== target.environment) {
    // Which answer the platform gives depends on whose API key sub is (VerifyAPIKey runs first).
    const assumed = shareApps(audEnvironment, target)
      ? `${audEnvironment} and ${target.environment ?? 'the target'} share apps, so the API key check passes and aud decides.`
      : apiKeyGiven
        ? `Taking the API key given as registered on ${target.environment ?? 'the target'}, aud decides; were sub an API key of ${audEnvironment}, the platform would answer 401 "Invalid 'iss'/'sub' claims in client_assertion JWT" first.`
        : `This is the answer only if sub is an API key registered on ${target.environment ?? 'the target'} (see API_KEY_MISMATCH).`;
    return [
      finding(
        'AUD_OTHER_ENVIRONMENT',
        `aud "${first}" is the ${audEnvironment} token URL, not "${expected}". ${assumed}`,
        {
          expected,
          actual: aud,
          environment: audEnvironment,
        },
      ),
    ];
  }
  const hint = audHint(first, expected);
  return [
    finding('AUD_MISMATCH', `aud "${first}" is not the token URL "${expected}"${hint ? `: ${hint}` : ''}.`, {
      expected,
      actual: aud,
      hint,
    }),
  ];
}

/** A key id whose name suggests another environment than the target (e.g. a dev key on INT). */
export function kidEnvironmentFindings(kid: unknown, environment: string | undefined): Finding[] {
  const word = typeof kid === 'string' && environment ? kidEnvironmentClash(kid, environment) : undefined;
  return word
    ? [
        finding(
          'KID_OTHER_ENVIRONMENT',
          `The kid "${String(kid)}" says "${word}" but the target is ${environment}.`,
          {
            kid,
            word,
            environment,
          },
        ),
      ]
    : [];
}
