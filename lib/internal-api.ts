/**
 * The API callers use: `POST /token` and `GET /health`, both SigV4-signed (AWS_IAM), behind a resource
 * policy that admits only the configured principals and, for a PRIVATE API, only the configured VPC
 * endpoints.
 */

import { Aws, Duration } from 'aws-cdk-lib';
import {
  AuthorizationType,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { InterfaceVpcEndpoint } from 'aws-cdk-lib/aws-ec2';
import {
  AccountPrincipal,
  AccountRootPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createExecutionLogGroup, loggedStageOptions, requireModernTls } from './api-stage.js';
import { roleArn, THIS_ACCOUNT } from './config.js';

/** Properties of {@link InternalApi}. */
export interface InternalApiProps {
  readonly environment: string;
  readonly handler: IFunction;
  /** IAM ARNs, `role/<name>` or `this-account` (see DeployConfig.allowedPrincipals). */
  readonly allowedPrincipals: readonly string[];
  /** When given, the API is PRIVATE and reachable only through these VPC endpoints. */
  readonly vpcEndpointIds?: readonly string[];
  readonly logRetention: RetentionDays;
}

/**
 * Caller-facing throttling. The NHS token endpoint allows 5 tps per app; cache hits cost nothing
 * upstream, so the API admits more and the runtime's cache absorbs the difference.
 */
const THROTTLE = { rateLimit: 50, burstLimit: 100 };

/**
 * API Gateway's wait for the token function: the REST API maximum. The function's own timeout is
 * shorter (see TokenProxyStack), so the caller gets the function's typed error, not a gateway 504.
 */
export const INTEGRATION_TIMEOUT = Duration.seconds(29);

/** The internal REST API. */
export class InternalApi extends Construct {
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props: InternalApiProps) {
    super(scope, id);
    const isPrivate = props.vpcEndpointIds !== undefined;
    this.api = new RestApi(this, 'Api', {
      restApiName: `cis2-token-proxy-${props.environment}`,
      description: `CIS2 ID token to NHS API platform access token exchange (${props.environment})`,
      endpointConfiguration: {
        types: [isPrivate ? EndpointType.PRIVATE : EndpointType.REGIONAL],
        vpcEndpoints: props.vpcEndpointIds?.map((vpcEndpointId) =>
          InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, vpcEndpointId, {
            vpcEndpointId,
            port: 443,
          }),
        ),
      },
      policy: resourcePolicy(props.allowedPrincipals, props.vpcEndpointIds),
      cloudWatchRole: false,
      deployOptions: loggedStageOptions(this, props.logRetention, THROTTLE),
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });
    requireModernTls(this.api, isPrivate);
    createExecutionLogGroup(this.api, props.logRetention);

    const integration = new LambdaIntegration(props.handler, {
      allowTestInvoke: false,
      timeout: INTEGRATION_TIMEOUT,
    });
    const tokenRequest = this.api.addModel('TokenRequest', {
      contentType: 'application/json',
      modelName: 'TokenRequest',
      schema: {
        schema: JsonSchemaVersion.DRAFT4,
        title: 'TokenRequest',
        type: JsonSchemaType.OBJECT,
        required: ['subject_token'],
        properties: { subject_token: { type: JsonSchemaType.STRING, minLength: 1 } },
      },
    });
    const bodyValidator = this.api.addRequestValidator('BodyValidator', {
      requestValidatorName: 'token-request-body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.api.root.addResource('token').addMethod('POST', integration, {
      requestValidator: bodyValidator,
      // `$default` too, so a body sent with another content type is still validated as JSON.
      requestModels: { 'application/json': tokenRequest, $default: tokenRequest },
    });
    this.api.root.addResource('health').addMethod('GET', integration);
    // API Gateway answers invalid bodies itself; answer in the proxy's own error shape, naming
    // the field, instead of its bare {"message": "Invalid request body"}.
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: { 'Content-Type': "'application/json'", 'Cache-Control': "'no-store'" },
      templates: {
        'application/json':
          // validationErrorString is left out: it contains unescaped quotes that would break the JSON.
          '{"error": "invalid_request", "error_description": "request body must be a JSON object with a non-empty string subject_token (the CIS2 ID token)", "correlation_id": "$context.requestId"}',
      },
    });
  }
}

/**
 * Allow `execute-api:Invoke` for the configured principals and deny everyone else explicitly, so a
 * broad identity policy elsewhere (or a later mistake in the allow list) cannot widen access.
 */
function resourcePolicy(allowed: readonly string[], vpcEndpointIds?: readonly string[]): PolicyDocument {
  const invoke = { actions: ['execute-api:Invoke'], resources: ['execute-api:/*'] };
  const principals: IPrincipal[] = [];
  const arns: string[] = [];
  const accounts: string[] = [];
  for (const entry of allowed) {
    if (entry === THIS_ACCOUNT) {
      principals.push(new AccountRootPrincipal());
      accounts.push(Aws.ACCOUNT_ID);
      continue;
    }
    const root = /^arn:[^:]+:iam::(\d{12}):root$/.exec(entry);
    if (root) {
      principals.push(new AccountPrincipal(root[1]));
      accounts.push(root[1]!);
    } else {
      const arn = roleArn(entry);
      principals.push(new ArnPrincipal(arn));
      arns.push(arn);
    }
  }
  // Conditions in one block are ANDed: deny only callers matching neither an ARN nor an account.
  const notAllowed: Record<string, Record<string, string[]>> = {};
  if (arns.length > 0) notAllowed.ArnNotLike = { 'aws:PrincipalArn': arns };
  if (accounts.length > 0) notAllowed.StringNotEquals = { 'aws:PrincipalAccount': accounts };

  const statements = [
    new PolicyStatement({ sid: 'AllowConfiguredPrincipals', effect: Effect.ALLOW, principals, ...invoke }),
    new PolicyStatement({
      sid: 'DenyOtherPrincipals',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      conditions: notAllowed,
      ...invoke,
    }),
  ];
  if (vpcEndpointIds) {
    statements.push(
      new PolicyStatement({
        sid: 'DenyOutsideVpcEndpoints',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        conditions: { StringNotEquals: { 'aws:SourceVpce': [...vpcEndpointIds] } },
        ...invoke,
      }),
    );
  }
  return new PolicyDocument({ statements });
}
