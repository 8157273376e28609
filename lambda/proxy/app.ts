/**
 * Composition root: turns a {@link RuntimeConfig} into a handler by choosing the implementation
 * behind each seam (signer: KMS or local key; credentials: Secrets Manager or static; cache;
 * clock; telemetry). Tests, the local server and benchmarks pass overrides for any of them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Clock, systemClock } from '../platform/clock.js';
import { CachingTokenService, createCacheDynamoClient, DynamoTier, MemoryTier } from './cache/index.js';
import type { RuntimeConfig } from './config.js';
import { buildCredentials } from './credentials.js';
import { createHandler, type Handler } from './handler.js';
import { IdTokenVerifier } from './id-token-verifier.js';
import { DynamoBudget, MemoryBudget, type NhsBudget } from './nhs-budget.js';
import { keepAliveFetch } from './nhs-http.js';
import { rejectedAssertionDiagnoser } from './rejection-diagnosis.js';
import { buildSigners, publishedJwks } from './signer/setup.js';
import type { PublicSigningJwk, Signer } from './signer/signer.js';
import { METRIC, powertoolsTelemetry, type Telemetry } from './telemetry.js';
import { type TokenClientOptions, TokenEndpointClient } from './token-endpoint/client.js';
import type { AppCredentials } from './token-endpoint/types.js';
import { ExchangingTokenService, type TokenService } from './token-service.js';

export { buildSigners, publishedJwks };

/** Replacements for the default implementations. */
export interface AppOverrides {
  readonly kms?: KMSClient;
  readonly secretsManager?: SecretsManagerClient;
  /** Client of the shared cache table (tests point it at dynalite); default one with short timeouts. */
  readonly dynamo?: DynamoDBClient;
  readonly signer?: Signer;
  readonly telemetry?: Telemetry;
  readonly clock?: Clock;
  /** The fetch of calls to the NHS token endpoint. */
  readonly fetch?: typeof fetch;
  /** The fetch of CIS2 discovery and JWKS reads (default the global fetch). */
  readonly cis2Fetch?: typeof fetch;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The assembled proxy. */
export interface App {
  readonly handler: Handler;
  readonly signer: Signer;
  readonly tokenClient: TokenEndpointClient;
  readonly tokens: TokenService;
  readonly jwks: () => Promise<readonly PublicSigningJwk[]>;
  readonly telemetry: Telemetry;
}

/**
 * The token service for a configuration: exchange every time with `CACHE=off`; otherwise the
 * memory tier, plus the shared tier when `CACHE_TABLE` names a table.
 */
function buildTokenService(
  config: RuntimeConfig,
  deps: {
    client: TokenEndpointClient;
    credentials: () => Promise<AppCredentials>;
    clock: Clock;
    telemetry: Telemetry;
    dynamo?: DynamoDBClient;
  },
): TokenService {
  if (!config.cacheEnabled) return new ExchangingTokenService(deps.client, config.sessionOutlivesIdToken);
  const shared =
    config.cacheTable === undefined || !deps.dynamo
      ? undefined
      : new DynamoTier({
          client: deps.dynamo,
          tableName: config.cacheTable,
          leaseMs: config.leaseMs,
        });
  return new CachingTokenService({
    client: deps.client,
    scope: async () => ({ environment: config.profile.name, apiKey: (await deps.credentials()).apiKey }),
    memory: new MemoryTier(config.memoryCacheSize),
    shared,
    clock: deps.clock,
    telemetry: deps.telemetry,
    marginS: config.cacheMarginS,
    sessionOutlivesIdToken: config.sessionOutlivesIdToken,
    leaseWaitMs: config.leaseWaitMs,
    keyMemoSize: config.memoryCacheSize,
  });
}

/**
 * The NHS budget for a configuration: shared through the cache table when the shared tier is on
 * (falling back to this container's share if the table fails), else this container's share.
 */
function buildBudget(
  config: RuntimeConfig,
  deps: { clock: Clock; telemetry: Telemetry; dynamo?: DynamoDBClient },
): NhsBudget | undefined {
  const { perMinute, containers, refreshReserve, callerShare } = config.budget;
  if (perMinute === 0) return undefined;
  const policy = { perMinute, refreshReserve, callerShare };
  const local = new MemoryBudget(
    { ...policy, perMinute: Math.max(1, Math.floor(perMinute / containers)) },
    deps.clock,
  );
  if (!deps.dynamo || config.cacheTable === undefined) return local;
  return new DynamoBudget({
    client: deps.dynamo,
    tableName: config.cacheTable,
    policy,
    clock: deps.clock,
    fallback: local,
    onTableError: (error) => {
      deps.telemetry.metrics.count(METRIC.cacheError);
      deps.telemetry.log.warn('nhs_budget_table_error', { error });
    },
  });
}

/**
 * Assembles the proxy for a configuration.
 *
 * @param extraClientOptions - token client settings beyond the configuration (tests use this for
 *   short timeouts).
 */
export async function buildApp(
  config: RuntimeConfig,
  overrides: AppOverrides = {},
  extraClientOptions: Partial<TokenClientOptions> = {},
): Promise<App> {
  const clock = overrides.clock ?? systemClock;
  const telemetry = overrides.telemetry ?? powertoolsTelemetry(config.profile.name);
  const { signer, published } = await buildSigners(config, overrides);
  const credentials = buildCredentials(config, overrides);
  const jwks = publishedJwks(published);
  const dynamo =
    config.cacheEnabled && config.cacheTable !== undefined
      ? (overrides.dynamo ?? createCacheDynamoClient({}, config.cacheTimeoutMs))
      : undefined;
  const tokenClient = new TokenEndpointClient({
    tokenUrl: config.profile.tokenUrl,
    signer,
    clock,
    credentials,
    retry: config.retry,
    fetch: overrides.fetch ?? keepAliveFetch(),
    random: overrides.random,
    sleep: overrides.sleep,
    diagnoseRejectedAssertion: rejectedAssertionDiagnoser({
      jwks,
      tokenUrl: config.profile.tokenUrl,
      environment: config.profile.name,
      clock,
    }),
    budget: buildBudget(config, { clock, telemetry, dynamo }),
    ...extraClientOptions,
  });
  const tokens = buildTokenService(config, {
    client: tokenClient,
    credentials,
    clock,
    telemetry,
    dynamo,
  });
  const verifier = config.verifyIdTokens
    ? new IdTokenVerifier({ issuer: config.cis2Issuer, clock, fetch: overrides.cis2Fetch })
    : undefined;
  const handler = createHandler({
    environment: config.profile.name,
    cis2Issuer: config.cis2Issuer,
    enforceIssuer: config.enforceIssuer,
    tokens,
    verifySubjectToken: verifier
      ? (request, trace) => verifier.verify(request.subjectToken, request.subjectExpiresAt, trace.deadlineAt)
      : undefined,
    jwks,
    telemetry,
    clock,
    breakerState: () => tokenClient.breaker.state,
    deadlineMs: tokenClient.deadlineMs,
  });
  return { handler, signer, tokenClient, tokens, jwks, telemetry };
}
