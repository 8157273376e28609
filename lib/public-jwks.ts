/**
 * The public JWKS: the one URL the NHS API platform fetches (as the app's `jwks-resource-url`) to
 * verify our client assertions. It must be public HTTPS with a path, so it is a separate REGIONAL REST
 * API with a single anonymous `GET /jwks.json`, backed by its own small function that can do nothing
 * but read the public halves of the published keys. The internal API stays IAM-only.
 *
 * Being anonymous, it is guarded by a WAF web ACL whose rate-based rule blocks any one client IP that
 * floods it, so a flood from one source cannot use up the stage throttle that NHS's hourly fetch shares
 * (docs/deploying.md, "Public JWKS flood protection").
 */
import { Aws, CfnOutput, Duration } from 'aws-cdk-lib';
import { AuthorizationType, EndpointType, LambdaIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { createExecutionLogGroup, loggedStageOptions, requireModernTls } from './api-stage.js';
import { JWKS_ENTRY, ProxyFunction } from './proxy-function.js';
import type { SigningKeys } from './signing-keys.js';

/** Properties of {@link PublicJwks}. */
export interface PublicJwksProps {
  readonly environment: string;
  readonly keys: SigningKeys;
  /** Environment passed to the function (`ENVIRONMENT`, key ids). */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  readonly logLevel: string;
  readonly logRetention: RetentionDays;
}

/**
 * The platform caches the JWKS for an hour per app, so legitimate traffic is a few requests an hour.
 * The stage limit bounds cost; the per-IP WAF rule below keeps one client from using it all up.
 */
const THROTTLE = { rateLimit: 20, burstLimit: 40 };

/**
 * Requests one client IP may make in {@link RATE_WINDOW_SECONDS} before WAF blocks it until its rate
 * falls again. Far above NHS's hourly fetch, far below what would use up the stage throttle.
 */
export const JWKS_REQUESTS_PER_IP = 100;
/** The rate-based rule's evaluation window (WAF accepts 60, 120, 300 or 600 s). */
export const RATE_WINDOW_SECONDS = 300;
/** The rate-based rule's name. */
const RATE_RULE = 'RatePerClientIp';

/** Public read-only JWKS endpoint and the `JwksUrl` stack output to register with NHS. */
export class PublicJwks extends Construct {
  readonly api: RestApi;
  readonly handler: ProxyFunction;
  readonly webAcl: CfnWebACL;
  /** CloudWatch metric names of the web ACL and its rule: the `WebACL` and `Rule` dimensions. */
  private readonly metricName: string;
  private readonly ruleMetricName: string;
  /** `https://…/v1/jwks.json`: the value of the NHS app attribute `jwks-resource-url`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: PublicJwksProps) {
    super(scope, id);
    this.handler = new ProxyFunction(this, 'Handler', {
      entry: JWKS_ENTRY,
      handler: 'jwksHandler',
      description: `cis2-token-proxy ${props.environment}: public JWKS of the client assertion keys`,
      environment: props.functionEnvironment,
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      memorySize: 256,
      timeout: Duration.seconds(10),
    });
    props.keys.grantPublish(this.handler.role);

    this.api = new RestApi(this, 'Api', {
      restApiName: `cis2-token-proxy-${props.environment}-jwks`,
      description: `Public JWKS (jwks-resource-url) of cis2-token-proxy ${props.environment}`,
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      cloudWatchRole: false,
      deployOptions: loggedStageOptions(this, props.logRetention, THROTTLE),
    });
    requireModernTls(this.api, false);
    createExecutionLogGroup(this.api, props.logRetention);
    this.api.root
      .addResource('jwks.json')
      .addMethod('GET', new LambdaIntegration(this.handler.function, { allowTestInvoke: false }), {
        authorizationType: AuthorizationType.NONE,
      });
    this.url = this.api.urlForPath('/jwks.json');

    this.metricName = `cis2-token-proxy-${props.environment}-jwks`;
    this.ruleMetricName = `${this.metricName}-rate-per-ip`;
    this.webAcl = this.createWebAcl(props.environment);
    new CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    new CfnOutput(this, 'JwksUrl', {
      key: 'JwksUrl',
      description: 'Register this as the NHS app attribute jwks-resource-url',
      value: this.url,
    });
  }

  /**
   * Requests the per-IP rule blocked, per 5 minutes (AWS/WAFV2 `BlockedRequests`, whose `WebACL` and
   * `Rule` dimensions are the metric names set in the visibility configs).
   */
  metricBlockedRequests(): Metric {
    return new Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: this.metricName, Rule: this.ruleMetricName, Region: Aws.REGION },
      statistic: 'Sum',
      period: Duration.minutes(5),
      label: 'jwks blocked by WAF',
    });
  }

  private createWebAcl(environment: string): CfnWebACL {
    return new CfnWebACL(this, 'WebAcl', {
      description: `Per-IP rate limit on the public JWKS of cis2-token-proxy ${environment}`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: this.metricName,
        sampledRequestsEnabled: true,
      },
      rules: [
        {
          name: RATE_RULE,
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: JWKS_REQUESTS_PER_IP,
              evaluationWindowSec: RATE_WINDOW_SECONDS,
            },
          },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: this.ruleMetricName,
            sampledRequestsEnabled: true,
          },
        },
      ],
    });
  }
}
