/**
 * What another CDK app uses: the {@link Cis2TokenProxy} construct (place it in one of your stacks and
 * let callers in with `grantInvoke`), the settings it takes and their validation, the stand-alone
 * {@link TokenProxyStack}, and the cdk-nag and cfn-guard checks this project synthesizes clean under.
 */
export { Cis2TokenProxy, type Cis2TokenProxyProps } from './cis2-token-proxy.js';
export {
  type AlarmThresholds,
  type DeployConfig,
  DeployConfigError,
  type LogLevel,
  parseDeployConfig,
  THIS_ACCOUNT,
} from './config.js';
export { addNagChecks } from './nag.js';
export { TokenProxyStack, type TokenProxyStackProps } from './token-proxy-stack.js';
