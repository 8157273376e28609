/**
 * Typed, validated deploy configuration. Each environment is described under the cdk.json context key
 * `environments` and selected with `-c env=<name>`; everything the stack varies per environment comes
 * from here, so a typo fails `cdk synth` with a message naming the field instead of deploying a
 * half-configured proxy.
 */
import { Aws } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { PLATFORM_ENVIRONMENTS } from '../lambda/names.js';

/** Context key holding the per-environment settings. */
export const ENVIRONMENTS_CONTEXT_KEY = 'environments';
/** Context key naming the environment to synthesize (`-c env=int`). */
export const ENV_CONTEXT_KEY = 'env';
/** Platform environments the runtime has a profile for (`PLATFORM_PROFILES` is keyed by them). */
export const RUNTIME_ENVIRONMENTS: readonly string[] = PLATFORM_ENVIRONMENTS;

/** Principal shorthand for "IAM identities of the deploying account" (they still need an IAM policy). */
export const THIS_ACCOUNT = 'this-account';

/** The environment that reaches NHS production: it must name its callers and key administrator. */
export const PROD_ENVIRONMENT = 'prod';

/**
 * A role of the deploying account written without the account id, e.g. `role/ers-backend`, so one
 * cdk.json serves every account; {@link roleArn} expands it at synth time.
 */
const RELATIVE_ROLE_PATTERN = /^role\/[\w+=,.@/-]+$/;

/**
 * The IAM ARN of a configured principal: relative `role/<name>` entries become roles of the deploying
 * account, full ARNs are returned as they are.
 */
export function roleArn(entry: string): string {
  return RELATIVE_ROLE_PATTERN.test(entry) ? `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:${entry}` : entry;
}

/** Alarm thresholds; each alarm fires after `evaluationPeriods` consecutive 5-minute periods in breach. */
export interface AlarmThresholds {
  /** Failed share of token requests, in percent: `RequestFailed / (RequestSucceeded + RequestFailed)`. */
  readonly failureRatePercent: number;
  /** p99 of `LatencyTotal`, in milliseconds. */
  readonly p99LatencyMs: number;
  /** Lambda `Errors` (unhandled errors, timeouts) per period, either function. */
  readonly lambdaErrors: number;
  /** Lambda `Throttles` per period. */
  readonly throttles: number;
  /** `DependencyFailure` count per period (KMS, Secrets Manager or DynamoDB unavailable). */
  readonly dependencyFailures: number;
  /** Consecutive periods in breach before the alarm fires. */
  readonly evaluationPeriods: number;
}

