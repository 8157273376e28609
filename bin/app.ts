#!/usr/bin/env node
/**
 * CDK app entry: `npx cdk synth|deploy -c env=<name>` builds the stack of one environment from the
 * cdk.json context `environments.<name>`. Account and region come from the CLI's credentials.
 * `CDK_NAG=0` skips the cdk-nag and cfn-guard (Control Tower) checks for a faster local synth; CI and
 * deploys keep them on (lib/nag.ts).
 */
import { App } from 'aws-cdk-lib';
import { loadDeployConfig, stackName } from '../lib/config.js';
import { addNagChecks } from '../lib/nag.js';
import { TokenProxyStack } from '../lib/token-proxy-stack.js';

const app = new App();
const config = loadDeployConfig(app.node);
new TokenProxyStack(app, stackName(config), {
  config,
  description: `cis2-token-proxy (${config.name}): CIS2 ID token to NHS API platform access token exchange`,
});
if (process.env.CDK_NAG !== '0') addNagChecks(app);
