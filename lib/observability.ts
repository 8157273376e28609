/**
 * What operators look at: a dashboard built from the runtime's EMF metrics, the Lambda and API Gateway
 * metrics and two Logs Insights queries over the `token_request` log lines, plus alarms that notify an
 * encrypted SNS topic.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  LogQueryVisualizationType,
  LogQueryWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import {
  ENV,
  METRIC,
  METRICS_NAMESPACE,
  PLATFORM_TOKEN_RATE_PER_MINUTE,
  SERVICE_NAME,
} from '../lambda/names.js';
import type { AlarmThresholds } from './config.js';
import { restrictedKeyPolicy } from './key-policy.js';
import type { ProxyFunction } from './proxy-function.js';

export { METRICS_NAMESPACE, SERVICE_NAME };

const PERIOD = Duration.minutes(5);
/** NHS counts its quota per rolling minute, so NHS calls are summed per minute. */
const MINUTE = Duration.minutes(1);
/** Share of the NHS budget at which `NhsBudget80` fires. */
const BUDGET_ALARM_SHARE = 0.8;

/**
 * The NHS calls per minute the token function's runtime keeps to: its `NHS_BUDGET_PER_MINUTE`, else
 * the runtime's default (the platform's 300). A budget of 0 turns the runtime's budget off; NHS's
 * own quota still applies then, so that is what is measured.
 */
export function nhsBudgetPerMinute(tokenFunction: Pick<ProxyFunction, 'environment'>): number {
  const configured = Number(
    tokenFunction.environment[ENV.nhsBudgetPerMinute] ?? PLATFORM_TOKEN_RATE_PER_MINUTE,
  );
  return configured > 0 ? configured : PLATFORM_TOKEN_RATE_PER_MINUTE;
}

/** Properties of {@link Observability}. */
/** Settings of one alarm beyond its metric and threshold. */
export interface AlarmOptions {
  /** Consecutive periods in breach; default the environment's `evaluationPeriods`. */
  readonly evaluationPeriods?: number;
  /** Default: at or above the threshold. */
  readonly comparison?: ComparisonOperator;
  /** Default: missing data is not breaching. */
  readonly treatMissingData?: TreatMissingData;
}

/**
 * Where an alarm's runbook section is: a full URL when the repository's web URL is configured
 * (what an on-call engineer can click in an e-mail), else the path in the repository.
 */
export function runbookLink(repositoryUrl: string | undefined, alarmName: string): string {
  const path = `docs/runbook.md#${alarmName.toLowerCase()}`;
  return repositoryUrl ? `${repositoryUrl.replace(/\/+$/, '')}/blob/main/${path}` : path;
}

