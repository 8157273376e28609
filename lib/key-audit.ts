/**
 * Tells on-call when someone changes, disables or schedules the deletion of one of the stack's KMS
 * keys: an EventBridge rule on the CloudTrail management events of those calls (delivered to the
 * default event bus as "AWS API Call via CloudTrail") that publishes each one to the alarm topic.
 */
import { Aws } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The KMS calls that can take a key away from the proxy or hand its use to someone else. A key-policy
 * change is how `kms:Sign` would be granted; disabling or deleting a signing key stops every exchange.
 */
export const AUDITED_KMS_EVENTS = [
  'PutKeyPolicy',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CreateGrant',
  'DeleteAlias',
  'UpdateAlias',
] as const;

/** Properties of {@link KeyAudit}. */
export interface KeyAuditProps {
  readonly environment: string;
  /** The keys to watch. */
  readonly keys: readonly IKey[];
  readonly topic: Topic;
  /** The key that encrypts `topic`; EventBridge must be able to use it to publish. */
  readonly topicKey: Key;
}

/** The EventBridge rule and the permissions it needs on the encrypted alarm topic. */
export class KeyAudit extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: KeyAuditProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Rule', {
      description: `cis2-token-proxy ${props.environment}: KMS key policy changes, disabling and deletion`,
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: [...AUDITED_KMS_EVENTS],
          // CloudTrail lists the key a call acted on in `resources[].ARN`.
          resources: { ARN: props.keys.map((key) => key.keyArn) },
        },
      },
    });
    // A plain target: `targets.SnsTopic` would add an unconditioned publish grant.
    this.rule.addTarget({ bind: () => ({ arn: props.topic.topicArn }) });

    const events = new ServicePrincipal('events.amazonaws.com');
    props.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'KeyAuditRulePublish',
        effect: Effect.ALLOW,
        principals: [events],
        actions: ['sns:Publish'],
        resources: [props.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnEquals: { 'aws:SourceArn': this.rule.ruleArn },
        },
      }),
    );
    // No source conditions here: EventBridge's calls to KMS on a topic's behalf are not documented
    // to carry aws:SourceArn/aws:SourceAccount, and a condition they never match would drop every
    // notification. The grant only lets EventBridge encrypt messages for this topic.
    props.topicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgePublish',
        effect: Effect.ALLOW,
        principals: [events],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }
}
