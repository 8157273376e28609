/**
 * The shared platform rules against the platform's own JavaScript. Every case cites the file and
 * line of NHSDigital/identity-service-api (commit 5100cca, `proxies/live/apiproxy/`) it follows;
 * "VCAC" is `resources/jsc/validate-client-assertion-claims.js`, "VSTC" is
 * `resources/jsc/validate-subject-token-claims.js`, "SITI" is `resources/jsc/SelectIdTokenIssuer.js`.
 */
import { describe, expect, it } from 'vitest';
import {
  checkAssertionClaims,
  checkSubjectTokenClaims,
  isExpiredAsPlatformJs,
  issSubFailAsPlatformJs,
  lifetimeOverrideMs,
  PLATFORM_ERRORS,
  type PlatformErrorName,
} from '../../../lambda/platform/rules.js';

const NOW_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const NOW_S = NOW_MS / 1000;
const ISSUER = 'https://cis2.example/realms/test';

const header = (more: Record<string, unknown> = {}) => ({ alg: 'RS512', typ: 'JWT', kid: 'test-1', ...more });
const claims = (more: Record<string, unknown> = {}) => ({
  iss: 'KEY',
  sub: 'KEY',
  aud: 'https://int.api.service.nhs.uk/oauth2/token',
  jti: 'b0b9f0d4-0000-4000-8000-000000000001',
  exp: NOW_S + 300,
  ...more,
});
const assertion = (c: Record<string, unknown>, h: Record<string, unknown> = {}) =>
  checkAssertionClaims(header(h), claims(c), { nowMs: NOW_MS });

describe('client assertion exp: `new Date() > new Date(jwtPayload.exp * 1000)` (VCAC line 56, checked second, line 68)', () => {
  it.each<[string, unknown]>([
    ['a numeric string in the past', String(NOW_S - 60)],
    ['an empty string', ''],
    ['null', null],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['an empty array', []],
    ['an array holding a past time', [NOW_S - 60]],
  ])('%s coerces to a past time: "JWT has expired"', (_what, exp) => {
    expect(assertion({ exp })).toBe('assertionExpired');
  });

  it.each<[string, unknown, PlatformErrorName | undefined]>([
    // Invalid Dates: the comparison is false and the later checks decide (VCAC lines 53-54, 58);
    // -1e13 then passes them all (VerifyJWT's own expiry check is not in this module's claim checks).
    ['-1e13 (outside the Date range)', -1e13, undefined],
    ['1e13 (outside the Date range)', 1e13, 'assertionExpTooFar'],
    ['a non-numeric string', 'soon', 'assertionExpType'],
    ['a future numeric string', String(NOW_S + 60), 'assertionExpType'],
    ['an object', {}, 'assertionExpType'],
    ['an array of two numbers', [1, 2], 'assertionExpType'],
  ])('%s is not "expired"', (_what, exp, next) => {
    expect(assertion({ exp })).toBe(next);
  });

  it('is a plain comparison of milliseconds: expired one millisecond after exp, not at it', () => {
    expect(isExpiredAsPlatformJs(NOW_MS, NOW_S)).toBe(false);
    expect(isExpiredAsPlatformJs(NOW_MS + 1, NOW_S)).toBe(true);
  });

  it('runs before kid and typ (VCAC lines 66-71)', () => {
    expect(assertion({ exp: '' }, { kid: undefined, typ: undefined })).toBe('assertionExpired');
  });

  it('an absent exp is "Missing" (`!jwtPayload.exp`, VCAC line 53)', () => {
    expect(assertion({ exp: undefined })).toBe('assertionExpMissing');
  });
});

describe('jti (VCAC lines 61-62: `!jwtPayload.jti`, then `typeof != "string"`)', () => {
  it.each<[string, unknown]>([
    ['absent', undefined],
    ['an empty string', ''],
    ['0', 0],
    ['false', false],
    ['null', null],
  ])('%s is "Missing \'jti\'"', (_what, jti) => {
    expect(assertion({ jti })).toBe('assertionJtiMissing');
    expect(PLATFORM_ERRORS.assertionJtiMissing.error_description).toBe(
      "Missing 'jti' claim in client_assertion JWT",
    );
  });

  it.each<[string, unknown]>([
    ['a number', 1234567890],
    ['true', true],
    ['an object', { id: 'x' }],
  ])('%s (truthy, not a string) is "Invalid \'jti\'"', (_what, jti) => {
    expect(assertion({ jti })).toBe('assertionJtiType');
  });
});