/** The settings of one deployment environment. */
export interface DeployConfig {
  /** Environment name; passed to the runtime as `ENVIRONMENT` and part of every resource name. */
  readonly name: string;
  /**
   * Who may call the internal API: IAM role/user ARNs or `role/<name>` of the deploying account
   * (allowed by the resource policy alone), account root ARNs or {@link THIS_ACCOUNT} (delegated: the
   * caller's own IAM policy must also allow it; refused for {@link PROD_ENVIRONMENT}).
   */
  readonly allowedPrincipals: readonly string[];
  /** When set, the internal API is PRIVATE and only reachable through these interface VPC endpoints. */
  readonly privateEndpoint?: { readonly vpcEndpointIds: readonly string[] };
  /** Whether to create the DynamoDB table shared by all Lambda instances as a token cache. */
  readonly sharedCache: boolean;
  /** Logical KMS key slots; every slot is a key published in the JWKS. */
  readonly keys: readonly string[];
  /** The slot whose key signs client assertions; must be one of `keys`. */
  readonly signingKey: string;
  /** Retention of every log group; must be a CloudWatch Logs retention value. */
  readonly logRetentionDays: RetentionDays;
  /** `POWERTOOLS_LOG_LEVEL` of the functions. */
  readonly logLevel: LogLevel;
  /** Optional e-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /** Optional reserved concurrency of the token function (also caps its blast radius). */
  readonly reservedConcurrency?: number;
  /**
   * Whether the stack sets the account-wide API Gateway CloudWatch Logs role (needed once per account
   * and region before a stage can write execution logs). Default true, so a fresh account deploys;
   * set false where another stack or the platform team already manages it (docs/deploying.md).
   */
  readonly apiGatewayAccountRole: boolean;
  /**
   * The role (ARN or `role/<name>`) that alone, with the CloudFormation deployment role, may change
   * the signing keys' policies, disable them or schedule their deletion. Required for prod.
   */
  readonly keyAdminRole?: string;
  readonly alarms: AlarmThresholds;
  /** Minutes between client-auth canary runs (docs/probe.md); 0 turns the canary off. Default 15. */
  readonly canaryMinutes: number;
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
/** Log levels Powertools Logger accepts. */
export type LogLevel = (typeof LOG_LEVELS)[number];

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
const SLOT_PATTERN = /^[a-z0-9]{1,12}$/;
const IAM_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ROOT_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:root$/;
const VPCE_PATTERN = /^vpce-[0-9a-f]{8,17}$/;
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'),
);
const ALARM_FIELDS = [
  'failureRatePercent',
  'p99LatencyMs',
  'lambdaErrors',
  'throttles',
  'dependencyFailures',
  'evaluationPeriods',
] as const satisfies readonly (keyof AlarmThresholds)[];
const KNOWN_FIELDS = new Set([
  'allowedPrincipals',
  'privateEndpoint',
  'sharedCache',
  'keys',
  'signingKey',
  'logRetentionDays',
  'logLevel',
  'alarmEmail',
  'reservedConcurrency',
  'apiGatewayAccountRole',
  'keyAdminRole',
  'alarms',
  'canaryMinutes',
]);

/** Thrown when the deploy configuration is missing or invalid; the message names every bad field. */
export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

/**
 * Reads `-c env=<name>` and `environments.<name>` from the construct tree's context and validates them.
 *
 * @param node - any node of the app (the context is inherited from the App).
 * @returns the validated configuration of the selected environment.
 * @throws {@link DeployConfigError} when no or an unknown environment is selected, or its settings are invalid.
 */
export function loadDeployConfig(node: Node): DeployConfig {
  const environments = node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY) as unknown;
  if (!isRecord(environments) || Object.keys(environments).length === 0) {
    throw new DeployConfigError(`cdk.json context "${ENVIRONMENTS_CONTEXT_KEY}" is missing or empty.`);
  }
  const known = Object.keys(environments).sort().join(', ');
  const name = node.tryGetContext(ENV_CONTEXT_KEY) as unknown;
  if (typeof name !== 'string' || name === '') {
    throw new DeployConfigError(
      `No environment selected: pass -c ${ENV_CONTEXT_KEY}=<name>, one of: ${known}.`,
    );
  }
  if (!Object.hasOwn(environments, name)) {
    throw new DeployConfigError(`Unknown environment "${name}". Known environments: ${known}.`);
  }
  return parseDeployConfig(name, environments[name]);
}

/** Context key of the repository's web URL, used for runbook links in alarm descriptions. */
export const REPOSITORY_URL_CONTEXT_KEY = 'repositoryUrl';

/**
 * The repository's web URL (`-c repositoryUrl=https://github.com/<org>/cis2-token-proxy` or the
 * same key in cdk.json), so that an alarm e-mail links to its runbook section; unset, alarm
 * descriptions name the path in the repository instead.
 *
 * @throws {@link DeployConfigError} when it is set but not an https URL.
 */
export function loadRepositoryUrl(node: Node): string | undefined {
  const raw = node.tryGetContext(REPOSITORY_URL_CONTEXT_KEY) as unknown;
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !URL.canParse(raw) || new URL(raw).protocol !== 'https:') {
    throw new DeployConfigError(`cdk.json context "${REPOSITORY_URL_CONTEXT_KEY}" must be an https URL.`);
  }
  return raw;
}

