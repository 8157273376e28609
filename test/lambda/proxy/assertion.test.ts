import fc from 'fast-check';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lambda/platform/clock.js';
import { checkAssertionClaims } from '../../../lambda/platform/rules.js';
import { DEFAULT_ASSERTION_LIFETIME_S, signClientAssertion } from '../../../lambda/proxy/assertion.js';
import { LocalKeySigner } from '../../../lambda/proxy/signer/local.js';
import { rsaKey } from '../../helpers/kms.js';

const TOKEN_URL = 'https://int.api.service.nhs.uk/oauth2/token';
const API_KEY = 'abcDEF123apiKey';

describe('signClientAssertion', () => {
  let signer: LocalKeySigner;
  beforeAll(() => {
    signer = new LocalKeySigner(rsaKey(), 'int');
  });

  it('builds the header and claims NHS requires and jose verifies it against the JWKS', async () => {
    // Prepare
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
    const jwks = createLocalJWKSet({ keys: [await signer.publicJwk()] });

    // Act
    const signed = await signClientAssertion(signer, clock, { apiKey: API_KEY, tokenUrl: TOKEN_URL });

    // Assess
    const { payload, protectedHeader } = await jwtVerify(signed.assertion, jwks, {
      algorithms: ['RS512'],
      issuer: API_KEY,
      subject: API_KEY,
      audience: TOKEN_URL,
      typ: 'JWT',
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader).toEqual({ alg: 'RS512', typ: 'JWT', kid: await signer.keyId() });
    expect(payload.aud).toBe(TOKEN_URL);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.iat).toBe(clock.now() / 1000);
    expect(payload.exp).toBe(clock.now() / 1000 + DEFAULT_ASSERTION_LIFETIME_S);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
    expect(signed).toMatchObject({ jti: payload.jti, kid: protectedHeader.kid, exp: payload.exp });
  });

  it('passes every platform claim check, and gives every assertion a new jti', async () => {
    // Prepare
    const clock = new ManualClock();
    const seen = new Set<string>();

    // Act
    const all = await Promise.all(
      Array.from({ length: 20 }, () =>
        signClientAssertion(signer, clock, { apiKey: API_KEY, tokenUrl: TOKEN_URL }),
      ),
    );

    // Assess
    for (const signed of all) {
      const [h, p] = signed.assertion.split('.') as [string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString());
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const failure = checkAssertionClaims(header, claims, {
        nowMs: clock.now(),
        isJtiReused: (jti) => {
          const reused = seen.has(jti);
          seen.add(jti);
          return reused;
        },
      });
      expect(failure).toBeUndefined();
    }
    expect(seen.size).toBe(20);
  });

  it('keeps exp inside the platform limit for any allowed lifetime and refuses longer ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (lifetimeS, t) => {
          const clock = new ManualClock(t);
          const signed = await signClientAssertion(signer, clock, {
            apiKey: API_KEY,
            tokenUrl: TOKEN_URL,
            lifetimeS,
          });
          expect(decodeProtectedHeader(signed.assertion).alg).toBe('RS512');
          expect(signed.exp - Math.floor(t / 1000)).toBe(lifetimeS);
        },
      ),
      { numRuns: 25 },
    );
    await expect(
      signClientAssertion(signer, new ManualClock(), {
        apiKey: API_KEY,
        tokenUrl: TOKEN_URL,
        lifetimeS: 301,
      }),
    ).rejects.toThrow(RangeError);
  });
});