export interface ObservabilityProps {
  readonly environment: string;
  readonly tokenFunction: ProxyFunction;
  readonly jwksFunction: ProxyFunction;
  readonly internalApi: RestApi;
  readonly jwksApi: RestApi;
  /** Requests to the JWKS that WAF's per-IP rule blocked (shown next to the API metrics). */
  readonly jwksBlocked: IMetric;
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
  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;
    this.topicKey = this.createTopicKey();
    this.topic = this.createTopic();
    this.createAlarms();
    this.dashboard = this.createDashboard();
  }

  /**
   * A runtime EMF metric. Powertools emits the dimension set `[service, environment]`, and a
   * CloudWatch metric matches only its exact dimension set, so both are named here.
   */
  private metric(metricName: string, statistic = 'Sum', label?: string, period = PERIOD): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAME, environment: this.props.environment },
      statistic,
      period,
      label,
    });
  }

  /** `NhsTokenCall` summed per minute: what NHS counts against the app's quota. */
  private nhsCallsPerMinute(): Metric {
    return this.metric(METRIC.nhsTokenCall, 'Sum', 'NHS token calls per minute', MINUTE);
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

  private createAlarms(): void {
    const { thresholds, tokenFunction, sharedCache } = this.props;
    this.addAlarm(
      'FailureRate',
      this.failureRate(),
      thresholds.failureRatePercent,
      'Share of token requests failing, in percent',
    );
    this.addAlarm(
      'LambdaErrors',
      tokenFunction.function.metricErrors({ period: PERIOD }),
      thresholds.lambdaErrors,
      'Token function crashed or timed out',
    );
    // Any 5XX of the JWKS API (function crash or timeout, the handler's own 503 when KMS fails, a
    // gateway error), in a single period: NHS fetches about hourly, so failures are never consecutive.
    this.addAlarm(
      'JwksErrors',
      this.props.jwksApi.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      1,
      'Public JWKS answering 5XX: NHS cannot verify new assertions once its 1 h JWKS cache expires',
      { evaluationPeriods: 1 },
    );
    this.addAlarm(
      'Throttles',
      tokenFunction.function.metricThrottles({ period: PERIOD }),
      thresholds.throttles,
      'Token function throttled (reserved or account concurrency exhausted)',
    );
    this.addAlarm(
      'LatencyP99',
      this.metric('LatencyTotal', 'p99'),
      thresholds.p99LatencyMs,
      'p99 of LatencyTotal in ms',
    );
    this.addAlarm(
      'DependencyFailure',
      this.metric('DependencyFailure'),
      thresholds.dependencyFailures,
      'KMS, Secrets Manager or DynamoDB calls failing',
    );
    const budget = nhsBudgetPerMinute(tokenFunction);
    this.addAlarm(
      'NhsBudget80',
      this.nhsCallsPerMinute(),
      Math.ceil(budget * BUDGET_ALARM_SHARE),
      `NHS token calls per minute at ${BUDGET_ALARM_SHARE * 100} % of the budget of ${budget}/min: beyond it requests are shed with 429`,
    );
    if (sharedCache) {
      this.addAlarm(
        'CacheError',
        this.metric('CacheError'),
        thresholds.dependencyFailures,
        'Shared cache table errors',
      );
    }
  }

  /** `RequestFailed / (RequestSucceeded + RequestFailed)` in percent; 0 when there is no traffic. */
  private failureRate(): MathExpression {
    return new MathExpression({
      expression: 'IF(ok + failed > 0, 100 * failed / (ok + failed), 0)',
      usingMetrics: { ok: this.metric('RequestSucceeded'), failed: this.metric('RequestFailed') },
      label: 'Failure rate (%)',
      period: PERIOD,
    });
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

  private createDashboard(): Dashboard {
    const { environment, tokenFunction, jwksFunction, internalApi, jwksApi } = this.props;
    const graph = (title: string, left: IMetric[], right?: IMetric[]) =>
      new GraphWidget({ title, left, right, width: 12, height: 6 });
    const latency = (title: string, metricName: string) =>
      graph(title, [this.metric(metricName, 'p50', 'p50'), this.metric(metricName, 'p99', 'p99')]);
    const logs = [tokenFunction.logGroup.logGroupName];

    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.hours(6),
    });
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: `Alarms (${environment})`, alarms: this.alarms, width: 24, height: 3 }),
    );
    dashboard.addWidgets(
      graph(
        'Token requests by outcome',
        ['RequestSucceeded', 'RequestFailed', 'ClientError'].map((m) => this.metric(m)),
        [this.failureRate()],
      ),
      graph(
        'NHS exchanges and refreshes',
        ['UpstreamExchange', 'UpstreamRefresh', 'UpstreamRetry', 'UpstreamFailure'].map((m) =>
          this.metric(m),
        ),
      ),
    );
    dashboard.addWidgets(
      graph(
        'Cache hits by tier',
        ['CacheHitMemory', 'CacheHitShared', 'CacheMiss'].map((m) => this.metric(m)),
        ['CacheError', 'LeaseContention'].map((m) => this.metric(m)),
      ),
      graph('Dependency failures (KMS, Secrets Manager, DynamoDB)', [this.metric('DependencyFailure')]),
    );
    const budget = nhsBudgetPerMinute(tokenFunction);
    dashboard.addWidgets(
      new GraphWidget({
        title: `NHS token calls per minute (budget ${budget}/min)`,
        left: [this.nhsCallsPerMinute()],
        leftAnnotations: [
          { value: budget, label: 'budget', color: '#d62728' },
          { value: Math.ceil(budget * BUDGET_ALARM_SHARE), label: 'NhsBudget80', color: '#ff7f0e' },
        ],
        leftYAxis: { min: 0 },
        width: 12,
        height: 6,
      }),
      graph(
        'Requests shed, ID tokens refused, NHS breaker',
        [this.metric(METRIC.requestShed), this.metric(METRIC.idTokenRefused)],
        [this.metric(METRIC.nhsBreakerOpen, 'Maximum', 'NHS breaker open (max)')],
      ),
    );
    dashboard.addWidgets(
      latency('Latency total (ms)', 'LatencyTotal'),
      latency('Latency KMS sign (ms)', 'LatencyKmsSign'),
      latency('Latency NHS upstream (ms)', 'LatencyUpstream'),
    );
    dashboard.addWidgets(
      graph(
        'Lambda errors and throttles',
        [
          tokenFunction.function.metricErrors({ period: PERIOD, label: 'token Errors' }),
          tokenFunction.function.metricThrottles({ period: PERIOD, label: 'token Throttles' }),
          jwksFunction.function.metricErrors({ period: PERIOD, label: 'jwks Errors' }),
        ],
        [tokenFunction.function.metricInvocations({ period: PERIOD, label: 'token Invocations' })],
      ),
      graph(
        'API Gateway',
        [
          internalApi.metricClientError({ period: PERIOD, label: 'internal 4XX' }),
          internalApi.metricServerError({ period: PERIOD, label: 'internal 5XX' }),
          jwksApi.metricServerError({ period: PERIOD, label: 'jwks 5XX' }),
          this.props.jwksBlocked,
        ],
        [
          internalApi.metricCount({ period: PERIOD, label: 'internal requests' }),
          jwksApi.metricCount({ period: PERIOD, label: 'jwks requests' }),
        ],
      ),
    );
    dashboard.addWidgets(
      new LogQueryWidget({
        title: 'NHS errors by error_description',
        logGroupNames: logs,
        view: LogQueryVisualizationType.TABLE,
        width: 24,
        height: 6,
        queryLines: [
          "filter message = 'token_request' and outcome = 'failure' and ispresent(upstream_error_description)",
          'stats count(*) as failures by upstream_status, upstream_error, upstream_error_description',
          'sort failures desc',
        ],
      }),
      new LogQueryWidget({
        title: 'Latest failures (quote message_id to NHS support)',
        logGroupNames: logs,
        view: LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
        queryLines: [
          "filter message = 'token_request' and outcome = 'failure'",
          'fields @timestamp, correlation_id, message_id, error_code, error_description, status, upstream_status,' +
            ' upstream_error, upstream_error_description, grant, kid, jti, attempts, duration_ms',
          'sort @timestamp desc',
          'limit 50',
        ],
      }),
    );
    return dashboard;
  }
}
