import { describe, expect, it } from 'vitest';
import { b64url } from '../../../lambda/platform/jws.js';
import { ProxyError } from '../../../lambda/proxy/errors.js';
import { correlationIdOf, MAX_BODY_BYTES, parseTokenRequest } from '../../../lambda/proxy/request.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ISSUER = 'http://127.0.0.1:3001/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare';
const NOW = Date.UTC(2026, 10, 28, 12);
const policy = { nowMs: NOW, cis2Issuer: ISSUER, enforceIssuer: true };

function idToken(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  signature = 'c2ln',
): string {
  const h = { alg: 'RS256', typ: 'JWT', kid: 'cis2', ...header };
  const p = { iss: ISSUER, sub: '787807429511', aud: 'client', exp: NOW / 1000 + 600, ...claims };
  return `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(p))}.${signature}`;
}

function event(body: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }) {
  return { headers, body: typeof body === 'string' ? body : JSON.stringify(body), isBase64Encoded: false };
}

function rejection(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error('expected a ProxyError');
}

describe('parseTokenRequest', () => {
  it('accepts a JSON body with a CIS2 ID token and reads its exp and sub', () => {
    const token = idToken();
    const request = parseTokenRequest(event({ subject_token: token }), policy);
    expect(request).toEqual({
      subjectToken: token,
      subjectExpiresAt: NOW + 600_000,
      subject: '787807429511',
    });
  });

  it('accepts a base64-encoded body and a charset on the content type', () => {
    const token = idToken();
    const request = parseTokenRequest(
      {
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.from(JSON.stringify({ subject_token: token })).toString('base64'),
        isBase64Encoded: true,
      },
      policy,
    );
    expect(request.subjectToken).toBe(token);
  });

  it.each([
    ['an empty body', event(''), 'invalid_request', 400, 'empty'],
    ['non-JSON', event('subject_token=abc'), 'invalid_request', 400, 'not valid JSON'],
    ['a JSON array', event([1]), 'invalid_request', 400, 'JSON object'],
    ['no subject_token', event({ id_token: 'x' }), 'invalid_request', 400, 'subject_token is missing'],
    ['a non-string subject_token', event({ subject_token: 42 }), 'invalid_request', 400, 'must be a string'],
    ['an empty subject_token', event({ subject_token: '' }), 'invalid_request', 400, 'empty'],
    [
      'an opaque token',
      event({ subject_token: '9SrRLS-XxM65UGJRlXR_6lqf604' }),
      'invalid_subject_token',
      400,
      'three',
    ],
    [
      'a typographic dash',
      event({ subject_token: `${idToken()}–` }),
      'invalid_subject_token',
      400,
      'base64url',
    ],
    [
      'a form content type',
      event('{}', { 'content-type': 'application/x-www-form-urlencoded' }),
      'unsupported_media_type',
      415,
      'application/json',
    ],
    ['a huge body', event('x'.repeat(MAX_BODY_BYTES + 1)), 'payload_too_large', 413, 'larger'],
  ])('refuses %s', (_name, ev, code, status, words) => {
    const error = rejection(() => parseTokenRequest(ev, policy));
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message).toContain(words);
  });

  it.each([
    [
      { exp: NOW / 1000 - 1 },
      {},
      'subject_token_expired',
      "Invalid 'exp' claim in subject_token JWT - JWT has expired",
    ],
    [{ exp: null }, {}, 'invalid_subject_token', "Missing 'exp' claim in subject_token JWT"],
    [
      { exp: '9999999999' },
      {},
      'invalid_subject_token',
      "Invalid 'exp' claim in subject_token JWT - must be an integer",
    ],
    [{}, { kid: null }, 'invalid_subject_token', "Missing 'kid' header in subject_token JWT"],
    [
      {},
      { typ: 'at+jwt' },
      'invalid_subject_token',
      "Invalid 'typ' header in subject_token JWT - must be 'JWT'",
    ],
    [
      { iss: 'https://dep.example' },
      {},
      'invalid_subject_token',
      "Missing or non-matching 'iss' claim in subject_token JWT",
    ],
    [{ aud: null }, {}, 'invalid_subject_token', "Missing 'aud' claim in subject_token JWT"],
    // SelectIdTokenIssuer.js lines 19-20.
    [{ aud: [''] }, {}, 'invalid_subject_token', "Missing 'aud' claim in subject_token JWT"],
  ])("refuses what NHS would refuse, in NHS's exact words: %j %j", (claims, header, code, description) => {
    const token = idToken(claims, header);
    const error = rejection(() => parseTokenRequest(event({ subject_token: token }), policy));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(
      new RegExp(`^NHS would refuse this subject_token with "${escapeRegExp(description)}"`),
    );
    expect(error.message).not.toContain(token);
  });

  it.each([
    ['a fractional exp', NOW / 1000 + 600.5],
    ['an exp beyond a day', NOW / 1000 + 86_401],
    ['an astronomical exp', 1e300],
    // The platform's script passes it (an invalid Date); NHS's answer is unknown, so ours is our own.
    ['an exp before the Date range', -1e13],
  ])('refuses %s in its own words, which would corrupt expiry arithmetic', (_name, exp) => {
    const error = rejection(() => parseTokenRequest(event({ subject_token: idToken({ exp }) }), policy));
    expect(error.code).toBe('invalid_subject_token');
    expect(error.message).toContain('whole seconds within a day');
    expect(error.message).not.toContain('NHS');
  });

  it('lets another issuer through when the issuer is not enforced', () => {
    const token = idToken({ iss: 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/other' });
    expect(
      parseTokenRequest(event({ subject_token: token }), { ...policy, enforceIssuer: false }).subjectToken,
    ).toBe(token);
  });
});

// Subject tokens the platform can only refuse with its catch-all 500 (an alg VerifyJWT does not
// take) or a certain signature failure (no signature): refused here, before KMS and NHS.
describe('parseTokenRequest subject token algorithm and signature', () => {
  const parse = (token: string) => () => parseTokenRequest(event({ subject_token: token }), policy);

  it.each(['RS256', 'RS512'])('accepts %s', (alg) => {
    expect(parse(idToken({}, { alg }))().subject).toBe('787807429511');
  });

  it.each([
    ['none', 'none', 'alg none'],
    ['HS256', 'HS256', 'alg HS256'],
    ['PS512', 'PS512', 'alg PS512'],
    ['an object', { weird: true }, 'an unsupported alg'],
    ['a 500-character string', 'x'.repeat(500), 'an unsupported alg'],
  ])('refuses alg %s as invalid_subject_token, naming it only when short', (_label, alg, named) => {
    const error = rejection(parse(idToken({}, { alg })));
    expect(error).toMatchObject({ code: 'invalid_subject_token', status: 400 });
    expect(error.message).toContain(named);
  });

  it('refuses a token with an empty signature', () => {
    expect(parse(idToken({}, {}, ''))).toThrow(/no signature/);
  });

  it('reports the platform claim failure first when both apply', () => {
    expect(parse(idToken({}, { alg: 'none', kid: undefined }))).toThrow(/kid/);
  });
});

describe('correlationIdOf', () => {
  it('keeps a given id, generates one when absent, and refuses control characters', () => {
    expect(correlationIdOf({ headers: { 'X-Correlation-ID': 'abc-123' } }, () => 'new')).toBe('abc-123');
    expect(correlationIdOf({ headers: {} }, () => 'new')).toBe('new');
    expect(
      rejection(() => correlationIdOf({ headers: { 'x-correlation-id': 'a\nb' } }, () => 'new')).code,
    ).toBe('invalid_request');
  });
});
