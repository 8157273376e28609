/**
 * Types shared by the token endpoint client and its callers (credentials, runtime configuration,
 * the caches): what the app authenticates with, what a token answer is, and the retry policy.
 */

/** The app's credentials at the platform. */
export interface AppCredentials {
  readonly apiKey: string;
  readonly clientSecret: string;
}

/** A successful token endpoint answer, numbers parsed from the platform's strings. */
export interface TokenResponse {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresInS: number;
  readonly issuedTokenType?: string;
  readonly refreshToken?: string;
  readonly refreshTokenExpiresInS?: number;
  readonly refreshCount?: number;
  /** Our clock when the answer arrived: expiry is computed from this, not from NHS. */
  readonly receivedAt: number;
}

/** Retry and timeout policy. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Per-attempt timeout. */
  readonly attemptTimeoutMs: number;
  /** Overall budget for one call, retries and backoff included; keep well inside API Gateway's 29 s. */
  readonly deadlineMs: number;
  /** Backoff before retry n is uniformly random in [0, min(maxBackoffMs, baseBackoffMs * 2^(n-1))]. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Defaults: 3 attempts of at most 8 s each inside 20 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  attemptTimeoutMs: 8_000,
  deadlineMs: 20_000,
  baseBackoffMs: 100,
  maxBackoffMs: 2_000,
};
