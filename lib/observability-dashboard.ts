/**
 * The operators' dashboard `<stack name>`: alarm status, every runtime metric, the Lambda and API
 * Gateway metrics, and two Logs Insights tables over the `token_request` log lines.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  LogQueryVisualizationType,
  LogQueryWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { METRIC, type MetricName } from '../lambda/names.js';
import {
  BUDGET_ALARM_SHARE,
  nhsBudgetPerMinute,
  PERIOD,
  type RuntimeMetricFactory,
} from './observability-metrics.js';
import type { ProxyFunction } from './proxy-function.js';

/** What the dashboard shows. */
export interface ProxyDashboardProps {
  readonly environment: string;
  readonly tokenFunction: ProxyFunction;
  readonly jwksFunction: ProxyFunction;
  readonly internalApi: RestApi;
  readonly jwksApi: RestApi;
  /** Requests to the JWKS that WAF's per-IP rule blocked (shown next to the API metrics). */
  readonly jwksBlocked: IMetric;
  /** Shown in the status widget; later alarms (the canary's) join it as they are added. */
  readonly alarms: Alarm[];
}

/** Creates the dashboard, named like the stack. */
export function createProxyDashboard(
  scope: Construct,
  id: string,
  metrics: RuntimeMetricFactory,
  props: ProxyDashboardProps,
): Dashboard {
  const { environment, tokenFunction, jwksFunction, internalApi, jwksApi } = props;
  const graph = (title: string, left: IMetric[], right?: IMetric[]) =>
    new GraphWidget({ title, left, right, width: 12, height: 6 });
  const sums = (names: MetricName[]) => names.map((name) => metrics.metric(name));
  const latency = (title: string, metricName: MetricName) =>
    graph(title, [metrics.metric(metricName, 'p50', 'p50'), metrics.metric(metricName, 'p99', 'p99')]);
  const logs = [tokenFunction.logGroup.logGroupName];
  const budget = nhsBudgetPerMinute(tokenFunction);

  const dashboard = new Dashboard(scope, id, {
    dashboardName: Stack.of(scope).stackName,
    defaultInterval: Duration.hours(6),
  });
  dashboard.addWidgets(
    new AlarmStatusWidget({ title: `Alarms (${environment})`, alarms: props.alarms, width: 24, height: 3 }),
  );
  dashboard.addWidgets(
    graph(
      'Token requests by outcome',
      sums([METRIC.requestSucceeded, METRIC.requestFailed, METRIC.clientError]),
      [metrics.failureRate()],
    ),
    graph(
      'NHS exchanges and refreshes',
      sums([METRIC.upstreamExchange, METRIC.upstreamRefresh, METRIC.upstreamRetry, METRIC.upstreamFailure]),
    ),
  );
  dashboard.addWidgets(
    graph(
      'Cache hits by tier',
      sums([METRIC.cacheHitMemory, METRIC.cacheHitShared, METRIC.cacheMiss]),
      sums([METRIC.cacheError, METRIC.leaseContention]),
    ),
    graph('Dependency failures (KMS, Secrets Manager, DynamoDB)', sums([METRIC.dependencyFailure])),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: `NHS token calls per minute (budget ${budget}/min)`,
      left: [metrics.nhsCallsPerMinute()],
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
      sums([METRIC.requestShed, METRIC.idTokenRefused]),
      [metrics.metric(METRIC.nhsBreakerOpen, 'Maximum', 'NHS breaker open (max)')],
    ),
  );
  dashboard.addWidgets(
    latency('Latency total (ms)', METRIC.latencyTotal),
    latency('Latency KMS sign (ms)', METRIC.latencyKmsSign),
    latency('Latency NHS upstream (ms)', METRIC.latencyUpstream),
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
        props.jwksBlocked,
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
