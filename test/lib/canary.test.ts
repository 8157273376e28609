/**
 * The client-auth canary in the stack: its role may do exactly what the probe needs, it runs on
 * the configured schedule (or not at all), and its alarms and widgets read exactly the metrics the
 * runtime writes.
 */

import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it, vi } from 'vitest';
import { powertoolsCanaryReporter } from '../../lambda/probe/canary.js';
import { DeployConfigError, parseDeployConfig } from '../../lib/config.js';
import { SIGNING_ALGORITHM } from '../../lib/signing-keys.js';
import { buildStack, environmentSettings, logicalId } from './helpers.js';

const rotating = { ...environmentSettings('int'), keys: ['a', 'b'], signingKey: 'b' };
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
type Statement = Record<string, unknown>;

describe('client-auth canary', () => {
  const { stack, template } = buildStack('int', rotating);
  const canary = stack.canary!;
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const role = logicalId(canary.role);
  const [keyA, keyB] = stack.keys.publishedKeys.map((key) => logicalId(key));
  const secret = logicalId(stack.secret);

  const roleStatements = (): Statement[] =>
    Object.values(resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${role}"`),
      )
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  it('role: its logs, kms:Sign (RS512 only) and GetPublicKey on each published key, the secret; nothing else', () => {
    expect(resources[role]!.Properties.ManagedPolicyArns).toBeUndefined();
    expect(resources[role]!.Properties.Policies).toBeUndefined();
    expect(roleStatements()).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: getAtt(logicalId(canary.logGroup)),
      },
      {
        Effect: 'Allow',
        Action: 'kms:Sign',
        Condition: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
        Resource: [getAtt(keyA!), getAtt(keyB!)],
      },
      { Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: [getAtt(keyA!), getAtt(keyB!)] },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret } },
    ]);
    expect(JSON.stringify(roleStatements())).not.toContain('*');
  });

  it('every key policy lets the canary role sign, with RS512 only', () => {
    for (const key of [keyA!, keyB!]) {
      const statements = (resources[key]!.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
      const signing = statements.filter((s) => s.Action === 'kms:Sign');
      expect(signing).toHaveLength(1);
      expect(signing[0]).toMatchObject({
        Effect: 'Allow',
        Condition: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
      });
      expect(JSON.stringify(signing[0]!.Principal)).toContain(`"${role}"`);
    }
  });

  it('its own function and bundle entry, with the token function key settings and the secret', () => {
    const fn = resources[logicalId(canary.function)]!;
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Role: getAtt(role),
      Environment: {
        Variables: {
          ENVIRONMENT: 'int',
          SIGNING_KEY_ID: getAtt(keyB!),
          PUBLISHED_KEY_IDS: { 'Fn::Join': [',', [getAtt(keyA!), getAtt(keyB!)]] },
          SECRET_ID: { Ref: secret },
        },
      },
    });
    expect(canary.function.node.tryGetContext('aws:cdk:bundling-stacks')).toEqual([]);
    // No retries: each would be another request of the app's NHS rate limit.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(canary.function) },
      MaximumRetryAttempts: 0,
    });
  });

  it('runs every 15 minutes by default, without retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: getAtt(logicalId(canary.function)), RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
  });

  it('follows canaryMinutes, and 0 turns it off', () => {
    const hourly = buildStack('int', { ...rotating, canaryMinutes: 60 }).template;
    hourly.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    const off = buildStack('int', { ...rotating, canaryMinutes: 0 });
    expect(off.stack.canary).toBeUndefined();
    // The KMS audit rule stays; no scheduled rule does.
    expect(
      off.template.findResources('AWS::Events::Rule', {
        Properties: { ScheduleExpression: Match.anyValue() },
      }),
    ).toEqual({});
    expect(JSON.stringify(off.template.toJSON())).not.toContain('SigningKeyRefused');
    for (const bad of [-1, 1.5, '15', 1441]) {
      expect(() => parseDeployConfig('int', { ...rotating, canaryMinutes: bad })).toThrow(DeployConfigError);
    }
  });

  it('alarms when NHS refuses the signing key, and when it has not been seen accepting it for two runs', () => {
    const dimensions = [
      { Name: 'environment', Value: 'int' },
      { Name: 'key', Value: getAtt(keyB!) },
      { Name: 'service', Value: 'cis2-token-proxy' },
    ];
    const topic = { Ref: logicalId(stack.observability.topic) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Cis2TokenProxy-int-SigningKeyRefused',
      Namespace: 'Cis2TokenProxy',
      MetricName: 'ClientAuthRefused',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 900,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Cis2TokenProxy-int-SigningKeyUnconfirmed',
      MetricName: 'ClientAuthAccepted',
      Dimensions: dimensions,
      EvaluationPeriods: 2,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topic],
    });
  });

  it('the dashboard shows, per published key, whether NHS accepts it', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    expect(canary.widgets).toHaveLength(2);
    expect(body).toContain('Does NHS accept key a?');
    expect(body).toContain('Does NHS accept key b (signing)?');
    expect(body).toContain('ClientAuthAccepted');
    expect(body).toContain('ClientAuthRefused');
  });

  it('outputs the canary function to invoke for verdicts, and the published keys', () => {
    template.hasOutput('CanaryFunctionName', { Value: { Ref: logicalId(canary.function) } });
    template.hasOutput('PublishedKeyArns', { Value: { 'Fn::Join': [',', [getAtt(keyA!), getAtt(keyB!)]] } });
  });

  it('uses the metric names and the dimension set the runtime writes', () => {
    // Prepare: what the runtime's reporter writes for one key.
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });

    // Act
    powertoolsCanaryReporter('int').failure({
      keyId: 'arn:aws:kms:eu-west-2:111122223333:key/k',
      signing: true,
      reason: 'timeout',
      message: 'm',
      message_id: null,
    });
    spy.mockRestore();

    // Assess
    const emf = JSON.parse(written.find((line) => line.includes('CloudWatchMetrics')) ?? '{}');
    const [directive] = emf._aws.CloudWatchMetrics;
    const alarm = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: 'Cis2TokenProxy-int-SigningKeyRefused' },
      }),
    )[0]!;
    expect([...directive.Dimensions[0]].sort()).toEqual(
      alarm.Properties.Dimensions.map((d: { Name: string }) => d.Name).sort(),
    );
    expect(directive.Namespace).toBe(alarm.Properties.Namespace);
  });
});
