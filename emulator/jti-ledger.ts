/**
 * The platform's replay cache for client assertion `jti`s (`PopulateCache.JTIClaim.xml`): keyed by
 * the assertion's `sub` and `jti`, kept for 30 days, and written before the API key, JWKS and
 * signature are checked, so a rejected assertion still uses up its `jti`.
 */
import type { Clock } from '../lambda/platform/clock.js';

/** How long the platform remembers a `jti` (2,592,000 s). */
export const JTI_TTL_MS = 2_592_000_000;

/** Used `jti`s per assertion subject, expiring by the injected clock. */
export class JtiLedger {
  private readonly burnedAt = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** Whether this `jti` was burned for this `sub` within the last 30 days. */
  has(sub: unknown, jti: string): boolean {
    const at = this.burnedAt.get(JtiLedger.key(sub, jti));
    return at !== undefined && this.clock.now() - at < JTI_TTL_MS;
  }

  /** Records the `jti` as used by this `sub`. */
  burn(sub: unknown, jti: string): void {
    this.burnedAt.set(JtiLedger.key(sub, jti), this.clock.now());
  }

  // A separator that cannot occur in JSON-decoded strings without escaping keeps keys unambiguous.
  // A non-string sub (possible since iss and sub compare loosely) is keyed by its JSON text, as
  // Apigee shows array claims, so ["KEY"] does not collide with "KEY" (Apigee's exact key UNCONFIRMED).
  private static key(sub: unknown, jti: string): string {
    return `${typeof sub === 'string' ? sub : JSON.stringify(sub)}\u0000${jti}`;
  }
}
