/**
 * One Lambda function bundled from its own runtime entry module, with its own role and log group.
 * The token, public JWKS and canary functions are all made here so that they share the bundling
 * settings and the least-privilege role shape.
 */
import path from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import {
  CustomDataIdentifier,
  DataProtectionPolicy,
  LogGroup,
  type RetentionDays,
} from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/names.js';

const LAMBDA_DIR = path.join(import.meta.dirname, '..', 'lambda');

/** Entry module of the token function (exports `handler`). */
export const TOKEN_ENTRY = path.join(LAMBDA_DIR, 'token-entry.ts');

/** Entry module of the public JWKS function (exports `jwksHandler`); its bundle holds no token code. */
export const JWKS_ENTRY = path.join(LAMBDA_DIR, 'jwks-entry.ts');

/**
 * Credential providers the SDK's default chain loads with a dynamic `import()` only after the
 * environment variables fail to supply credentials, which on Lambda they never do. Left out of
 * the bundle (about 120 KiB of SSO, STS and metadata clients), they would resolve to the runtime's
 * own SDK copy if the chain ever reached them.
 */
export const LAZY_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
];

/**
 * Patterns CloudWatch Logs masks in the functions' log groups, behind the runtime's own redaction:
 * anything JWT-shaped (ID tokens, client assertions) and the values of the client secret and token
 * fields as they would appear in a form body or JSON. CloudWatch allows only letters, digits,
 * `_#=@/;,- ` and `^$?[]{}|\*+.` in these expressions, at most 200 characters, hence `\W` for the
 * separator instead of quotes and colons.
 */
export const LOG_DATA_IDENTIFIERS: Readonly<Record<string, string>> = {
  JwtShapedString: 'eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*',
  ClientSecretValue: 'client_secret\\W{1,5}[A-Za-z0-9._-]{8,}',
  AccessTokenValue: 'access_token\\W{1,5}[A-Za-z0-9._-]{8,}',
  RefreshTokenValue: 'refresh_token\\W{1,5}[A-Za-z0-9._-]{8,}',
};

/** Properties of {@link ProxyFunction}. */
export interface ProxyFunctionProps {
  /** Entry module of the bundle; default {@link TOKEN_ENTRY}. */
  readonly entry?: string;
  /** Exported handler name in the entry module. */
  readonly handler: string;
  readonly description: string;
  /** Function-specific environment; the Powertools and source-map settings are added here. */
  readonly environment: Readonly<Record<string, string>>;
  /** Powertools log level. */
  readonly logLevel: string;
  readonly logRetention: RetentionDays;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly reservedConcurrency?: number;
}

/**
 * A `NodejsFunction` (Node.js 24, ARM64, minified ESM bundle with the AWS SDK inside, source maps)
 * whose role can only write to its own log group until callers grant more.
 */
export class ProxyFunction extends Construct {
  readonly function: NodejsFunction;
  /** The execution role; it starts with log-writing permission only. */
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** The entry module the bundle is built from. */
  readonly entry: string;
  /** The function's environment variables as set here (tokens of other resources unresolved). */
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ProxyFunctionProps) {
    super(scope, id);
    this.entry = props.entry ?? TOKEN_ENTRY;
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      dataProtectionPolicy: new DataProtectionPolicy({
        name: 'mask-tokens-and-secrets',
        description: 'Masks JWT-shaped strings, the client secret and OAuth token values',
        identifiers: Object.entries(LOG_DATA_IDENTIFIERS).map(
          ([name, regex]) => new CustomDataIdentifier(name, regex),
        ),
      }),
    });
    // Our own role instead of the default one, which attaches the AWSLambdaBasicExecutionRole managed
    // policy (logs on every log group in the account).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.environment = {
      ...props.environment,
      // Without a shared table each container keeps budget / containers of the NHS rate; with reserved
      // concurrency that is the most containers there can be, so their sum stays within the budget.
      ...(props.reservedConcurrency !== undefined && {
        [ENV.nhsBudgetContainers]: String(props.reservedConcurrency),
      }),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: props.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };
    this.function = new NodejsFunction(this, 'Function', {
      entry: this.entry,
      handler: props.handler,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: this.role,
      logGroup: this.logGroup,
      // No active X-Ray tracing: it would need xray:PutTraceSegments on "*", and the runtime
      // reports its own latencies as EMF metrics.
      environment: this.environment,
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Pin the SDK version we test with rather than whatever the Lambda runtime ships.
        bundleAwsSDK: true,
        externalModules: [...LAZY_CREDENTIAL_PROVIDERS],
        // ESM-first resolution: the default (main, module) pulls the SDK's CJS builds, whose
        // `require("node:…")` calls become esbuild's throwing "Dynamic require" stub in an ESM bundle.
        mainFields: ['module', 'main'],
        // CommonJS dependencies (undici, behind the NHS keep-alive agent) `require("node:…")`; an ESM
        // bundle has no `require`, and esbuild's stub throws "Dynamic require … is not supported" at init.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });
  }
}
