/**
 * The proxy's alarms: which conditions page the on-call engineer, at which thresholds. Each goes
 * through {@link AddAlarm} (`Observability.addAlarm`), which names it, links its runbook section and
 * wires the topic.
 */
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Alarm, ComparisonOperator, IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC } from '../lambda/names.js';
import type { AlarmThresholds } from './config.js';
import {
  BUDGET_ALARM_SHARE,
  nhsBudgetPerMinute,
  PERIOD,
  type RuntimeMetricFactory,
} from './observability-metrics.js';
import type { ProxyFunction } from './proxy-function.js';

/** Settings of one alarm beyond its metric and threshold. */
export interface AlarmOptions {
  /** Consecutive periods in breach; default the environment's `evaluationPeriods`. */
  readonly evaluationPeriods?: number;
  /** Default: at or above the threshold. */
  readonly comparison?: ComparisonOperator;
  /** Default: missing data is not breaching. */
  readonly treatMissingData?: TreatMissingData;
}

/** Adds one alarm; see `Observability.addAlarm`. */
export type AddAlarm = (
  name: string,
  metric: IMetric,
  threshold: number,
  description: string,
  options?: AlarmOptions,
) => Alarm;

/**
 * Where an alarm's runbook section is: a full URL when the repository's web URL is configured
 * (what an on-call engineer can click in an e-mail), else the path in the repository.
 */
export function runbookLink(repositoryUrl: string | undefined, alarmName: string): string {
  const path = `docs/runbook.md#${alarmName.toLowerCase()}`;
  return repositoryUrl ? `${repositoryUrl.replace(/\/+$/, '')}/blob/main/${path}` : path;
}

/** What the proxy's alarms watch. */
export interface ProxyAlarmsProps {
  readonly tokenFunction: ProxyFunction;
  readonly jwksApi: RestApi;
  readonly thresholds: AlarmThresholds;
  /** Adds the CacheError alarm (the shared tier exists only then). */
  readonly sharedCache: boolean;
}

/** Adds the alarms of the token function, the public JWKS and the NHS budget. */
export function addProxyAlarms(
  addAlarm: AddAlarm,
  metrics: RuntimeMetricFactory,
  props: ProxyAlarmsProps,
): void {
  const { thresholds, tokenFunction, sharedCache } = props;
  addAlarm(
    'FailureRate',
    metrics.failureRate(),
    thresholds.failureRatePercent,
    'Share of token requests failing, in percent',
  );
  addAlarm(
    'LambdaErrors',
    tokenFunction.function.metricErrors({ period: PERIOD }),
    thresholds.lambdaErrors,
    'Token function crashed or timed out',
  );
  // Any 5XX of the JWKS API (function crash or timeout, the handler's own 503 when KMS fails, a
  // gateway error), in a single period: NHS fetches about hourly, so failures are never consecutive.
  addAlarm(
    'JwksErrors',
    props.jwksApi.metricServerError({ period: PERIOD, statistic: 'Sum' }),
    1,
    'Public JWKS answering 5XX: NHS cannot verify new assertions once its 1 h JWKS cache expires',
    { evaluationPeriods: 1 },
  );
  addAlarm(
    'Throttles',
    tokenFunction.function.metricThrottles({ period: PERIOD }),
    thresholds.throttles,
    'Token function throttled (reserved or account concurrency exhausted)',
  );
  addAlarm(
    'LatencyP99',
    metrics.metric(METRIC.latencyTotal, 'p99'),
    thresholds.p99LatencyMs,
    'p99 of LatencyTotal in ms',
  );
  addAlarm(
    'DependencyFailure',
    metrics.metric(METRIC.dependencyFailure),
    thresholds.dependencyFailures,
    'KMS, Secrets Manager or DynamoDB calls failing',
  );
  const budget = nhsBudgetPerMinute(tokenFunction);
  addAlarm(
    'NhsBudget80',
    metrics.nhsCallsPerMinute(),
    Math.ceil(budget * BUDGET_ALARM_SHARE),
    `NHS token calls per minute at ${BUDGET_ALARM_SHARE * 100} % of the budget of ${budget}/min: beyond it requests are shed with 429`,
  );
  if (sharedCache) {
    addAlarm(
      'CacheError',
      metrics.metric(METRIC.cacheError),
      thresholds.dependencyFailures,
      'Shared cache table errors',
    );
  }
}
