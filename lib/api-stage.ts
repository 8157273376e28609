/**
 * Settings shared by the internal and the public REST APIs: JSON access logs in their own log group,
 * error-level execution logs without bodies in a log group the stack owns, detailed metrics, X-Ray
 * tracing, throttling, and a TLS 1.2 minimum on the default endpoint.
 */
import {
  AccessLogField,
  AccessLogFormat,
  type CfnRestApi,
  EndpointAccessMode,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type RestApi,
  SecurityPolicy,
  type StageOptions,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Stage name of both APIs; part of every URL. */
export const STAGE_NAME = 'v1';

/**
 * TLS 1.2 and 1.3 with forward-secret ciphers only. The default of a REGIONAL API is the legacy
 * `TLS_1_0`; an enhanced (`SecurityPolicy_…`) policy needs an endpoint access mode as well.
 */
export const API_SECURITY_POLICY = SecurityPolicy.TLS13_1_2_PFS_PQ_2025_09;

/**
 * One JSON object per request. `requestId` is the `requestContext.requestId` the function receives
 * (the key that joins this line to the runtime's `token_request` line), `integrationRequestId` the
 * Lambda invocation id (`function_request_id` in the function's log), and `userArn`/`caller` the
 * SigV4 caller.
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: AccessLogField.contextRequestId(),
    extendedRequestId: AccessLogField.contextExtendedRequestId(),
    integrationRequestId: '$context.integration.requestId',
    requestTime: AccessLogField.contextRequestTime(),
    httpMethod: AccessLogField.contextHttpMethod(),
    resourcePath: AccessLogField.contextResourcePath(),
    status: AccessLogField.contextStatus(),
    responseLatency: AccessLogField.contextResponseLatency(),
    integrationLatency: AccessLogField.contextIntegrationLatency(),
    integrationStatus: '$context.integration.status',
    error: AccessLogField.contextErrorMessage(),
    validationError: AccessLogField.contextErrorValidationErrorString(),
    wafStatus: '$context.waf.status',
    userArn: AccessLogField.contextIdentityUserArn(),
    caller: AccessLogField.contextIdentityCaller(),
    accountId: AccessLogField.contextIdentityAccountId(),
    sourceIp: AccessLogField.contextIdentitySourceIp(),
    vpceId: '$context.identity.vpceId',
    userAgent: AccessLogField.contextIdentityUserAgent(),
    tlsVersion: '$context.tlsVersion',
  }),
);

/** Throttling applied to every method of a stage. */
export interface StageThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * Builds the stage options and creates the access log group under `scope`.
 *
 * @param scope - the API construct; the log group is created as its child `AccessLogs`.
 * @param retention - access log retention.
 * @param throttle - steady-state requests per second and burst for every method.
 */
export function loggedStageOptions(
  scope: Construct,
  retention: RetentionDays,
  throttle: StageThrottle,
): StageOptions {
  const accessLogs = new LogGroup(scope, 'AccessLogs', { retention });
  return {
    stageName: STAGE_NAME,
    accessLogDestination: new LogGroupLogDestination(accessLogs),
    accessLogFormat: ACCESS_LOG_FORMAT,
    // ERROR, not INFO, and never data tracing: request bodies carry CIS2 ID tokens.
    loggingLevel: MethodLoggingLevel.ERROR,
    dataTraceEnabled: false,
    metricsEnabled: true,
    tracingEnabled: true,
    throttlingRateLimit: throttle.rateLimit,
    throttlingBurstLimit: throttle.burstLimit,
  };
}

/**
 * The execution log group API Gateway writes to, `API-Gateway-Execution-Logs_{restApiId}/{stage}`,
 * created by the stack with a retention before the stage exists. Left to API Gateway, it would be
 * created on first use with no retention, outside the stack.
 *
 * @returns the log group, a child `ExecutionLogs` of `api`.
 */
export function createExecutionLogGroup(api: RestApi, retention: RetentionDays): LogGroup {
  const logGroup = new LogGroup(api, 'ExecutionLogs', {
    logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${STAGE_NAME}`,
    retention,
  });
  api.deploymentStage.node.addDependency(logGroup);
  return logGroup;
}

/**
 * Sets {@link API_SECURITY_POLICY} on the API's default endpoint. STRICT access mode (requests must
 * arrive on the API's own endpoint type with a matching SNI host name) for REGIONAL APIs; BASIC for a
 * PRIVATE API, whose callers may reach it through a VPC endpoint's own DNS name with a `Host` or
 * `x-apigw-api-id` header, which STRICT's SNI host match would refuse.
 */
export function requireModernTls(api: RestApi, isPrivate: boolean): void {
  const cfn = api.node.defaultChild as CfnRestApi;
  cfn.securityPolicy = API_SECURITY_POLICY;
  cfn.endpointAccessMode = isPrivate ? EndpointAccessMode.BASIC : EndpointAccessMode.STRICT;
}
