/**
 * Subject tokens the platform can only refuse with its catch-all 500 (an alg VerifyJWT does not
 * take) or a certain signature failure (no signature): refused here, before KMS and NHS.
 */
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../lambda/errors.js';
import { b64url } from '../../lambda/jws.js';
import { parseTokenRequest } from '../../lambda/request.js';

const ISSUER = 'http://127.0.0.1:3001/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare';
const NOW = Date.UTC(2026, 10, 28, 12);
const policy = { nowMs: NOW, cis2Issuer: ISSUER, enforceIssuer: true };

function idToken(header: Record<string, unknown>, signature = 'c2ln'): string {
  const h = { typ: 'JWT', kid: 'cis2', ...header };
  const p = { iss: ISSUER, sub: '787807429511', aud: 'client', exp: NOW / 1000 + 600 };
  return `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(p))}.${signature}`;
}

function parse(token: string) {
  return () =>
    parseTokenRequest(
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject_token: token }),
        isBase64Encoded: false,
      },
      policy,
    );
}

describe('parseTokenRequest subject token algorithm and signature', () => {
  it.each(['RS256', 'RS512'])('accepts %s', (alg) => {
    expect(parse(idToken({ alg }))().subject).toBe('787807429511');
  });

  it.each([
    ['none', 'none', 'alg none'],
    ['HS256', 'HS256', 'alg HS256'],
    ['PS512', 'PS512', 'alg PS512'],
    ['an object', { weird: true }, 'an unsupported alg'],
    ['a 500-character string', 'x'.repeat(500), 'an unsupported alg'],
  ])('refuses alg %s as invalid_subject_token, naming it only when short', (_label, alg, named) => {
    // Act
    const err = (() => {
      try {
        parse(idToken({ alg }))();
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).toMatchObject({ code: 'invalid_subject_token', status: 400 });
    expect((err as Error).message).toContain(named);
  });

  it('refuses a token with an empty signature', () => {
    expect(parse(idToken({ alg: 'RS256' }, ''))).toThrow(/no signature/);
  });

  it('reports the platform claim failure first when both apply', () => {
    expect(parse(idToken({ alg: 'none', kid: undefined }))).toThrow(/kid/);
  });
});
