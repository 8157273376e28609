/**
 * cdk-nag (AwsSolutionsChecks, v3 `Validations` API) and the findings this design accepts on purpose.
 * Each acknowledgement is attached to the narrowest construct that causes it, with the reason, so a
 * new resource of the same kind elsewhere is still reported.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { TokenProxyStack } from './token-proxy-stack.js';

/** Registers AwsSolutionsChecks on the app; any unacknowledged ERROR fails synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

function acknowledge(scope: IConstruct, findings: Readonly<Record<string, string>>): void {
  Validations.of(scope).acknowledge(...Object.entries(findings).map(([id, reason]) => ({ id, reason })));
}

/**
 * Acknowledges the findings the stack's design accepts. Called by the stack itself so that every
 * synth (CLI or tests) sees the same acknowledgements.
 */
export function acknowledgeNagFindings(stack: TokenProxyStack): void {
  acknowledge(stack.secret, {
    'AwsSolutions-SMG4':
      'The API key and client secret are issued by NHS in its developer portal; no rotation Lambda can ' +
      'create new ones. Rotation is a manual portal step followed by put-secret-value (README.md#set-the-nhs-app-credentials).',
  });
  acknowledge(stack.internalApi, {
    'AwsSolutions-COG4':
      'Callers are AWS workloads authenticated with SigV4 (AWS_IAM authorization) and limited by the ' +
      'resource policy to configured principals; a Cognito user pool would add a second identity system.',
    'AwsSolutions-APIG3':
      'Only SigV4-signed requests from allow-listed principals (optionally only via VPC endpoints) reach ' +
      'the API, and the stage is throttled; a WAF web ACL has no anonymous traffic to filter.',
  });
  acknowledge(stack.publicJwks.api, {
    'AwsSolutions-APIG4':
      'Serves only public keys. The NHS API platform fetches jwks-resource-url anonymously (its service ' +
      'callout cannot sign requests or present a token), so GET /jwks.json must not require authorization.',
    'AwsSolutions-COG4': 'Anonymous by design, see APIG4: NHS cannot present Cognito tokens.',
    'AwsSolutions-APIG2':
      'The only method is GET /jwks.json with no body, path or query parameters: there is nothing to validate.',
    'AwsSolutions-APIG3':
      'Read-only public document of a few KB; stage throttling (5 rps, burst 10) bounds abuse and cost, and ' +
      'a WAF web ACL would cost more than the endpoint it protects.',
  });
  if (stack.apiGatewayAccount) {
    acknowledge(stack.apiGatewayAccount, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
        'The AWS-maintained policy for the API Gateway logging role; it is the documented one for ' +
        'AWS::ApiGateway::Account and AWS keeps it in step with what API Gateway needs.',
    });
  }
}
