/**
 * Assertions for the browser doctor page's tests and benchmark, signed with a throwaway RSA-4096
 * key (the size NHS tooling generates); nothing here is a real credential.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { b64url } from '../../lambda/platform/jws.js';
import { PLATFORM_TOKEN_URLS } from '../../lambda/platform/rules.js';

/** The moment the page is told to judge at (`AT`), in seconds. */
export const NOW_S = Date.UTC(2026, 10, 28, 10, 0, 0) / 1000;
export const AT = '2026-11-28T10:00:00Z';
export const API_KEY = 'TestApiKey0000000000000000000001';
export const KID = 'int-test-1';
export const EN_DASH = '\u2013';
export const HYPHEN = '\u2010';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 4096 });
/** The JWKS publishing the key, as text to paste. */
export const JWKS = JSON.stringify({
  keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS512', use: 'sig' }],
});

/** A good INT assertion at {@link NOW_S}, with claims overridden and the header's kid as given. */
export function assertion(
  claims: Record<string, unknown> = {},
  kid = KID,
  jti = crypto.randomUUID(),
): string {
  const header = b64url(JSON.stringify({ alg: 'RS512', typ: 'JWT', kid }));
  const payload = b64url(
    JSON.stringify({
      iss: API_KEY,
      sub: API_KEY,
      aud: PLATFORM_TOKEN_URLS.int,
      jti,
      exp: NOW_S + 240,
      ...claims,
    }),
  );
  return `${header}.${payload}.${b64url(sign('sha512', Buffer.from(`${header}.${payload}`), privateKey))}`;
}

/**
 * A good assertion whose signature has a "--" (an en dash's likeliest original) and, elsewhere,
 * a lone "-": about one signature in seven has a "--", so a few jti values are tried.
 */
export function dashedAssertion(): {
  good: string;
  damaged: string;
  dashOffset: number;
  hyphenOffset: number;
} {
  for (;;) {
    const good = assertion();
    const signatureStart = good.lastIndexOf('.') + 1;
    const signature = good.slice(signatureStart);
    const dashOffset = signature.indexOf('--');
    const hyphenOffset = [...signature].findIndex(
      (c, i) => c === '-' && signature[i - 1] !== '-' && signature[i + 1] !== '-' && i > dashOffset + 2,
    );
    if (dashOffset < 0 || hyphenOffset < 0) continue;
    const damaged =
      good.slice(0, signatureStart) +
      signature.slice(0, dashOffset) +
      EN_DASH +
      signature.slice(dashOffset + 2, hyphenOffset) +
      HYPHEN +
      signature.slice(hyphenOffset + 1);
    // The en dash replaced two characters, so the hyphen's offset in the damaged token is one less.
    return { good, damaged, dashOffset, hyphenOffset: hyphenOffset - 1 };
  }
}
