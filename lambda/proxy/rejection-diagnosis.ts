/**
 * When NHS rejects an assertion this proxy signed, the assertion doctor examines it against our
 * own published keys, so the log line and the error response say more than NHS does. Only the
 * finding codes leave this module, never the assertion.
 */

import { bySeverity, diagnose } from '../doctor/index.js';
import type { Clock } from '../platform/clock.js';
import type { PublicSigningJwk } from './signer/signer.js';

/**
 * Builds the token client's `diagnoseRejectedAssertion` hook. A `SIGNATURE_VERIFIED` finding with
 * no error means our assertion is sound against our own JWKS: what NHS holds for this app
 * (registered JWKS, cached for an hour, or API key) is what differs.
 */
export function rejectedAssertionDiagnoser(options: {
  readonly jwks: () => Promise<readonly PublicSigningJwk[]>;
  readonly tokenUrl: string;
  readonly environment: string;
  readonly clock: Clock;
}): (assertion: string, apiKey: string) => Promise<readonly string[]> {
  return async (assertion, apiKey) => {
    const diagnosis = await diagnose({
      assertion,
      jwks: { keys: await options.jwks() },
      tokenUrl: options.tokenUrl,
      apiKey,
      environment: options.environment,
      nowMs: options.clock.now(),
    });
    return bySeverity(diagnosis.findings).map((finding) => finding.code);
  };
}