/**
 * Validates one environment's raw settings.
 *
 * @param name - the environment name (the key under `environments`).
 * @param raw - the value found under `environments.<name>`.
 * @returns the typed configuration, with defaults applied to optional fields.
 * @throws {@link DeployConfigError} listing every invalid or missing field.
 */
export function parseDeployConfig(name: string, raw: unknown): DeployConfig {
  const where = `environments.${name}`;
  if (!NAME_PATTERN.test(name)) {
    throw new DeployConfigError(
      `Environment name "${name}" is invalid: use 1-20 lowercase letters, digits or '-', starting with a letter.`,
    );
  }
  // The function takes its NHS token URL and CIS2 issuer from this name; an unknown one would
  // deploy and then fail at every cold start.
  if (!RUNTIME_ENVIRONMENTS.includes(name)) {
    throw new DeployConfigError(
      `Environment "${name}" is not one the runtime knows (${RUNTIME_ENVIRONMENTS.join(', ')}): add its profile in lambda/platform/environments.ts first.`,
    );
  }
  if (!isRecord(raw)) throw new DeployConfigError(`${where} must be an object.`);

  const problems: string[] = [];
  const fail = (field: string, expected: string) => problems.push(`${where}.${field}: ${expected}`);

  for (const field of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(field)) fail(field, `unknown field (known: ${[...KNOWN_FIELDS].join(', ')})`);
  }

  const isProd = name === PROD_ENVIRONMENT;
  const allowedPrincipals = raw.allowedPrincipals;
  if (!isNonEmptyStringArray(allowedPrincipals)) {
    fail(
      'allowedPrincipals',
      `required, a non-empty array of IAM role/user/root ARNs, "role/<name>" or "${THIS_ACCOUNT}"`,
    );
  } else {
    for (const p of allowedPrincipals) {
      if (p !== THIS_ACCOUNT && !IAM_ARN_PATTERN.test(p) && !RELATIVE_ROLE_PATTERN.test(p)) {
        fail(
          'allowedPrincipals',
          `"${p}" is not an IAM role/user/root ARN (no wildcards), "role/<name>" or "${THIS_ACCOUNT}"`,
        );
      } else if (isProd && (p === THIS_ACCOUNT || ROOT_ARN_PATTERN.test(p))) {
        // A whole account would let any of its principals with execute-api:Invoke mint NHS tokens.
        fail(
          'allowedPrincipals',
          `"${p}" admits a whole account, which prod refuses: list the caller roles instead, as ` +
            '"role/<name>" for a role of the deploying account or "arn:aws:iam::<account>:role/<name>"',
        );
      }
    }
  }

  let privateEndpoint: DeployConfig['privateEndpoint'];
  if (raw.privateEndpoint !== undefined) {
    const ids = isRecord(raw.privateEndpoint) ? raw.privateEndpoint.vpcEndpointIds : undefined;
    if (!isNonEmptyStringArray(ids) || !ids.every((id) => VPCE_PATTERN.test(id))) {
      fail(
        'privateEndpoint.vpcEndpointIds',
        'required with privateEndpoint, a non-empty array of "vpce-..." ids',
      );
    } else {
      privateEndpoint = { vpcEndpointIds: ids };
    }
  }

  if (typeof raw.sharedCache !== 'boolean') fail('sharedCache', 'required, true or false');

  const keys = raw.keys;
  if (!isNonEmptyStringArray(keys) || !keys.every((k) => SLOT_PATTERN.test(k))) {
    fail('keys', 'required, a non-empty array of key slot names (1-12 lowercase letters or digits)');
  } else if (new Set(keys).size !== keys.length) {
    fail('keys', 'slot names must be unique');
  }
  if (typeof raw.signingKey !== 'string') {
    fail('signingKey', 'required, the slot name of the key that signs');
  } else if (Array.isArray(keys) && !keys.includes(raw.signingKey)) {
    fail('signingKey', `"${raw.signingKey}" is not one of keys [${keys.join(', ')}]`);
  }

  if (typeof raw.logRetentionDays !== 'number' || !RETENTION_VALUES.has(raw.logRetentionDays)) {
    fail('logRetentionDays', `required, one of ${[...RETENTION_VALUES].join(', ')}`);
  }

  const logLevel = raw.logLevel ?? 'INFO';
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) fail('logLevel', `one of ${LOG_LEVELS.join(', ')}`);

  if (
    raw.alarmEmail !== undefined &&
    (typeof raw.alarmEmail !== 'string' || !EMAIL_PATTERN.test(raw.alarmEmail))
  ) {
    fail('alarmEmail', 'an e-mail address');
  }
  if (raw.reservedConcurrency !== undefined && !isPositiveInteger(raw.reservedConcurrency)) {
    fail('reservedConcurrency', 'a positive integer');
  }
  if (raw.apiGatewayAccountRole !== undefined && typeof raw.apiGatewayAccountRole !== 'boolean') {
    fail('apiGatewayAccountRole', 'true or false');
  }
  const keyAdminRole = raw.keyAdminRole;
  if (keyAdminRole === undefined) {
    if (isProd) {
      fail(
        'keyAdminRole',
        'required for prod: the role allowed to change, disable or delete the signing keys, as "role/<name>" or a role ARN',
      );
    }
  } else if (
    typeof keyAdminRole !== 'string' ||
    !(ROLE_ARN_PATTERN.test(keyAdminRole) || RELATIVE_ROLE_PATTERN.test(keyAdminRole))
  ) {
    fail('keyAdminRole', 'an IAM role ARN or "role/<name>" (no wildcards)');
  }

  const alarms = raw.alarms;
  if (!isRecord(alarms)) {
    fail('alarms', `required, an object with ${ALARM_FIELDS.join(', ')}`);
  } else {
    for (const field of ALARM_FIELDS) {
      const periods = field === 'evaluationPeriods';
      const value = alarms[field];
      const valid = periods ? isPositiveInteger(value) : typeof value === 'number' && value > 0;
      if (!valid) fail(`alarms.${field}`, `required, a positive ${periods ? 'whole number' : 'number'}`);
    }
  }

  const canaryMinutes = raw.canaryMinutes ?? 15;
  if (!Number.isInteger(canaryMinutes) || (canaryMinutes as number) < 0 || (canaryMinutes as number) > 1440)
    fail('canaryMinutes', 'whole minutes between client-auth canary runs, 1 to 1440, or 0 for off');

  if (problems.length > 0) {
    throw new DeployConfigError(
      `Invalid deploy configuration in cdk.json context:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return {
    name,
    allowedPrincipals: allowedPrincipals as string[],
    privateEndpoint,
    sharedCache: raw.sharedCache as boolean,
    keys: keys as string[],
    signingKey: raw.signingKey as string,
    logRetentionDays: raw.logRetentionDays as RetentionDays,
    logLevel: logLevel as LogLevel,
    alarmEmail: raw.alarmEmail as string | undefined,
    reservedConcurrency: raw.reservedConcurrency as number | undefined,
    apiGatewayAccountRole: (raw.apiGatewayAccountRole as boolean | undefined) ?? true,
    keyAdminRole: keyAdminRole as string | undefined,
    alarms: alarms as unknown as AlarmThresholds,
    canaryMinutes: canaryMinutes as number,
  };
}

/** The CloudFormation stack name of an environment, e.g. `Cis2TokenProxy-int`. */
export function stackName(config: Pick<DeployConfig, 'name'>): string {
  return `Cis2TokenProxy-${config.name}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '');
}

function isPositiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