describe('iss/sub (VCAC lines 59-60: `!iss || !sub || iss != sub`)', () => {
  it.each<[string, unknown, unknown]>([
    ['123 and "123"', 123, '123'],
    ['["KEY"] and "KEY"', ['KEY'], 'KEY'],
    ['"KEY" and ["KEY"]', 'KEY', ['KEY']],
  ])('%s are loosely equal and pass', (_what, iss, sub) => {
    expect(issSubFailAsPlatformJs(iss, sub)).toBe(false);
    expect(assertion({ iss, sub })).toBeUndefined();
  });

  it.each<[string, unknown, unknown]>([
    ['different strings', 'KEY', 'OTHER'],
    ['a missing iss', undefined, 'KEY'],
    ['an empty sub', 'KEY', ''],
    ['two equal-looking objects (different references)', { k: 1 }, { k: 1 }],
  ])('%s fail', (_what, iss, sub) => {
    expect(assertion({ iss, sub })).toBe('assertionIssSub');
  });
});

describe('subject token (VSTC lines 33-43, then SITI lines 13-22)', () => {
  const subject = (c: Record<string, unknown>, h: Record<string, unknown> = {}) =>
    checkSubjectTokenClaims(
      { alg: 'RS512', typ: 'JWT', kid: 'cis2-1', ...h },
      { iss: ISSUER, aud: 'client-id', sub: 'user', exp: NOW_S + 300, ...c },
      NOW_MS,
      [ISSUER],
    );

  it('an aud of [""] is "Missing \'aud\'" with status 400 (SITI line 19-20), not the 401 of VSTC line 43', () => {
    expect(subject({ aud: [''] })).toBe('subjectAudEmpty');
    expect(PLATFORM_ERRORS.subjectAudEmpty).toMatchObject({
      status: 400,
      error_description: "Missing 'aud' claim in subject_token JWT",
    });
    expect(subject({ aud: '' })).toBe('subjectAudMissing');
    expect(PLATFORM_ERRORS.subjectAudMissing.status).toBe(401);
  });

  it('checks iss against the issuers before aud [""] (SITI line 16 before line 19)', () => {
    expect(subject({ aud: [''], iss: 'https://elsewhere' })).toBe('subjectIssUnknown');
  });

  it('a non-number exp is refused as a type before the Date test (VSTC lines 38-41)', () => {
    expect(subject({ exp: String(NOW_S - 60) })).toBe('subjectExpType');
    expect(subject({ exp: 0 })).toBe('subjectExpMissing');
  });

  it('an exp outside the Date range passes the Date test (VSTC line 40)', () => {
    expect(subject({ exp: -1e13 })).toBeUndefined();
    expect(subject({ exp: NOW_S - 1 })).toBe('subjectExpired');
  });
});

describe('lifetime overrides (calculate-access-token-override.js lines 1-4 and twins; AssignMessage.*Override)', () => {
  const DEFAULT_MS = 600_000;

  it.each<[string | null, number | undefined]>([
    // NHS's own cases (test_access_token_override_with_client_credentials): 100000 and 500000 apply.
    ['100000', 100_000],
    ['500000', 500_000],
    // parseInt(override) < parseInt(default) is false: the default stays.
    ['700000', undefined],
    ['600000', undefined],
    [null, undefined],
    ['abc', undefined],
    // parseInt reads these in part and the platform would assign the raw text: UNCONFIRMED, default kept.
    ['100abc', undefined],
    ['-5', undefined],
    ['1e3', undefined],
  ])('%s → %s', (field, expected) => {
    expect(lifetimeOverrideMs(field, DEFAULT_MS)).toBe(expected);
  });
});
