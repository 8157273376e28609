/**
 * Builds the stack the way `bin/app.ts` does, with the real cdk.json context (feature flags and
 * environments), but without esbuild bundling or the built-in CloudFormation validation, for speed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { loadDeployConfig, stackName } from '../../lib/config.js';
import { addNagChecks } from '../../lib/nag.js';
import { TokenProxyStack } from '../../lib/token-proxy-stack.js';

const CDK_JSON = path.join(import.meta.dirname, '..', '..', 'cdk.json');

/** The `context` block of cdk.json, as the CLI passes it to the app. */
export const cdkContext: Record<string, unknown> = JSON.parse(readFileSync(CDK_JSON, 'utf8')).context;

/** The raw settings of one environment in cdk.json. */
export function environmentSettings(name: string): Record<string, unknown> {
  return structuredClone((cdkContext.environments as Record<string, Record<string, unknown>>)[name]!);
}

/** A test app with the cdk.json context plus `extra`; bundling is skipped. */
export function testApp(extra: Record<string, unknown> = {}): App {
  return new App({
    context: { ...cdkContext, 'aws:cdk:bundling-stacks': [], ...extra },
    builtinCloudFormationValidation: false,
  });
}

/**
 * Creates the stack of environment `env` as `bin/app.ts` does; `settings` replaces that environment's
 * cdk.json settings.
 *
 * @param options.nag - register the cdk-nag plugin (then `app.synth()` throws on unacknowledged errors).
 * @param options.mutate - changes the stack before synthesis (for negative controls).
 */
export function createStack(
  env = 'int',
  settings?: Record<string, unknown>,
  options: { nag?: boolean; mutate?: (stack: TokenProxyStack) => void } = {},
): { app: App; stack: TokenProxyStack } {
  const environments = settings ? { ...(cdkContext.environments as object), [env]: settings } : undefined;
  const app = testApp({ env, ...(environments ? { environments } : {}) });
  const config = loadDeployConfig(app.node);
  const stack = new TokenProxyStack(app, stackName(config), { config });
  options.mutate?.(stack);
  if (options.nag) addNagChecks(app);
  return { app, stack };
}

/** {@link createStack} without nag, plus the synthesized template. */
export function buildStack(
  env = 'int',
  settings?: Record<string, unknown>,
  options: { mutate?: (stack: TokenProxyStack) => void } = {},
): { stack: TokenProxyStack; template: Template } {
  const { stack } = createStack(env, settings, options);
  return { stack, template: Template.fromStack(stack) };
}

/** Logical ids of the resources of `type` whose id starts with `prefix`. */
export function logicalIds(template: Template, type: string, prefix = ''): string[] {
  return Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
}

/** Logical id of a construct's CloudFormation resource (its default child). */
export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}
