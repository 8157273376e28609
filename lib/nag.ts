/**
 * Policy as code: cdk-nag (AwsSolutionsChecks, v3 `Validations` API) and cfn-guard with the AWS Control
 * Tower proactive-control rules (`@cdklabs/cdk-validator-cfnguard`, which bundles the cfn-guard
 * binary), and the findings this design accepts on purpose. Each acknowledgement is attached to the
 * narrowest construct that causes it, with the reason, so a new resource of the same kind elsewhere
 * is still reported.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { Cis2TokenProxy } from './cis2-token-proxy.js';

/** Registers AwsSolutionsChecks and the Control Tower guard rules; any unacknowledged ERROR fails synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new CfnGuardValidator());
}

/** The namespace under which the core validation framework files cfn-guard's rule ids. */
const GUARD = 'cdk-validator-cfnguard::';

function acknowledge(scope: IConstruct, findings: Readonly<Record<string, string>>): void {
  Validations.of(scope).acknowledge(...Object.entries(findings).map(([id, reason]) => ({ id, reason })));
}

/**
 * Acknowledges the findings the proxy's design accepts. Called by the construct itself so that every
 * synth (CLI, tests, or another team's app) sees the same acknowledgements.
 */
export function acknowledgeNagFindings(proxy: Cis2TokenProxy): void {
  acknowledge(proxy.secret, {
    'AwsSolutions-SMG4':
      'The API key and client secret are issued by NHS in its developer portal; no rotation Lambda can ' +
      'create new ones. Rotation is a manual portal step followed by put-secret-value (docs/deploying.md#set-the-nhs-app-credentials).',
  });
  acknowledge(proxy.internalApi, {
    'AwsSolutions-COG4':
      'Callers are AWS workloads authenticated with SigV4 (AWS_IAM authorization) and limited by the ' +
      'resource policy to configured principals; a Cognito user pool would add a second identity system.',
    'AwsSolutions-APIG3':
      'Only SigV4-signed requests from allow-listed principals (optionally only via VPC endpoints) reach ' +
      'the API, and the stage is throttled; a WAF web ACL has no anonymous traffic to filter.',
  });
  acknowledge(proxy.publicJwks.api, {
    'AwsSolutions-APIG4':
      'Serves only public keys. The NHS API platform fetches jwks-resource-url anonymously (its service ' +
      'callout cannot sign requests or present a token), so GET /jwks.json must not require authorization.',
    'AwsSolutions-COG4': 'Anonymous by design, see APIG4: NHS cannot present Cognito tokens.',
    'AwsSolutions-APIG2':
      'The only method is GET /jwks.json with no body, path or query parameters: there is nothing to validate.',
  });

  // cfn-guard, AWS Control Tower proactive controls.
  const lambdaPermissionFalsePositive =
    'False positive: every permission API Gateway uses to invoke the function names ' +
    'apigateway.amazonaws.com with SourceArn set to this API stage and method ' +
    '(arn:…:execute-api:<region>:<account>:<api>/<stage>/<method>/<path>), built with Fn::Join, ' +
    'which the rule does not evaluate.';
  for (const api of [proxy.internalApi.api, proxy.publicJwks.api]) {
    acknowledge(api, {
      [`${GUARD}lambda_function_public_access_prohibited_check`]: lambdaPermissionFalsePositive,
    });
  }
  const outsideVpc =
    'Recorded decision: the function needs only AWS APIs (KMS, Secrets Manager, DynamoDB) and the NHS ' +
    'token endpoint on the internet. In a VPC that would take a NAT gateway (about $35/month per AZ plus ' +
    'data) or interface endpoints for each AWS service, for no control the IAM policies do not already ' +
    'give: the function roles can do nothing but sign, read one secret and three item operations.';
  for (const fn of [proxy.tokenFunction, proxy.publicJwks.handler, ...(proxy.canary ? [proxy.canary] : [])]) {
    acknowledge(fn, { [`${GUARD}lambda_inside_vpc_check`]: outsideVpc });
  }
  acknowledge(proxy, {
    [`${GUARD}cloudwatch_log_group_encrypted_check`]:
      'CloudWatch Logs encrypts every log group at rest with service-owned keys. The lines hold no ' +
      'secrets (the runtime redacts them and the function log groups carry a data-protection policy ' +
      'masking JWT-shaped strings, the client secret and token values); a customer managed key would ' +
      'add a key policy for logs.<region>.amazonaws.com to every log group for no extra control.',
  });
  if (proxy.config.logRetentionDays < 365) {
    acknowledge(proxy, {
      [`${GUARD}cloudwatch_log_group_retention_period_check`]:
        `Non-production environment ("${proxy.config.name}"): logs of test users are kept ` +
        `${proxy.config.logRetentionDays} days, which covers debugging and INT assurance; keeping test ` +
        'data for a year has no use. Prod keeps 400 days (cdk.json).',
    });
  }
  if (proxy.apiGatewayAccount) {
    acknowledge(proxy.apiGatewayAccount, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
        'The AWS-maintained policy for the API Gateway logging role; it is the documented one for ' +
        'AWS::ApiGateway::Account and AWS keeps it in step with what API Gateway needs.',
    });
  }
}
