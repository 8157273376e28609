/**
 * Stage settings shared by the internal and the public REST APIs: JSON access logs in their own log
 * group, error-level execution logs without bodies, detailed metrics, X-Ray tracing and throttling.
 */
import {
  AccessLogField,
  AccessLogFormat,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type StageOptions,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Stage name of both APIs; part of every URL. */
export const STAGE_NAME = 'v1';

/** One JSON object per request; what support needs to match a caller to a Lambda log line. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: AccessLogField.contextRequestId(),
    extendedRequestId: AccessLogField.contextExtendedRequestId(),
    requestTime: AccessLogField.contextRequestTime(),
    httpMethod: AccessLogField.contextHttpMethod(),
    resourcePath: AccessLogField.contextResourcePath(),
    status: AccessLogField.contextStatus(),
    responseLatency: AccessLogField.contextResponseLatency(),
    integrationLatency: AccessLogField.contextIntegrationLatency(),
    integrationStatus: '$context.integration.status',
    error: AccessLogField.contextErrorMessage(),
    validationError: AccessLogField.contextErrorValidationErrorString(),
    userArn: AccessLogField.contextIdentityUserArn(),
    accountId: AccessLogField.contextIdentityAccountId(),
    sourceIp: AccessLogField.contextIdentitySourceIp(),
    vpceId: '$context.identity.vpceId',
    userAgent: AccessLogField.contextIdentityUserAgent(),
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
