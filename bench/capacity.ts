/**
 * Capacity computed from measured costs and the platform's limits. Every input is either a
 * median this invocation measured or a limit with its source; nothing here is measured itself.
 */

/** NHS token endpoint: 300 calls per rolling minute per app (docs/nhs-platform.md §7, /work/shared/nhs-platform.md). */
export const NHS_CALLS_PER_MINUTE_PER_APP = 300;
/** Access token lifetime NHS reports (`expires_in` 599). */
export const ACCESS_TOKEN_TTL_S = 599;
/** Seconds of life a cached token must have left to be served (`CACHE_MARGIN_S` default). */
export const CACHE_MARGIN_S = 60;
/**
 * KMS "Cryptographic operations (RSA) request rate", shared by Sign, Verify, GetPublicKey and the
 * other RSA operations of the account in the Region. AWS's request-quota table, as stored at
 * https://docs.amazonaws.cn/en_us/kms/latest/developerguide/requests-per-second.html, lists
 * "1,000 (shared) for RSA KMS keys"; quotas vary by Region and are adjustable, so check the
 * account's Service Quotas console for eu-west-2 before relying on it.
 */
export const KMS_RSA_REQUESTS_PER_SECOND = 1_000;

/** Capacity figures, all derived. */
export interface Capacity {
  /**
   * NHS calls one active user costs per hour, for a session of an hour: its first exchange times
   * the measured amplification (every container that meets the user in the same burst), then one
   * refresh per token lifetime less margin (assumed one call each under the refresh lease: not
   * measured here).
   */
  readonly nhsCallsPerUserHour: number;
  /** Active users one app serves at the NHS rate limit. */
  readonly usersPerApp: number;
  /** The same with no amplification (one call per grant). */
  readonly usersPerAppIdeal: number;
  /** KMS Sign requests per second when the app runs at the NHS rate limit (every call signed: worst case). */
  readonly kmsSignsPerSecondAtNhsLimit: number;
  /** That as a share of the account's RSA quota. */
  readonly kmsQuotaShare: number;
  /** Misses one core can do per second on our CPU cost (RSA is KMS's). */
  readonly missesPerCoreSecond: number;
}

/**
 * @param amplification - NHS exchanges per user in the burst across containers (shared tier on).
 * @param signsPerExchange - KMS signatures per exchange in the same burst.
 * @param missCpuMs - our CPU per miss through the real SDK over HTTPS.
 */
export function capacity(amplification: number, signsPerExchange: number, missCpuMs: number): Capacity {
  const renewalsPerHour = 3600 / (ACCESS_TOKEN_TTL_S - CACHE_MARGIN_S);
  const perHour = NHS_CALLS_PER_MINUTE_PER_APP * 60;
  const nhsCallsPerUserHour = Math.max(1, amplification) + (renewalsPerHour - 1);
  const kmsSigns = (NHS_CALLS_PER_MINUTE_PER_APP / 60) * signsPerExchange;
  return {
    nhsCallsPerUserHour,
    usersPerApp: perHour / nhsCallsPerUserHour,
    usersPerAppIdeal: perHour / renewalsPerHour,
    kmsSignsPerSecondAtNhsLimit: kmsSigns,
    kmsQuotaShare: kmsSigns / KMS_RSA_REQUESTS_PER_SECOND,
    missesPerCoreSecond: 1000 / missCpuMs,
  };
}
