import { readFileSync } from 'node:fs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it, vi } from 'vitest';
import { METRIC, powertoolsTelemetry } from '../../lambda/proxy/telemetry.js';
import { nhsBudgetPerMinute, runbookLink } from '../../lib/observability.js';
import { buildStack, environmentSettings, logicalId } from './helpers.js';

/** The dashboard body as one string, with CloudFormation references rendered as `${LogicalId}`. */
function dashboardBody(template: ReturnType<typeof buildStack>['template']): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const parts: unknown[] = dashboard!.Properties.DashboardBody['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : `\${${JSON.stringify(p)}}`)).join('');
}

describe('observability', () => {
  const { stack, template } = buildStack('int', {
    ...environmentSettings('int'),
    alarmEmail: 'oncall@example.org',
  });
  const topic = logicalId(stack.observability.topic);
  const body = dashboardBody(template);

  it('dashboard shows every runtime metric in the Cis2TokenProxy namespace for this environment', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Cis2TokenProxy-int' });
    // The runtime's own list, so a metric added to lambda/names.ts and not drawn here fails.
    for (const metric of Object.values(METRIC)) {
      expect(body).toContain(`"Cis2TokenProxy","${metric}","environment","int","service","cis2-token-proxy"`);
    }
    expect(body).toMatch(/"stat":"p50"/);
    expect(body).toMatch(/"stat":"p99"/);
    expect(body).toContain('100 * failed / (ok + failed)');
  });

  it('dashboard shows Lambda errors and throttles and the API Gateway errors', () => {
    for (const name of [
      '"AWS/Lambda","Errors"',
      '"AWS/Lambda","Throttles"',
      '"AWS/ApiGateway","5XXError"',
      '"AWS/ApiGateway","4XXError"',
    ]) {
      expect(body).toContain(name);
    }
  });

  it('dashboard has the Logs Insights widgets: NHS errors by error_description and latest failures with message_id', () => {
    const logGroup = logicalId(stack.tokenFunction.logGroup);
    expect(body).toContain(`SOURCE '\${{"Ref":"${logGroup}"}}'`);
    expect(body).toContain(
      'stats count(*) as failures by upstream_status, upstream_error, upstream_error_description',
    );
    expect(body).toContain("filter message = 'token_request' and outcome = 'failure'");
    expect(body).toMatch(/fields @timestamp, correlation_id, message_id, error_code/);
    expect(body).toContain('sort @timestamp desc');
  });

  it.each([
    ['FailureRate', 10, 3],
    ['LambdaErrors', 1, 3],
    ['JwksErrors', 1, 1],
    ['Throttles', 1, 3],
    ['LatencyP99', 5000, 3],
    ['DependencyFailure', 1, 3],
    ['CacheError', 1, 3],
    ['NhsBudget80', 240, 3],
  ])(
    'alarm %s (threshold %d, %d periods) notifies the topic on alarm and recovery',
    (name, threshold, periods) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Cis2TokenProxy-int-${name}`,
        Threshold: threshold,
        EvaluationPeriods: periods,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
      });
    },
  );

  it('alarms and widgets use exactly the dimension set the runtime emits in EMF', () => {
    // Prepare: what the runtime's Powertools metrics write for one data point.
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const telemetry = powertoolsTelemetry('int');

    // Act
    telemetry.metrics.count(METRIC.requestFailed);
    telemetry.metrics.flush();
    spy.mockRestore();

    // Assess
    const emf = JSON.parse(written.find((line) => line.includes('CloudWatchMetrics')) ?? '{}');
    const [directive] = emf._aws.CloudWatchMetrics;
    const dimensions = Object.fromEntries(directive.Dimensions[0].map((name: string) => [name, emf[name]]));
    expect(directive.Namespace).toBe('Cis2TokenProxy');
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmName: 'Cis2TokenProxy-int-FailureRate' },
    });
    const [alarm] = Object.values(alarms);
    const failed = alarm!.Properties.Metrics.find((m: { Id: string }) => m.Id === 'failed');
    const alarmDimensions = Object.fromEntries(
      failed.MetricStat.Metric.Dimensions.map((d: { Name: string; Value: string }) => [d.Name, d.Value]),
    );
    expect(alarmDimensions).toEqual(dimensions);
  });

  it('failure-rate alarm divides RequestFailed by all requests', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Cis2TokenProxy-int-FailureRate',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(ok + failed > 0, 100 * failed / (ok + failed), 0)' }),
        Match.objectLike({
          Id: 'failed',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RequestFailed' }) }),
        }),
      ]),
    });
  });

  it('topic is KMS-encrypted with a key CloudWatch may use, TLS-only, with the configured e-mail', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.org',
    });
  });

  it('NhsBudget80 sums NHS token calls per minute, the window NHS counts its quota in', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Cis2TokenProxy-int-NhsBudget80',
      Metrics: [
        Match.objectLike({
          MetricStat: {
            Metric: Match.objectLike({ Namespace: 'Cis2TokenProxy', MetricName: 'NhsTokenCall' }),
            Period: 60,
            Stat: 'Sum',
          },
        }),
      ],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp('budget of 300/min'),
    });
  });

  it('dashboard draws NHS calls per minute against the budget line and the breaker by its Maximum', () => {
    expect(body).toContain(
      '"Cis2TokenProxy","NhsTokenCall","environment","int","service","cis2-token-proxy",{"label":"NHS token calls per minute","period":60,"stat":"Sum"}',
    );
    expect(body).toContain('{"value":300,"label":"budget"');
    expect(body).toContain('{"value":240,"label":"NhsBudget80"');
    expect(body).toMatch(
      /"NhsBreakerOpen","environment","int","service","cis2-token-proxy",\{[^}]*"stat":"Maximum"/,
    );
  });

  it("budget line and alarm follow the token function's NHS_BUDGET_PER_MINUTE", () => {
    // Prepare: a token function configured for a raised NHS limit.
    const fn = { environment: { NHS_BUDGET_PER_MINUTE: '1000' } };

    // Act, Assess
    expect(nhsBudgetPerMinute(fn)).toBe(1000);
    expect(nhsBudgetPerMinute({ environment: {} })).toBe(300);
    // 0 turns the runtime's budget off; NHS's own quota is still what counts.
    expect(nhsBudgetPerMinute({ environment: { NHS_BUDGET_PER_MINUTE: '0' } })).toBe(300);
  });

  it('the token function divides the NHS budget by its reserved concurrency when it has one', () => {
    // Prepare
    const { stack: reserved } = buildStack('int', { ...environmentSettings('int'), reservedConcurrency: 7 });

    // Act
    const env = (s: typeof stack) => s.tokenFunction.environment;

    // Assess
    expect(env(reserved).NHS_BUDGET_CONTAINERS).toBe('7');
    Template.fromStack(reserved).hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 7,
      Environment: { Variables: Match.objectLike({ NHS_BUDGET_CONTAINERS: '7' }) },
    });
    // Without reserved concurrency the runtime's default (1 container) is left alone.
    expect(env(stack).NHS_BUDGET_CONTAINERS).toBeUndefined();
  });

  it('without the shared cache there is no CacheError alarm', () => {
    const { template: t } = buildStack('internal-dev');
    expect(
      Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName),
    ).not.toContain('Cis2TokenProxy-internal-dev-CacheError');
    t.resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });
});

describe('alarm runbook links', () => {
  // GitHub's anchor of a markdown heading: lower case, spaces to dashes, punctuation dropped.
  const anchors = new Set(
    readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('#'))
      .map((line) =>
        line
          .replace(/^#+\s*/, '')
          .toLowerCase()
          .replace(/[^a-z0-9 _-]/g, '')
          .replace(/ /g, '-'),
      ),
  );

  it('every alarm of every environment links to its own section of docs/runbook.md', () => {
    for (const env of ['internal-dev', 'int', 'prod']) {
      const { template } = buildStack(env, environmentSettings(env));
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThan(0);
      for (const alarm of alarms) {
        const description = String(alarm.Properties.AlarmDescription);
        const anchor = description.match(/Runbook: docs\/runbook\.md#([a-z0-9-]+)$/)?.[1];
        expect(anchor, description).toBeDefined();
        expect(anchors, description).toContain(anchor);
      }
    }
  });

  it('links by full URL when the repository URL is configured', () => {
    expect(runbookLink('https://github.com/nhs-supplier/cis2-token-proxy/', 'JwksErrors')).toBe(
      'https://github.com/nhs-supplier/cis2-token-proxy/blob/main/docs/runbook.md#jwkserrors',
    );
    expect(runbookLink(undefined, 'JwksErrors')).toBe('docs/runbook.md#jwkserrors');
  });
});
