/**
 * Alarm notifications reach people: with a topic policy in place, CloudWatch may publish only because a
 * statement allows it, and only for this account's alarms named with the stack prefix; the same
 * conditions bound its use of the topic key; the KMS audit rule may publish too.
 */
import { describe, expect, it } from 'vitest';
import { AUDITED_KMS_EVENTS } from '../../lib/key-audit.js';
import { buildStack, logicalId } from './helpers.js';

type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: unknown; Condition?: unknown };

const ALARM_SOURCE = {
  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  ArnLike: {
    'aws:SourceArn': {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudwatch:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':alarm:Cis2TokenProxy-int-*',
        ],
      ],
    },
  },
};

describe('alarm delivery', () => {
  const { stack, template } = buildStack('int');
  const resources = template.toJSON().Resources;
  const topic = logicalId(stack.observability.topic);
  const [topicPolicy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
  const topicStatements: Statement[] = topicPolicy!.Properties.PolicyDocument.Statement;
  const keyStatements: Statement[] =
    resources[logicalId(stack.observability.topicKey)].Properties.KeyPolicy.Statement;
  const byService = (statements: Statement[], service: string) =>
    statements.filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: service }));

  it('the topic policy lets CloudWatch publish, for this account and the stack-prefixed alarms only', () => {
    expect(topicPolicy!.Properties.Topics).toEqual([{ Ref: topic }]);
    expect(byService(topicStatements, 'cloudwatch.amazonaws.com')).toEqual([
      {
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topic },
        Condition: ALARM_SOURCE,
      },
    ]);
  });

  it('the topic key lets CloudWatch encrypt under the same conditions, and no unconditioned grant exists', () => {
    expect(byService(keyStatements, 'cloudwatch.amazonaws.com')).toEqual([
      {
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: ALARM_SOURCE,
      },
    ]);
  });

  it('every alarm of the stack is named so that the condition matches it', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.AlarmName,
    );
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^Cis2TokenProxy-int-/);
  });

  it('the KMS audit rule may publish, conditioned on its own ARN, and use the topic key', () => {
    const rule = logicalId(stack.keyAudit.rule);
    expect(byService(topicStatements, 'events.amazonaws.com')).toEqual([
      expect.objectContaining({
        Action: 'sns:Publish',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } },
        },
      }),
    ]);
    expect(byService(keyStatements, 'events.amazonaws.com')).toEqual([
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    ]);
  });

  it('the KMS audit rule sends policy changes, disabling and deletion of every stack key to the topic', () => {
    const rule = resources[logicalId(stack.keyAudit.rule)].Properties;
    const keyArns = [...stack.keys.publishedKeys, stack.observability.topicKey].map((k) => ({
      'Fn::GetAtt': [logicalId(k), 'Arn'],
    }));
    expect(rule.EventPattern).toEqual({
      source: ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['kms.amazonaws.com'],
        eventName: [...AUDITED_KMS_EVENTS],
        resources: { ARN: keyArns },
      },
    });
    for (const name of ['PutKeyPolicy', 'DisableKey', 'ScheduleKeyDeletion']) {
      expect(AUDITED_KMS_EVENTS).toContain(name);
    }
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topic } })]);
    expect(rule.Targets[0].RoleArn).toBeUndefined();
  });
});
