/**
 * The account-level API Gateway setting that lets stages write execution logs. Without it a stage with
 * execution logging fails to create ("CloudWatch Logs role ARN must be set in account settings"), so
 * the stack sets it unless the environment says another stack or team manages it
 * (`"apiGatewayAccountRole": false`). It is one setting per account and region: the last stack to
 * deploy one wins, which is harmless because every such role carries the same AWS managed policy and
 * is retained (docs/deploying.md, "Several stacks in one account").
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The CloudWatch Logs role of API Gateway, registered in the account settings. */
export class ApiGatewayAccount extends Construct {
  readonly role: Role;
  readonly account: CfnAccount;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new Role(this, 'CloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    // Other APIs in the account rely on the setting: deleting this stack must not break their logging.
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
  }
}
