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

/**
 * Metrics of the client-authentication canary (lambda/probe/canary.ts), one data point per key
 * and run, with the dimension {@link CANARY_KEY_DIMENSION} naming the probed key.
 */
export const CANARY_METRIC = {
  accepted: 'ClientAuthAccepted',
  refused: 'ClientAuthRefused',
  /** The probe reached no verdict (NHS unreachable, rate limited, KMS or the secret failing). */
  probeFailed: 'ClientAuthProbeFailed',
} as const;

/** The canary's metric dimension naming the probed key (the KMS key as configured). */
export const CANARY_KEY_DIMENSION = 'key';

/** The NHS platform environments the runtime has a profile for (`local` aside). */
export const PLATFORM_ENVIRONMENTS = ['internal-dev', 'int', 'prod'] as const;

/** A name from {@link PLATFORM_ENVIRONMENTS}. */
export type PlatformEnvironment = (typeof PLATFORM_ENVIRONMENTS)[number];

/** The environment of `npm start` and the tests: everything on the bundled emulator. */
export const LOCAL_ENVIRONMENT = 'local';

/**
 * What the stack stores in the credentials secret until an operator sets the real values; the
 * runtime refuses it with a `config_error` naming the field.
 */
export const SECRET_PLACEHOLDER = 'REPLACE_ME';

/**
 * Attributes of the shared cache table's items that the table's definition depends on: the
 * partition key and the TTL attribute (epoch seconds).
 */
export const CACHE_ITEM = { partitionKey: 'pk', ttl: 'expiresAt' } as const;

/** Environment variables the infrastructure sets and the runtime reads. */
export const ENV = {
  /** Platform environment name, one of {@link PLATFORM_ENVIRONMENTS} or {@link LOCAL_ENVIRONMENT}. */
  environment: 'ENVIRONMENT',
  /** KMS key (ARN or id, never an alias) signing client assertions. */
  signingKeyId: 'SIGNING_KEY_ID',
  /** Comma-separated KMS keys published in the JWKS. */
  publishedKeyIds: 'PUBLISHED_KEY_IDS',
  /** Secrets Manager secret holding `{api_key, client_secret}`. */
  secretId: 'SECRET_ID',
  /** DynamoDB table of the shared cache tier; unset turns the tier off. */
  cacheTable: 'CACHE_TABLE',
  /** NHS token calls per rolling minute for the whole app (docs/quota.md). */
  nhsBudgetPerMinute: 'NHS_BUDGET_PER_MINUTE',
  /** Containers sharing the budget when there is no shared table: the reserved concurrency. */
  nhsBudgetContainers: 'NHS_BUDGET_CONTAINERS',
} as const;
