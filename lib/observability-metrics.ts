/**
 * Metric factories of the observability layer (as in cdk-monitoring-constructs, metrics are made
 * apart from the alarms and dashboards that use them): the runtime's EMF metrics with exactly the
 * dimension set Powertools writes, the failure rate, and NHS calls against the budget.
 */
import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import {
  ENV,
  METRIC,
  METRICS_NAMESPACE,
  type MetricName,
  PLATFORM_TOKEN_RATE_PER_MINUTE,
  SERVICE_NAME,
} from '../lambda/names.js';
import type { ProxyFunction } from './proxy-function.js';

/** Period of the dashboard's graphs and of most alarms. */
export const PERIOD = Duration.minutes(5);

/** NHS counts its quota per rolling minute, so NHS calls are summed per minute. */
export const MINUTE = Duration.minutes(1);

/** Share of the NHS budget at which `NhsBudget80` fires. */
export const BUDGET_ALARM_SHARE = 0.8;

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

/** Makes the metrics of one environment's runtime. */
export class RuntimeMetricFactory {
  constructor(private readonly environment: string) {}

  /**
   * A runtime EMF metric. Powertools emits the dimension set `[service, environment]`, and a
   * CloudWatch metric matches only its exact dimension set, so both are named here.
   */
  metric(metricName: MetricName, statistic = 'Sum', label?: string, period = PERIOD): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAME, environment: this.environment },
      statistic,
      period,
      label,
    });
  }

  /** `RequestFailed / (RequestSucceeded + RequestFailed)` in percent; 0 when there is no traffic. */
  failureRate(): MathExpression {
    return new MathExpression({
      expression: 'IF(ok + failed > 0, 100 * failed / (ok + failed), 0)',
      usingMetrics: { ok: this.metric(METRIC.requestSucceeded), failed: this.metric(METRIC.requestFailed) },
      label: 'Failure rate (%)',
      period: PERIOD,
    });
  }

  /** `NhsTokenCall` summed per minute: what NHS counts against the app's quota. */
  nhsCallsPerMinute(): Metric {
    return this.metric(METRIC.nhsTokenCall, 'Sum', 'NHS token calls per minute', MINUTE);
  }
}
