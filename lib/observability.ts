/**
 * What operators look at: a dashboard built from the runtime's EMF metrics, the Lambda and API Gateway
 * metrics and two Logs Insights queries over the `token_request` log lines, plus alarms that notify an
 * encrypted SNS topic.
 */
import { Aws, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/names.js';
import type { AlarmThresholds } from './config.js';
import { restrictedKeyPolicy } from './key-policy.js';
import { type AlarmOptions, addProxyAlarms, runbookLink } from './observability-alarms.js';
import { createProxyDashboard, type ProxyDashboardProps } from './observability-dashboard.js';
import { RuntimeMetricFactory } from './observability-metrics.js';

export { type AlarmOptions, runbookLink } from './observability-alarms.js';
export { nhsBudgetPerMinute } from './observability-metrics.js';
export { METRICS_NAMESPACE, SERVICE_NAME };

/** Properties of {@link Observability}. */
export interface ObservabilityProps extends Omit<ProxyDashboardProps, 'alarms'> {
  readonly thresholds: AlarmThresholds;
  /** Adds the CacheError alarm (the shared tier exists only then). */
  readonly sharedCache: boolean;
  readonly alarmEmail?: string;
  /** Repository web URL (cdk.json context `repositoryUrl`) for full runbook links in alarm descriptions. */
  readonly repositoryUrl?: string;
  /** Administers the topic key like the signing keys (see DeployConfig.keyAdminRole). */
  readonly keyAdminRole?: string;
}

/** Dashboard `Cis2TokenProxy-<env>`, its alarms and the alarm topic. */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly topic: Topic;
  /** The key encrypting {@link topic}; services that publish to the topic need to use it. */
  readonly topicKey: Key;
  readonly alarms: Alarm[] = [];
  /** The runtime's metrics for this environment, for widgets and alarms added later. */
  readonly metrics: RuntimeMetricFactory;
  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;
    this.metrics = new RuntimeMetricFactory(props.environment);
    this.topicKey = this.createTopicKey();
    this.topic = this.createTopic();
    addProxyAlarms(this.addAlarm.bind(this), this.metrics, props);
    this.dashboard = createProxyDashboard(this, 'Dashboard', this.metrics, { ...props, alarms: this.alarms });
  }

  /**
   * Every alarm of the stack is named with this prefix: the topic policy and the key grant let
   * CloudWatch act only for alarms whose ARN matches it.
   */
  get alarmNamePrefix(): string {
    return `${Stack.of(this).stackName}-`;
  }

  /** The conditions that confine CloudWatch to this account's alarms named {@link alarmNamePrefix}. */
  private alarmSourceConditions(): Record<string, Record<string, string>> {
    return {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: {
        'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${this.alarmNamePrefix}*`,
      },
    };
  }

  private createTopicKey(): Key {
    // CloudWatch cannot publish to a topic under the AWS managed aws/sns key, hence a CMK whose policy
    // lets the CloudWatch service use it, for our alarms only.
    const key = new Key(this, 'TopicKey', {
      description: `cis2-token-proxy ${this.props.environment}: encrypts the alarm topic`,
      enableKeyRotation: true,
      policy: restrictedKeyPolicy(this, this.props.keyAdminRole),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: this.alarmSourceConditions(),
      }),
    );
    return key;
  }

  private createTopic(): Topic {
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: `cis2-token-proxy ${this.props.environment} alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // With a topic policy in place, nothing else may publish: CloudWatch needs its own allow.
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: this.alarmSourceConditions(),
      }),
    );
    if (this.props.alarmEmail) topic.addSubscription(new EmailSubscription(this.props.alarmEmail));
    return topic;
  }

  /**
   * Adds an alarm named `<stack>-<name>` (see {@link alarmNamePrefix}) that notifies the topic when it
   * fires and when it clears, and shows on the dashboard's alarm widget. Its description ends with
   * the link to the alarm's own section of the runbook (`docs/runbook.md#<name in lower case>`).
   */
  addAlarm(
    name: string,
    metric: IMetric,
    threshold: number,
    description: string,
    options: AlarmOptions = {},
  ): Alarm {
    const alarm = new Alarm(this, name, {
      alarmName: `${this.alarmNamePrefix}${name}`,
      alarmDescription: `${description}. Runbook: ${runbookLink(this.props.repositoryUrl, name)}`,
      metric,
      threshold,
      evaluationPeriods: options.evaluationPeriods ?? this.props.thresholds.evaluationPeriods,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not an incident; a stopped emitter shows on the dashboard instead.
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}
