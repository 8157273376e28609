import { randomUUID } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { b64url } from '../platform/jws.js';
import { ASSERTION_ALG, MAX_ASSERTION_LIFETIME_S } from '../platform/rules.js';
import type { Signer } from './signer/signer.js';

/**
 * Default assertion lifetime. NHS advises now + 5 minutes and rejects anything more than 310 s
 * ahead; staying 60 s under leaves room for our clock running ahead of the platform's.
 */
export const DEFAULT_ASSERTION_LIFETIME_S = 240;

/** What an assertion is for. */
export interface AssertionParams {
  /** The app's API key: both `iss` and `sub`. */
  readonly apiKey: string;
  /** The token URL, character for character: the `aud`. */
  readonly tokenUrl: string;
  readonly lifetimeS?: number;
}

/** A signed client assertion plus the non-secret facts we log about it. */
export interface SignedAssertion {
  readonly assertion: string;
  readonly jti: string;
  readonly kid: string;
  readonly exp: number;
  /** Milliseconds spent in the signer (KMS round trip in production). */
  readonly signMs: number;
}

/**
 * Builds and signs an RS512 `private_key_jwt` client assertion as the NHS platform requires:
 * header `{alg: RS512, typ: JWT, kid}`; claims `iss` = `sub` = API key, `aud` = token URL,
 * a fresh UUID `jti`, `iat` now and `exp` at most {@link MAX_ASSERTION_LIFETIME_S} ahead.
 * Call it once per attempt: the platform burns a `jti` even when it rejects the request.
 *
 * @throws RangeError if the lifetime would exceed the platform's limit.
 */
export async function signClientAssertion(
  signer: Signer,
  clock: Clock,
  params: AssertionParams,
): Promise<SignedAssertion> {
  const lifetimeS = params.lifetimeS ?? DEFAULT_ASSERTION_LIFETIME_S;
  if (!(lifetimeS > 0 && lifetimeS <= MAX_ASSERTION_LIFETIME_S - 10)) {
    throw new RangeError(
      `assertion lifetime must be 1..${MAX_ASSERTION_LIFETIME_S - 10} s, got ${lifetimeS}`,
    );
  }
  const kid = await signer.keyId();
  const iat = Math.floor(clock.now() / 1000);
  const jti = randomUUID();
  const exp = iat + lifetimeS;
  const header = b64url(JSON.stringify({ alg: ASSERTION_ALG, typ: 'JWT', kid }));
  const payload = b64url(
    JSON.stringify({ iss: params.apiKey, sub: params.apiKey, aud: params.tokenUrl, jti, iat, exp }),
  );
  const signingInput = `${header}.${payload}`;
  const started = performance.now();
  const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
  const signMs = performance.now() - started;
  return { assertion: `${signingInput}.${b64url(signature)}`, jti, kid, exp, signMs };
}
