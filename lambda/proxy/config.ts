/**
 * Runtime configuration, read from environment variables once per container and validated up
 * front: a missing or wrong setting stops the proxy from starting, with a message naming it.
 */
import { ENV, PLATFORM_TOKEN_RATE_PER_MINUTE } from '../names.js';
import { ConfigError, type EnvironmentProfile, environmentProfile } from '../platform/environments.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './token-endpoint/types.js';

/** Where the signing key lives. */
export type SigningConfig =
  | { readonly kind: 'kms'; readonly keyId: string; readonly publishedKeyIds: readonly string[] }
  | { readonly kind: 'local'; readonly keyFile: string };

/** Where the app's API key and client secret come from. */
export type CredentialsConfig =
  | { readonly kind: 'secret'; readonly secretId: string }
  | { readonly kind: 'static'; readonly apiKey: string; readonly clientSecret: string };

/** Everything the runtime needs to know, validated. */
export interface RuntimeConfig {
  readonly profile: EnvironmentProfile;
  readonly signing: SigningConfig;
  readonly credentials: CredentialsConfig;
  /** DynamoDB table of the shared cache tier; absent turns the shared tier off. */
  readonly cacheTable?: string;
  /** Whether caching is on at all (`CACHE=off` turns it off, for contrast runs and debugging). */
  readonly cacheEnabled: boolean;
  /** Seconds of life an access token must have left to be served from cache. */
  readonly cacheMarginS: number;
  /** Whether `expires_in` may run past the ID token's `exp` (`SESSION_OUTLIVES_ID_TOKEN`); see docs/token-cache.md. */
  readonly sessionOutlivesIdToken: boolean;
  /** Sessions kept per container by the memory tier (`MEMORY_CACHE_SIZE`). */
  readonly memoryCacheSize: number;
  /** How long a refresh lease in the shared tier lasts (`LEASE_MS`). */
  readonly leaseMs: number;
  /** How long a container that lost the lease waits for the new session before exchanging (`LEASE_WAIT_MS`). */
  readonly leaseWaitMs: number;
  /** Per-attempt timeout of shared tier calls (`CACHE_TIMEOUT_MS`). */
  readonly cacheTimeoutMs: number;
  /** Whether subject tokens from another CIS2 issuer are refused before calling NHS. */
  readonly enforceIssuer: boolean;
  readonly cis2Issuer: string;
  /**
   * Whether ID token signatures are verified against `cis2Issuer`'s published keys before any
   * signing or NHS call (`VERIFY_ID_TOKENS`, default true); see docs/quota.md.
   */
  readonly verifyIdTokens: boolean;
  readonly retry: RetryPolicy;
  /** The NHS budget the proxy keeps itself; see docs/quota.md. */
  readonly budget: BudgetConfig;
}

/** Settings of the NHS budget (lambda/proxy/nhs-budget.ts). */
export interface BudgetConfig {
  /** NHS token calls per rolling minute for the whole app (`NHS_BUDGET_PER_MINUTE`, 0 turns the budget off). */
  readonly perMinute: number;
  /** Containers sharing the rate when there is no shared table (`NHS_BUDGET_CONTAINERS`, the reserved concurrency). */
  readonly containers: number;
  /** Share of the rate kept for refreshes (`NHS_BUDGET_REFRESH_RESERVE_PCT`, default 20 %). */
  readonly refreshReserve: number;
  /** Most of the rate one IAM principal may use (`NHS_BUDGET_CALLER_SHARE_PCT`, default 50 %). */
  readonly callerShare: number;
}

/** Default local signing key location (git-ignored). */
export const DEFAULT_LOCAL_KEY_FILE = '.local/signing-key.pem';

type Env = Readonly<Record<string, string | undefined>>;

function nonNegativeInt(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ConfigError(`${name} must be a non-negative integer, got '${raw}'`);
  }
  return n;
}

