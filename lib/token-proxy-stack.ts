/**
 * One deployment of the proxy for one environment: the {@link Cis2TokenProxy} construct in a stack of
 * its own, with the stack outputs operators read after a deploy.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { Cis2TokenProxy } from './cis2-token-proxy.js';
import type { DeployConfig } from './config.js';

export { SECRET_PLACEHOLDER, TOKEN_FUNCTION_TIMEOUT } from './cis2-token-proxy.js';

/** Properties of {@link TokenProxyStack}. */
export interface TokenProxyStackProps extends StackProps {
  readonly config: DeployConfig;
}

/**
 * The construct's id in the stack. `Default` is left out of logical ids, so the resources keep the
 * logical ids they had when the stack created them itself, and a deployed stack updates in place
 * instead of replacing its keys, secret and table ("Logical ID path component heuristics",
 * https://docs.aws.amazon.com/cdk/v2/guide/identifiers.html).
 */
const PROXY_ID = 'Default';

/** The whole proxy for one environment; deploy with `npx cdk deploy -c env=<name>`. */
export class TokenProxyStack extends Stack {
  readonly proxy: Cis2TokenProxy;

  constructor(scope: Construct, id: string, props: TokenProxyStackProps) {
    super(scope, id, props);
    this.proxy = new Cis2TokenProxy(this, PROXY_ID, props.config);
    const proxy = this.proxy;

    const outputs: Record<string, [string, string]> = {
      TokenUrl: [proxy.tokenUrl, 'POST CIS2 ID tokens here (SigV4, execute-api)'],
      SecretArn: [proxy.secret.secretArn, 'Set {api_key, client_secret} here'],
      SigningKeyArn: [proxy.keys.signingKey.keyArn, 'KMS key currently signing client assertions'],
      TokenLogGroup: [proxy.tokenFunction.logGroup.logGroupName, 'Logs Insights: token_request lines'],
      AlarmTopicArn: [proxy.observability.topic.topicArn, 'Subscribe on-call here'],
      PublishedKeyArns: [proxy.publishedKeyArns, 'KMS keys in the JWKS (PUBLISHED_KEY_IDS)'],
      ...(proxy.canary && {
        CanaryFunctionName: [
          proxy.canary.function.functionName,
          'Invoke for the client-auth verdicts (docs/probe.md)',
        ],
      }),
    };
    for (const [key, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, key, { value, description });
    }
  }

  /** See {@link Cis2TokenProxy.grantInvoke}. */
  grantInvoke(grantee: IGrantable): Grant {
    return this.proxy.grantInvoke(grantee);
  }

  // The construct's parts, as the stack exposed them before the construct existed (tests, lib/nag.ts).
  get config() {
    return this.proxy.config;
  }
  get keys() {
    return this.proxy.keys;
  }
  get secret() {
    return this.proxy.secret;
  }
  get cache() {
    return this.proxy.cache;
  }
  get tokenFunction() {
    return this.proxy.tokenFunction;
  }
  get internalApi() {
    return this.proxy.internalApi;
  }
  get publicJwks() {
    return this.proxy.publicJwks;
  }
  get observability() {
    return this.proxy.observability;
  }
  get apiGatewayAccount() {
    return this.proxy.apiGatewayAccount;
  }
  get keyAudit() {
    return this.proxy.keyAudit;
  }
  /** Absent when `canaryMinutes` is 0. */
  get canary() {
    return this.proxy.canary;
  }
}
