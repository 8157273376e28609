/**
 * Header and claim findings. The platform's rules live in `checkAssertionClaims`
 * (`lambda/nhs/platform.ts`), which reports only the first failing check; to report every
 * failing check without restating the rules, the doctor asks it again after applying the
 * remedy for each failure in turn, on a copy of the token.
 */
import {
  ASSERTION_ALG,
  checkAssertionClaims,
  type JsonObject,
  MAX_ASSERTION_LIFETIME_S,
  type PlatformErrorName,
} from '../nhs/platform.js';
import { FINDINGS, type Finding, type FindingCode, finding } from './findings.js';
import { environmentOfTokenUrl, kidEnvironmentClash, type Target } from './target.js';

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
    message: (_h, c, nowS) =>
      `The assertion expired at ${isoOf(c.exp as number)}, ${Math.ceil(nowS - (c.exp as number))} s before ${isoOf(nowS)}; the platform allows no leeway.`,
    details: (_h, c, nowS) => ({
      exp: c.exp,
      expiredAt: isoOf(c.exp as number),
      at: isoOf(nowS),
      secondsAgo: Math.ceil(nowS - (c.exp as number)),
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
    message: () => 'The claims have no jti.',
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

/** The app check (`VerifyAPIKey` reads the API key from `sub`): sub must be the app's API key. */
export function apiKeyFindings(claims: JsonObject, apiKey: string | undefined): Finding[] {
  if (apiKey === undefined || claims.sub === apiKey) return [];
  return [
    finding('API_KEY_MISMATCH', `sub is ${json(claims.sub)}, not the API key given.`, {
      expected: apiKey,
      actual: claims.sub,
    }),
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
export function audFindings(aud: unknown, target: Target): Finding[] {
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
  if (audEnvironment && audEnvironment !== target.environment)
    return [
      finding(
        'AUD_OTHER_ENVIRONMENT',
        `aud "${first}" is the ${audEnvironment} token URL, not "${expected}".`,
        {
          expected,
          actual: aud,
          environment: audEnvironment,
        },
      ),
    ];
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
