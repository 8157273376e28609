/**
 * The whole proxy for one environment as a reusable construct: signing keys, credentials secret,
 * token function, internal API, public JWKS, optional shared cache, dashboard and alarms.
 * {@link TokenProxyStack} is this construct in a stack of its own; another team's CDK app can place
 * it in one of its stacks instead and let its callers in with {@link Cis2TokenProxy.grantInvoke}.
 */
import { Duration, Fn, SecretValue, Tags } from 'aws-cdk-lib';
import { type Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SECRET_PLACEHOLDER } from '../lambda/names.js';
import { ApiGatewayAccount } from './api-gateway-account.js';
import { CacheTable } from './cache-table.js';
import { ClientAuthCanary } from './canary.js';
import { type DeployConfig, loadRepositoryUrl } from './config.js';
import { INTEGRATION_TIMEOUT, InternalApi } from './internal-api.js';
import { KeyAudit } from './key-audit.js';
import { acknowledgeNagFindings } from './nag.js';
import { Observability } from './observability.js';
import { ProxyFunction } from './proxy-function.js';
import { PublicJwks } from './public-jwks.js';
import { SigningKeys } from './signing-keys.js';

/**
 * Properties of {@link Cis2TokenProxy}: one environment's settings, as `parseDeployConfig(name, settings)`
 * returns them for the cdk.json settings `environments.<name>` (docs/deploying.md).
 */
export type Cis2TokenProxyProps = DeployConfig;

/**
 * The token function's timeout, 4 s under the internal API's {@link INTEGRATION_TIMEOUT} (29 s). The
 * runtime derives its request budget from the time Lambda says is left.
 */
export const TOKEN_FUNCTION_TIMEOUT = Duration.seconds(25);

/** Placeholder stored in the secret until an operator sets the real values (docs/deploying.md); the runtime refuses it. */
export { SECRET_PLACEHOLDER };

/** The whole proxy for one environment. */
export class Cis2TokenProxy extends Construct {
  readonly config: DeployConfig;
  readonly keys: SigningKeys;
  readonly secret: Secret;
  readonly cache?: CacheTable;
  readonly tokenFunction: ProxyFunction;
  readonly internalApi: InternalApi;
  readonly publicJwks: PublicJwks;
  readonly observability: Observability;
  readonly apiGatewayAccount?: ApiGatewayAccount;
  readonly keyAudit: KeyAudit;
  /** Absent when `canaryMinutes` is 0. */
  readonly canary?: ClientAuthCanary;
  /** The URL callers POST CIS2 ID tokens to (SigV4, execute-api). */
  readonly tokenUrl: string;
  /** Comma-separated ARNs of the KMS keys in the JWKS (the functions' `PUBLISHED_KEY_IDS`). */
  readonly publishedKeyArns: string;

