/**
 * The client-authentication canary: a scheduled function that probes NHS with every published key
 * (lambda/canary-entry.ts, docs/probe.md) and reports per key whether NHS accepts it; an alarm
 * when NHS refuses the signing key or stops confirming it, and a dashboard widget per key.
 */
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  ComparisonOperator,
  GraphWidget,
  type IWidget,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  CANARY_KEY_DIMENSION,
  CANARY_METRIC as CANARY_METRICS,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../lambda/names.js';
import type { Observability } from './observability.js';
import { ProxyFunction } from './proxy-function.js';
import { SIGNING_ALGORITHM, type SigningKeys } from './signing-keys.js';

/** The canary's own entry module: its bundle holds the probe, not the proxy. */
export const CANARY_ENTRY = path.join(import.meta.dirname, '..', 'lambda', 'canary-entry.ts');

/** Metric names and the per-key dimension the canary emits (shared with the runtime). */
export { CANARY_KEY_DIMENSION, CANARY_METRIC as CANARY_METRICS } from '../lambda/names.js';

/** Properties of {@link ClientAuthCanary}. */
export interface ClientAuthCanaryProps {
  readonly environment: string;
  readonly keys: SigningKeys;
  /** Slot names of `keys.publishedKeys`, in the same order (cdk.json `keys`). */
  readonly slots: readonly string[];
  readonly secret: ISecret;
  /** `ENVIRONMENT`, `SIGNING_KEY_ID`, `PUBLISHED_KEY_IDS`: as the token function gets them. */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  /** Time between runs. */
  readonly every: Duration;
  readonly logLevel: string;
  readonly logRetention: RetentionDays;
  /** Where the alarms notify. */
  /** Where the canary's alarms go (and how they are named and linked to the runbook). */
  readonly observability: Observability;
}

/** The canary function, its schedule, alarms and per-key widgets. */
export class ClientAuthCanary extends Construct {
  readonly function: NodejsFunction;
  /** Logs to its own group, `kms:Sign` (RS512 only) and `kms:GetPublicKey` on each published key, the secret. */
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly schedule: Rule;
  /** `SigningKeyRefused` and `SigningKeyUnconfirmed`. */
  readonly alarms: Alarm[] = [];
  /** One widget per published key: whether NHS accepts it. Add them to the dashboard. */
  readonly widgets: IWidget[];
  private readonly props: ClientAuthCanaryProps;

  constructor(scope: Construct, id: string, props: ClientAuthCanaryProps) {
    super(scope, id);
    this.props = props;
    const fn = new ProxyFunction(this, 'Canary', {
      entry: CANARY_ENTRY,
      handler: 'handler',
      description: `cis2-token-proxy ${props.environment}: probes whether NHS accepts each published key`,
      environment: { ...props.functionEnvironment, SECRET_ID: props.secret.secretArn },
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      memorySize: 256,
      // One probe waits at most 10 s for NHS, plus KMS; keys are probed one after another.
      timeout: Duration.seconds(15 + 12 * props.keys.publishedKeys.length),
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    this.grantSignWithEveryKey();
    // kid = thumbprint of the public key: the probe reads it as the proxy does.
    props.keys.grantPublish(this.role);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.secret.secretArn],
      }),
    );
    // A retried run would spend more of the app's NHS rate limit and more jtis for nothing.
    this.function.configureAsyncInvoke({ retryAttempts: 0 });
    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the ${props.environment} client-auth canary`,
      schedule: Schedule.rate(props.every),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });

    this.createAlarms();
    this.widgets = props.keys.publishedKeys.map((key, i) => this.widget(key, props.slots[i] ?? String(i)));
  }

  /** A canary metric of one key, summed over one schedule period. */
  metric(name: keyof typeof CANARY_METRICS, key: Key): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: CANARY_METRICS[name],
      // Exactly the dimension set the canary writes (service, environment, key).
      dimensionsMap: {
        service: SERVICE_NAME,
        environment: this.props.environment,
        [CANARY_KEY_DIMENSION]: key.keyArn,
      },
      statistic: 'Sum',
      period: this.props.every,
    });
  }

  /** `kms:Sign` with RS512 only on every published key, in the key policy and the role's policy. */
  private grantSignWithEveryKey(): void {
    const sign = {
      actions: ['kms:Sign'],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
    };
    for (const key of this.props.keys.publishedKeys) {
      // The key policy must name the role: it delegates no kms:Sign to IAM (signing-keys.ts).
      key.addToResourcePolicy(new PolicyStatement({ ...sign, principals: [this.role], resources: ['*'] }));
      this.role.addToPrincipalPolicy(new PolicyStatement({ ...sign, resources: [key.keyArn] }));
    }
  }

  private createAlarms(): void {
    const signing = this.props.keys.signingKey;
    const { observability } = this.props;
    this.alarms.push(
      observability.addAlarm(
        'SigningKeyRefused',
        this.metric('refused', signing),
        1,
        'NHS refuses the client assertion of the signing key: every token exchange fails',
        { evaluationPeriods: 1 },
      ),
      // No acceptance for two runs: refused, or the canary itself cannot reach a verdict.
      observability.addAlarm(
        'SigningKeyUnconfirmed',
        this.metric('accepted', signing),
        1,
        'No probe has shown NHS accepting the signing key for two canary runs',
        {
          evaluationPeriods: 2,
          comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.BREACHING,
        },
      ),
    );
  }

  private widget(key: Key, slot: string): IWidget {
    const signing = key === this.props.keys.signingKey ? ' (signing)' : '';
    return new GraphWidget({
      title: `Does NHS accept key ${slot}${signing}?`,
      left: [this.metric('accepted', key), this.metric('refused', key), this.metric('probeFailed', key)],
      width: 8,
      height: 6,
    });
  }
}
