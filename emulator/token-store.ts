/**
 * Access and refresh tokens the emulated platform has issued. Tokens are opaque random strings, as
 * Apigee's are; the store remembers who each belongs to so tokens really expire and tests can ask
 * which subject a token was issued for.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../lambda/platform/clock.js';

/** What the platform knows about an access token it issued. */
export interface AccessTokenInfo {
  /** The CIS2 user (ID token `sub`); for an application-restricted token, the app's API key. */
  readonly sub: string;
  readonly apiKey: string;
  /** Expiry in milliseconds since the epoch. */
  readonly expiresAt: number;
  /**
   * The ID token's `id_assurance_level`, which the platform keeps on the token as the attribute
   * `id_token-id-assurance-level` (identity-service-api `OAuthV2.TokenExchangeGenerateAccessTokenFilteredScopes.xml`)
   * and e-RS checks (emulator/ers.ts). Absent for application-restricted tokens.
   */
  readonly idAssuranceLevel?: number;
  /** Whether the token is still valid by the emulator's clock. */
  readonly active: boolean;
}

/** The user session a refresh token continues. */
export interface RefreshGrant {
  readonly sub: string;
  readonly apiKey: string;
  /** When the session's first access token was issued; caps the total refresh lifetime. */
  readonly firstIssuedAt: number;
  /** How many times the session has been refreshed. */
  readonly refreshCount: number;
  /** Carried to every access token of the session, as Apigee carries token attributes on refresh. */
  readonly idAssuranceLevel?: number;
}

/** A newly issued access or refresh token. */
export interface IssuedToken {
  readonly token: string;
  /** Seconds until it expires, as reported in `expires_in` or `refresh_token_expires_in`. */
  readonly expiresInS: number;
}

/**
 * NHS's own tests see a configured 600,000 ms reported as `expires_in` "599" and 43,200,000 ms as
 * `refresh_token_expires_in` "43199" (ISA `e2e/tests/oauth/test_token_exchange.py`). The emulator
 * reproduces that by ending each token one second before its configured lifetime; how Apigee
 * rounds other values is UNCONFIRMED (docs/nhs-platform.md §7).
 */
const REPORTING_LAG_MS = 1000;

/** The configured lifetime (ms) behind a reported lifetime (s). */
const configuredMs = (reportedS: number): number => reportedS * 1000 + REPORTING_LAG_MS;

/** Whole seconds left, never negative. */
const reportedSeconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));

/** Why a refresh token cannot be redeemed. */
export type RefreshFailure = 'invalid' | 'expired';

/** Lifetimes of issued tokens. */
export interface TokenLifetimes {
  /** Access token lifetime, reported as `expires_in`. */
  readonly accessTokenTtlS: number;
  /** Refresh lifetime from the first issue of a session, reported as `refresh_token_expires_in`. */
  readonly refreshTokenTtlS: number;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** An Apigee-like opaque token: alphanumeric, drawn without modulo bias (256 = 4 × 62 + 8). */
function opaqueToken(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62];
    }
  }
  return out;
}

interface StoredRefresh extends RefreshGrant {
  readonly expiresAt: number;
}

/** Issued tokens, judged against the injected clock. */
export class TokenStore {
  private readonly accessTokens = new Map<string, Omit<AccessTokenInfo, 'active'>>();
  private readonly refreshTokens = new Map<string, StoredRefresh>();

  constructor(
    private readonly clock: Clock,
    readonly lifetimes: TokenLifetimes,
  ) {}

  /** The configured access token lifetime, which is reported as `accessTokenTtlS` (see `REPORTING_LAG_MS`). */
  get defaultAccessTokenMs(): number {
    return configuredMs(this.lifetimes.accessTokenTtlS);
  }

  /** The configured refresh token lifetime and session validity (the emulator uses one value for both). */
  get defaultRefreshTokenMs(): number {
    return configuredMs(this.lifetimes.refreshTokenTtlS);
  }

  /**
   * Issues an access token for `sub` on behalf of the app `apiKey`, living `lifetimeMs` (default
   * the configured lifetime; shorter when the request overrides it).
   */
  issueAccessToken(
    sub: string,
    apiKey: string,
    lifetimeMs = this.defaultAccessTokenMs,
    idAssuranceLevel?: number,
  ): IssuedToken {
    const token = opaqueToken(28);
    const now = this.clock.now();
    const expiresAt = now + lifetimeMs - REPORTING_LAG_MS;
    this.accessTokens.set(token, { sub, apiKey, idAssuranceLevel, expiresAt });
    return { token, expiresInS: reportedSeconds(expiresAt - now) };
  }

  /**
   * Issues a refresh token for `grant`; without `firstIssuedAt` it starts a new session now. As
   * `calculate-refresh-token-expires-in.js` does, it expires at the earlier of `lifetimeMs` from now
   * and `validityMs` from the session's first issue (both default to the configured lifetime).
   */
  issueRefreshToken(
    grant: Omit<RefreshGrant, 'firstIssuedAt'> & { firstIssuedAt?: number },
    lifetimeMs = this.defaultRefreshTokenMs,
    validityMs = this.defaultRefreshTokenMs,
  ): IssuedToken {
    const now = this.clock.now();
    const firstIssuedAt = grant.firstIssuedAt ?? now;
    const token = opaqueToken(32);
    const expiresAt = Math.min(now + lifetimeMs, firstIssuedAt + validityMs) - REPORTING_LAG_MS;
    this.refreshTokens.set(token, { ...grant, firstIssuedAt, expiresAt });
    return { token, expiresInS: reportedSeconds(expiresAt - now) };
  }

  /**
   * Redeems a refresh token presented by the app `apiKey`. A redeemed token is gone (refresh tokens
   * are single use); a token of another app is invalid and stays usable by its own app.
   */
  redeemRefreshToken(token: string, apiKey: string): RefreshGrant | RefreshFailure {
    const stored = this.refreshTokens.get(token);
    if (!stored || stored.apiKey !== apiKey) return 'invalid';
    this.refreshTokens.delete(token);
    if (this.clock.now() >= stored.expiresAt) return 'expired';
    const { expiresAt: _, ...grant } = stored;
    return grant;
  }

  /** What the platform knows about an access token, or `undefined` if it never issued it. */
  introspect(token: string): AccessTokenInfo | undefined {
    const info = this.accessTokens.get(token);
    return info && { ...info, active: this.clock.now() < info.expiresAt };
  }
}