  constructor(scope: Construct, id: string, props: Cis2TokenProxyProps) {
    super(scope, id);
    const config = props;
    this.config = config;
    Tags.of(this).add('service', 'cis2-token-proxy');
    Tags.of(this).add('environment', config.name);

    this.keys = new SigningKeys(this, 'SigningKeys', {
      environment: config.name,
      slots: config.keys,
      signingSlot: config.signingKey,
      keyAdminRole: config.keyAdminRole,
    });
    // NHS issues the API key and client secret in its developer portal; CloudFormation only creates the
    // container, whose values an operator then sets with `aws secretsmanager put-secret-value`.
    this.secret = new Secret(this, 'PlatformCredentials', {
      description: `cis2-token-proxy ${config.name}: NHS API platform app credentials {api_key, client_secret}`,
      // Not secrets, just the shape. Never edit them: a changed template value would make CloudFormation
      // overwrite the operator's real values.
      secretObjectValue: {
        api_key: SecretValue.unsafePlainText(SECRET_PLACEHOLDER),
        client_secret: SecretValue.unsafePlainText(SECRET_PLACEHOLDER),
      },
    });
    this.cache = config.sharedCache ? new CacheTable(this, 'Cache') : undefined;

    // Both functions find the keys the same way; only the token function sees the secret and the table.
    const keyEnvironment = {
      ENVIRONMENT: config.name,
      SIGNING_KEY_ID: this.keys.signingKey.keyArn,
      PUBLISHED_KEY_IDS: Fn.join(
        ',',
        this.keys.publishedKeys.map((key) => key.keyArn),
      ),
    };
    this.tokenFunction = new ProxyFunction(this, 'TokenFunction', {
      handler: 'handler',
      description: `cis2-token-proxy ${config.name}: exchanges CIS2 ID tokens for NHS API platform tokens`,
      environment: {
        ...keyEnvironment,
        SECRET_ID: this.secret.secretArn,
        ...(this.cache ? { CACHE_TABLE: this.cache.table.tableName } : {}),
      },
      logLevel: config.logLevel,
      logRetention: config.logRetentionDays,
      memorySize: 512,
      // Under the API's integration timeout, so the caller gets our typed error, not a gateway 504.
      timeout: TOKEN_FUNCTION_TIMEOUT,
      reservedConcurrency: config.reservedConcurrency,
    });
    const role = this.tokenFunction.role;
    this.keys.grantSign(role);
    // Only GetSecretValue: `secret.grantRead` would add DescribeSecret, which the runtime never calls.
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }),
    );
    this.cache?.grantItemAccess(role);

    this.internalApi = new InternalApi(this, 'InternalApi', {
      environment: config.name,
      handler: this.tokenFunction.function,
      allowedPrincipals: config.allowedPrincipals,
      vpcEndpointIds: config.privateEndpoint?.vpcEndpointIds,
      logRetention: config.logRetentionDays,
    });
    this.publicJwks = new PublicJwks(this, 'PublicJwks', {
      environment: config.name,
      keys: this.keys,
      functionEnvironment: keyEnvironment,
      logLevel: config.logLevel,
      logRetention: config.logRetentionDays,
    });
    if (config.apiGatewayAccountRole) {
      this.apiGatewayAccount = new ApiGatewayAccount(this, 'ApiGatewayAccount');
      // Stages with execution logging cannot be created before the account has a logs role.
      for (const api of [this.internalApi.api, this.publicJwks.api]) {
        api.deploymentStage.node.addDependency(this.apiGatewayAccount.account);
      }
    }

    this.observability = new Observability(this, 'Observability', {
      environment: config.name,
      tokenFunction: this.tokenFunction,
      jwksFunction: this.publicJwks.handler,
      internalApi: this.internalApi.api,
      jwksApi: this.publicJwks.api,
      jwksBlocked: this.publicJwks.metricBlockedRequests(),
      thresholds: config.alarms,
      sharedCache: config.sharedCache,
      alarmEmail: config.alarmEmail,
      keyAdminRole: config.keyAdminRole,
      repositoryUrl: loadRepositoryUrl(this.node),
    });
    this.keyAudit = new KeyAudit(this, 'KeyAudit', {
      environment: config.name,
      keys: [...this.keys.publishedKeys, this.observability.topicKey],
      topic: this.observability.topic,
      topicKey: this.observability.topicKey,
    });

    if (config.canaryMinutes > 0) {
      this.canary = new ClientAuthCanary(this, 'ClientAuthCanary', {
        environment: config.name,
        keys: this.keys,
        slots: config.keys,
        secret: this.secret,
        functionEnvironment: keyEnvironment,
        every: Duration.minutes(config.canaryMinutes),
        logLevel: config.logLevel,
        logRetention: config.logRetentionDays,
        observability: this.observability,
      });
      this.observability.dashboard.addWidgets(...this.canary.widgets);
    }

    this.tokenUrl = this.internalApi.api.urlForPath('/token');
    this.publishedKeyArns = keyEnvironment.PUBLISHED_KEY_IDS;

    acknowledgeNagFindings(this);
  }
  /**
   * Lets `grantee` call `POST /token`: the internal API's resource policy admits it and, where CDK can
   * write it (a role or user of this app in the API's account), its identity policy allows
   * `execute-api:Invoke` on `POST /token`. A grantee of another account gets the resource policy only,
   * with a synth warning: its own account must add the identity policy ({@link InternalApi.grantInvoke}).
   */
  grantInvoke(grantee: IGrantable): Grant {
    return this.internalApi.grantInvoke(grantee);
  }
}
