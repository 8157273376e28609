/**
 * The public JWKS: the one URL the NHS API platform fetches (as the app's `jwks-resource-url`) to
 * verify our client assertions. It must be public HTTPS with a path, so it is a separate REGIONAL REST
 * API with a single anonymous `GET /jwks.json`, backed by its own small function that can do nothing
 * but read the public halves of the published keys. The internal API stays IAM-only.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import { AuthorizationType, EndpointType, LambdaIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { loggedStageOptions } from './api-stage.js';
import { ProxyFunction } from './proxy-function.js';
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
 * The platform caches the JWKS for an hour per app, so legitimate traffic is a few requests an hour;
 * a low limit keeps an anonymous endpoint cheap to abuse-proof.
 */
const THROTTLE = { rateLimit: 5, burstLimit: 10 };

/** Public read-only JWKS endpoint and the `JwksUrl` stack output to register with NHS. */
export class PublicJwks extends Construct {
  readonly api: RestApi;
  readonly handler: ProxyFunction;
  /** `https://…/v1/jwks.json`: the value of the NHS app attribute `jwks-resource-url`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: PublicJwksProps) {
    super(scope, id);
    this.handler = new ProxyFunction(this, 'Handler', {
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
    this.api.root
      .addResource('jwks.json')
      .addMethod('GET', new LambdaIntegration(this.handler.function, { allowTestInvoke: false }), {
        authorizationType: AuthorizationType.NONE,
      });
    this.url = this.api.urlForPath('/jwks.json');

    new CfnOutput(this, 'JwksUrl', {
      key: 'JwksUrl',
      description: 'Register this as the NHS app attribute jwks-resource-url',
      value: this.url,
    });
  }
}
