/**
 * Local ID token verification against the emulator's CIS2 (discovery + JWKS on loopback): what is
 * accepted, what is refused and remembered, when keys are fetched again, and what happens when
 * they cannot be fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/index.js';
import { ManualClock } from '../../../lambda/platform/clock.js';
import { isProxyError, type ProxyError } from '../../../lambda/proxy/errors.js';
import { IdTokenVerifier } from '../../../lambda/proxy/id-token-verifier.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

/** A fetch that counts calls and can be broken. */
function countingFetch() {
  const state = { calls: [] as string[], broken: false };
  const f: typeof fetch = async (input, init) => {
    state.calls.push(String(input));
    if (state.broken) throw new TypeError('fetch failed');
    return fetch(input, init);
  };
  return { state, fetch: f };
}

function verifierWith(clock = new ManualClock(Date.now())) {
  const counting = countingFetch();
  const verifier = new IdTokenVerifier({ issuer: emulator.cis2Issuer, clock, fetch: counting.fetch });
  return { verifier, clock, ...counting };
}

async function refusalOf(call: Promise<unknown>): Promise<ProxyError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isProxyError(err)) throw new Error(`expected a ProxyError, got ${String(err)}`);
  return err;
}

const exp = () => Date.now() + 3_600_000;

function forge(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  return `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
}

describe('IdTokenVerifier', () => {
  it("accepts a token CIS2 signed, finding the keys through the issuer's discovery document", async () => {
    // Prepare
    const { verifier, state } = verifierWith();

    // Act
    await verifier.verify(await emulator.idToken(), exp());

    // Assess
    expect(state.calls).toEqual([
      `${emulator.cis2Issuer}/.well-known/openid-configuration`,
      `${emulator.cis2Issuer}/connect/jwk_uri`,
    ]);
  });

  it('refuses a forged signature with 401 subject_token_unverified, and remembers it', async () => {
    // Prepare
    const { verifier, state } = verifierWith();
    const forged = forge(await emulator.idToken());

    // Act
    const first = await refusalOf(verifier.verify(forged, exp()));
    const again = await refusalOf(verifier.verify(forged, exp()));

    // Assess
    expect(first).toMatchObject({ code: 'subject_token_unverified', status: 401 });
    expect(again.message).toContain('refused before');
    expect(state.calls).toHaveLength(2);
  });

  it('looks again once for an unknown kid, then not again within a minute', async () => {
    // Prepare
    const { verifier, state, clock } = verifierWith();
    await verifier.verify(await emulator.idToken(), exp());
    clock.advance(60_000);

    // Act
    const first = await refusalOf(verifier.verify(await emulator.idToken({ header: { kid: 'x' } }), exp()));
    const second = await refusalOf(verifier.verify(await emulator.idToken({ header: { kid: 'y' } }), exp()));

    // Assess: two fetches for the first load, two for the one look; none for the second kid.
    expect(first.message).toContain('unknown kid');
    expect(second.code).toBe('subject_token_unverified');
    expect(state.calls).toHaveLength(4);
  });

  it('fails closed with 503 cis2_keys_unavailable when it never had keys', async () => {
    const { verifier, state } = verifierWith();
    state.broken = true;
    const err = await refusalOf(verifier.verify(await emulator.idToken(), exp()));
    expect(err).toMatchObject({ code: 'cis2_keys_unavailable', status: 503, retryAfterS: 5 });
  });

  it('keeps using the last keys for a day when they cannot be fetched again', async () => {
    // Prepare
    const { verifier, state, clock } = verifierWith();
    await verifier.verify(await emulator.idToken(), exp());
    state.broken = true;

    // Act
    clock.advance(2 * 3_600_000);
    const stale = verifier.verify(await emulator.idToken(), exp());
    await expect(stale).resolves.toBeUndefined();
    clock.advance(23 * 3_600_000);
    const tooOld = await refusalOf(verifier.verify(await emulator.idToken(), exp()));

    // Assess
    expect(tooOld.code).toBe('cis2_keys_unavailable');
  });

  it('refuses a jwks_uri that is plain HTTP off loopback', async () => {
    const clock = new ManualClock(Date.now());
    const verifier = new IdTokenVerifier({
      issuer: 'https://cis2.example',
      clock,
      fetch: async () => Response.json({ jwks_uri: 'http://evil.example/jwks' }),
    });
    const err = await refusalOf(verifier.verify(await emulator.idToken(), exp()));
    expect(err.code).toBe('cis2_keys_unavailable');
  });
});
