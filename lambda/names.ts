/**
 * Names shared by the infrastructure (`lib/`) and the runtime (`lambda/`): both import them from
 * here, so a renamed metric or variable cannot drift apart. Pure constants: no AWS SDK, no CDK.
 */

/** CloudWatch namespace of the runtime's EMF metrics (also set as `POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'Cis2TokenProxy';

/** The runtime's Powertools service name; Powertools adds it to every EMF dimension set. */
export const SERVICE_NAME = 'cis2-token-proxy';

/** Metric names the runtime emits; the CDK dashboard and alarms use exactly these. */
export const METRIC = {
  requestSucceeded: 'RequestSucceeded',
  requestFailed: 'RequestFailed',
  clientError: 'ClientError',
  upstreamExchange: 'UpstreamExchange',
  upstreamRefresh: 'UpstreamRefresh',
  upstreamFailure: 'UpstreamFailure',
  upstreamRetry: 'UpstreamRetry',
  cacheHitMemory: 'CacheHitMemory',
  cacheHitShared: 'CacheHitShared',
  cacheMiss: 'CacheMiss',
  cacheError: 'CacheError',
  leaseContention: 'LeaseContention',
  dependencyFailure: 'DependencyFailure',
  latencyTotal: 'LatencyTotal',
  latencyKmsSign: 'LatencyKmsSign',
  latencyUpstream: 'LatencyUpstream',
  /** HTTP calls to the NHS token endpoint, every grant and attempt: compare with the app's 300/min. */
  nhsTokenCall: 'NhsTokenCall',
  /** Requests refused without calling NHS: over the budget, over the caller's share, or breaker open. */
  requestShed: 'RequestShed',
  /** ID tokens refused by local signature verification (forged, unknown key, other issuer). */
  idTokenRefused: 'IdTokenRefused',
  /** 1 when a request found the NHS throttling breaker open or half-open, else 0 (use Maximum). */
  nhsBreakerOpen: 'NhsBreakerOpen',
} as const;

/** A metric name from {@link METRIC}. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * The NHS token endpoint's app quota, calls in any rolling minute (docs/nhs-platform.md §7): the
 * default of `NHS_BUDGET_PER_MINUTE`, and what the `NhsBudget80` alarm measures against.
 */
export const PLATFORM_TOKEN_RATE_PER_MINUTE = 300;

/** Environment variables the infrastructure sets and the runtime reads. */
export const ENV = {
  /** NHS token calls per rolling minute for the whole app (docs/quota.md). */
  nhsBudgetPerMinute: 'NHS_BUDGET_PER_MINUTE',
  /** Containers sharing the budget when there is no shared table: the reserved concurrency. */
  nhsBudgetContainers: 'NHS_BUDGET_CONTAINERS',
} as const;