/** An integer setting within [min, max], or `fallback` when unset. */
function intInRange(env: Env, name: string, min: number, max: number, fallback: number): number {
  const n = nonNegativeInt(env, name) ?? fallback;
  if (n < min || n > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got '${env[name]}'`);
  return n;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false')
    throw new ConfigError(`${name} must be 'true' or 'false', got '${raw}'`);
  return raw === 'true';
}

function signingConfig(env: Env, profile: EnvironmentProfile): SigningConfig {
  const keyId = env[ENV.signingKeyId];
  if (keyId) {
    const others = (env[ENV.publishedKeyIds] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // The kid is read once per container; an alias repointed meanwhile would sign with a key
    // whose kid the assertions do not carry.
    for (const [name, id] of [[ENV.signingKeyId, keyId], ...others.map((o) => [ENV.publishedKeyIds, o])]) {
      if (/(^|:)alias\//.test(id as string)) {
        throw new ConfigError(`${name} must name a KMS key by ARN or id, not by alias ('${id}')`);
      }
    }
    return { kind: 'kms', keyId, publishedKeyIds: [...new Set([keyId, ...others])] };
  }
  if (!profile.allowLocalKey) {
    if (env.LOCAL_KEY_FILE) {
      throw new ConfigError(`LOCAL_KEY_FILE is refused in ${profile.name}: set SIGNING_KEY_ID to a KMS key`);
    }
    throw new ConfigError(
      `SIGNING_KEY_ID is not set: name the KMS key that signs client assertions in ${profile.name}`,
    );
  }
  return { kind: 'local', keyFile: env.LOCAL_KEY_FILE || DEFAULT_LOCAL_KEY_FILE };
}

function credentialsConfig(env: Env, profile: EnvironmentProfile): CredentialsConfig {
  const secretId = env[ENV.secretId];
  if (secretId) return { kind: 'secret', secretId };
  if (profile.allowLocalKey && env.API_KEY && env.CLIENT_SECRET) {
    return { kind: 'static', apiKey: env.API_KEY, clientSecret: env.CLIENT_SECRET };
  }
  throw new ConfigError(
    `SECRET_ID is not set: name the Secrets Manager secret holding {"api_key", "client_secret"} for ${profile.name}` +
      (profile.allowLocalKey ? ' (or set API_KEY and CLIENT_SECRET for local runs)' : ''),
  );
}

/**
 * Reads and validates only what publishing the JWKS needs: the environment and the keys.
 *
 * @throws {@link ConfigError} naming the first missing or invalid setting.
 */
export function loadSigningOnlyConfig(env: Env): Pick<RuntimeConfig, 'profile' | 'signing'> {
  const profile = environmentProfile(env[ENV.environment], nonNegativeInt(env, 'EMULATOR_PORT'));
  return { profile, signing: signingConfig(env, profile) };
}

/**
 * Reads and validates the runtime configuration.
 *
 * @throws {@link ConfigError} naming the first missing or invalid setting.
 */
export function loadRuntimeConfig(env: Env): RuntimeConfig {
  const { profile, signing } = loadSigningOnlyConfig(env);
  const cache = env.CACHE ?? 'on';
  if (cache !== 'on' && cache !== 'off') throw new ConfigError(`CACHE must be 'on' or 'off', got '${cache}'`);
  // Upper bounds keep one request inside the Lambda timeout (25 s) and API Gateway's 29 s.
  const retry: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxAttempts: intInRange(env, 'TOKEN_MAX_ATTEMPTS', 1, 5, DEFAULT_RETRY_POLICY.maxAttempts),
    attemptTimeoutMs: intInRange(
      env,
      'TOKEN_ATTEMPT_TIMEOUT_MS',
      100,
      20_000,
      DEFAULT_RETRY_POLICY.attemptTimeoutMs,
    ),
    deadlineMs: intInRange(env, 'TOKEN_DEADLINE_MS', 100, 20_000, DEFAULT_RETRY_POLICY.deadlineMs),
  };
  return {
    profile,
    signing,
    credentials: credentialsConfig(env, profile),
    cacheTable: env[ENV.cacheTable] || undefined,
    cacheEnabled: cache === 'on',
    // An access token lives 599 s; a margin near that would never serve from cache.
    cacheMarginS: intInRange(env, 'CACHE_MARGIN_S', 0, 300, 60),
    sessionOutlivesIdToken: flag(env, 'SESSION_OUTLIVES_ID_TOKEN', false),
    memoryCacheSize: intInRange(env, 'MEMORY_CACHE_SIZE', 1, 1_000_000, 1000),
    // The lease must outlast the refresh call it guards, or a second container could redeem
    // the same single-use refresh token.
    leaseMs: intInRange(env, 'LEASE_MS', 100, 60_000, retry.deadlineMs + 2_000),
    leaseWaitMs: intInRange(env, 'LEASE_WAIT_MS', 0, 10_000, 1000),
    cacheTimeoutMs: intInRange(env, 'CACHE_TIMEOUT_MS', 50, 5_000, 500),
    // The real CIS2 issuers are not confirmed against live discovery, so only a configured or
    // emulated issuer is enforced before calling NHS; NHS enforces its own in every case.
    enforceIssuer: Boolean(env.CIS2_ISSUER) || profile.name === 'local',
    cis2Issuer: env.CIS2_ISSUER || profile.cis2Issuer,
    verifyIdTokens: flag(env, 'VERIFY_ID_TOKENS', true),
    budget: {
      perMinute: intInRange(env, ENV.nhsBudgetPerMinute, 0, 100_000, PLATFORM_TOKEN_RATE_PER_MINUTE),
      containers: intInRange(env, ENV.nhsBudgetContainers, 1, 10_000, 1),
      refreshReserve: intInRange(env, 'NHS_BUDGET_REFRESH_RESERVE_PCT', 0, 90, 20) / 100,
      callerShare: intInRange(env, 'NHS_BUDGET_CALLER_SHARE_PCT', 1, 100, 50) / 100,
    },
    retry,
  };
}
