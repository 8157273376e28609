/**
 * The Cis2TokenProxy construct as another team's CDK app uses it: grantInvoke's resource-policy and
 * identity-policy statements for callers in the same and in another account, synthesis in a fresh
 * app under cdk-nag and cfn-guard, and the stack wrapper keeping the logical ids of what is deployed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, type Environment, PhysicalName, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  AccountRootPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { addNagChecks, Cis2TokenProxy, type DeployConfig, parseDeployConfig } from '../../lib/index.js';
import { buildStack, createStack, environmentSettings, logicalId } from './helpers.js';

const OTHER_ACCOUNT = '210987654321';
const OTHER_ROLE = `arn:aws:iam::${OTHER_ACCOUNT}:role/ers-backend`;
const PROXY_ACCOUNT = '123456789012';
const WARNING = 'cis2-token-proxy:grantInvoke-no-identity-policy';

type Statement = { Sid?: string; Effect: string; Principal?: { AWS: unknown }; Condition?: object } & Record<
  string,
  unknown
>;

/**
 * Another team's app: a plain App (none of this project's cdk.json feature flags or environments)
 * with the proxy in one of its own stacks; bundling skipped for speed.
 */
function teamApp(env?: Environment, change: Partial<DeployConfig> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'TeamStack', { env });
  const config = { ...parseDeployConfig('int', environmentSettings('int')), ...change };
  const proxy = new Cis2TokenProxy(stack, 'TokenProxy', config);
  return { app, stack, proxy };
}

/** A role of the team's own stack that a service of theirs runs as. */
function callerRole(stack: Stack, id = 'Caller') {
  return new Role(stack, id, { assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com') });
}

function resourcePolicy(template: Template, proxy: Cis2TokenProxy): Statement[] {
  const id = logicalId(proxy.internalApi.api);
  return template.toJSON().Resources[id].Properties.Policy.Statement;
}

/** The statements of every AWS::IAM::Policy that allows execute-api:Invoke, with the roles it is attached to. */
function invokePolicies(template: Template): { roles: unknown; statements: Statement[] }[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .map((p) => ({
      roles: p.Properties.Roles,
      statements: (p.Properties.PolicyDocument.Statement as Statement[]).filter(
        (s) => s.Action === 'execute-api:Invoke',
      ),
    }))
    .filter((p) => p.statements.length > 0);
}

/** `arn:<partition>:execute-api:<region>:<account>:<api>/v1/POST/token` in an environment-agnostic stack. */
const tokenMethodArn = (apiId: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':execute-api:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':',
      { Ref: apiId },
      '/v1/POST/token',
    ],
  ],
});

function warnings(stack: Stack) {
  return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('grantInvoke'));
}

describe('Cis2TokenProxy.grantInvoke', () => {
  it('same account: resource policy Allow and Deny exemption by role ARN, and an identity policy on POST /token', () => {
    // Prepare
    const { stack, proxy } = teamApp();
    const role = callerRole(stack);
    // Act
    const grant = proxy.grantInvoke(role);
    // Assess
    const template = Template.fromStack(stack);
    const roleArn = { 'Fn::GetAtt': [logicalId(role), 'Arn'] };
    const [allow, deny] = resourcePolicy(template, proxy);
    expect(allow).toMatchObject({
      Sid: 'AllowConfiguredPrincipals',
      Effect: 'Allow',
      Resource: 'execute-api:/*',
    });
    expect(allow!.Principal!.AWS).toContainEqual(roleArn);
    expect(deny).toMatchObject({
      Sid: 'DenyOtherPrincipals',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [roleArn] } },
    });
    expect(invokePolicies(template)).toEqual([
      {
        roles: [{ Ref: logicalId(role) }],
        statements: [
          {
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Resource: tokenMethodArn(logicalId(proxy.internalApi.api)),
          },
        ],
      },
    ]);
    expect(grant.principalStatement).toBeDefined();
    expect(warnings(stack)).toEqual([]);
  });

  it('keeps the cdk.json principals beside the granted ones (one Allow, one Deny with both exemptions)', () => {
    const { stack, proxy } = teamApp(); // int's allowedPrincipals: ["this-account"]
    const role = callerRole(stack);
    proxy.grantInvoke(role);
    const [allow, deny, ...rest] = resourcePolicy(Template.fromStack(stack), proxy);
    const roleArn = { 'Fn::GetAtt': [logicalId(role), 'Arn'] };
    expect(allow!.Principal!.AWS).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] },
      roleArn,
    ]);
    expect(deny!.Condition).toEqual({
      ArnNotLike: { 'aws:PrincipalArn': [roleArn] },
      StringNotEquals: { 'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }] },
    });
    expect(rest).toEqual([]);
  });

  it('admits a principal once, however often it is granted or also listed in the settings', () => {
    const { stack, proxy } = teamApp(undefined, { allowedPrincipals: [OTHER_ROLE] });
    const role = callerRole(stack);
    proxy.grantInvoke(role);
    proxy.grantInvoke(role);
    proxy.grantInvoke(new ArnPrincipal(OTHER_ROLE));
    const [allow, deny] = resourcePolicy(Template.fromStack(stack), proxy);
    const roleArn = { 'Fn::GetAtt': [logicalId(role), 'Arn'] };
    expect(allow!.Principal!.AWS).toEqual([OTHER_ROLE, roleArn]);
    expect(deny!.Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': [OTHER_ROLE, roleArn] } });
  });

  it('same account, imported role: the identity policy is attached to the role by name', () => {
    const { stack, proxy } = teamApp({ account: PROXY_ACCOUNT, region: 'eu-west-2' });
    const role = Role.fromRoleArn(stack, 'Imported', `arn:aws:iam::${PROXY_ACCOUNT}:role/ers-backend`);
    const grant = proxy.grantInvoke(role);
    const template = Template.fromStack(stack);
    const [policy] = invokePolicies(template);
    expect(policy?.roles).toEqual(['ers-backend']);
    expect(policy?.statements[0]?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          `:execute-api:eu-west-2:${PROXY_ACCOUNT}:`,
          { Ref: logicalId(proxy.internalApi.api) },
          '/v1/POST/token',
        ],
      ],
    });
    expect(grant.principalStatement).toBeDefined();
    expect(warnings(stack)).toEqual([]);
  });

  describe('another account', () => {
    it('imported role, environment-agnostic stack: resource policy only, no policy on a same-named local role, a warning', () => {
      // Prepare: in an environment-agnostic stack CDK treats this import as mutable, so a plain
      // CDK grant would attach an AWS::IAM::Policy to "ers-backend" in the deploying account.
      const { stack, proxy } = teamApp();
      const role = Role.fromRoleArn(stack, 'OtherAccountRole', OTHER_ROLE);
      const naive = Role.fromRoleArn(new Stack(new App(), 'Naive'), 'R', OTHER_ROLE);
      expect(naive.addToPrincipalPolicy(new PolicyStatement({ actions: ['x:Y'], resources: ['*'] }))).toEqual(
        expect.objectContaining({ statementAdded: true }),
      );
      // Act
      const grant = proxy.grantInvoke(role);
      // Assess
      const template = Template.fromStack(stack);
      const [allow, deny] = resourcePolicy(template, proxy);
      expect(allow!.Principal!.AWS).toContain(OTHER_ROLE);
      expect(deny!.Condition).toMatchObject({ ArnNotLike: { 'aws:PrincipalArn': [OTHER_ROLE] } });
      expect(invokePolicies(template)).toEqual([]);
      expect(template.findResources('AWS::IAM::Policy', { Properties: { Roles: ['ers-backend'] } })).toEqual(
        {},
      );
      expect(grant.principalStatement).toBeUndefined();
      expect(warnings(stack)).toHaveLength(1);
      expect(warnings(stack)[0]!.entry.data).toContain('another account');
      expect(warnings(stack)[0]!.entry.data).toContain(`[ack: ${WARNING}]`);
    });

    it('imported role, stack with an account: resource policy only, and a warning', () => {
      const { stack, proxy } = teamApp({ account: PROXY_ACCOUNT, region: 'eu-west-2' });
      const grant = proxy.grantInvoke(Role.fromRoleArn(stack, 'OtherAccountRole', OTHER_ROLE));
      const template = Template.fromStack(stack);
      expect(resourcePolicy(template, proxy)[0]!.Principal!.AWS).toContain(OTHER_ROLE);
      expect(invokePolicies(template)).toEqual([]);
      expect(grant.principalStatement).toBeUndefined();
      expect(warnings(stack)).toHaveLength(1);
    });

    it("role of another account's stack in the same app: its ARN in the resource policy, no identity policy", () => {
      const { app, stack, proxy } = teamApp({ account: PROXY_ACCOUNT, region: 'eu-west-2' });
      const other = new Stack(app, 'CallerStack', { env: { account: OTHER_ACCOUNT, region: 'eu-west-2' } });
      // A cross-account reference needs a name CloudFormation does not generate at deploy time.
      const role = new Role(other, 'Caller', {
        assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
        roleName: PhysicalName.GENERATE_IF_NEEDED,
      });
      proxy.grantInvoke(role);
      const [allow] = resourcePolicy(Template.fromStack(stack), proxy);
      expect(JSON.stringify(allow!.Principal!.AWS)).toContain(`:iam::${OTHER_ACCOUNT}:role/`);
      expect(invokePolicies(Template.fromStack(other))).toEqual([]);
      expect(warnings(stack)).toHaveLength(1);
    });
  });

  it('redeploys the API when a grant changes the resource policy (API Gateway enforces it only after a deployment)', () => {
    const deploymentIds = (grant: boolean) => {
      const { stack, proxy } = teamApp();
      if (grant) proxy.grantInvoke(callerRole(stack));
      const apiId = logicalId(proxy.internalApi.api);
      return Object.keys(
        Template.fromStack(stack).findResources('AWS::ApiGateway::Deployment', {
          Properties: { RestApiId: { Ref: apiId } },
        }),
      );
    };
    const [before] = deploymentIds(false);
    const [after] = deploymentIds(true);
    expect(before).toBeDefined();
    expect(after).not.toEqual(before);
  });

  it('refuses principals that cannot sign, everyone, and (prod) whole accounts', () => {
    const { proxy } = teamApp();
    expect(() => proxy.grantInvoke(new ServicePrincipal('lambda.amazonaws.com'))).toThrow(
      'only IAM roles, users and accounts',
    );
    expect(() => proxy.grantInvoke(new AnyPrincipal())).toThrow('"*" would admit everyone');
    expect(() =>
      proxy.grantInvoke(
        new ArnPrincipal(OTHER_ROLE).withConditions({ Bool: { 'aws:SecureTransport': 'true' } }),
      ),
    ).toThrow('conditions');

    const { stack: prod } = buildStack('prod');
    expect(() => prod.grantInvoke(new AccountRootPrincipal())).toThrow(
      'prod admits roles, not whole accounts',
    );
    expect(() => prod.grantInvoke(new ArnPrincipal(`arn:aws:iam::${OTHER_ACCOUNT}:root`))).toThrow(
      'prod admits roles',
    );
  });

  it('admits only the granted roles when the settings list no principal', () => {
    const { stack, proxy } = teamApp(undefined, { allowedPrincipals: [] });
    const role = callerRole(stack);
    proxy.grantInvoke(role);
    const [allow, deny] = resourcePolicy(Template.fromStack(stack), proxy);
    const roleArn = { 'Fn::GetAtt': [logicalId(role), 'Arn'] };
    expect(allow!.Principal).toEqual({ AWS: roleArn });
    expect(deny!.Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': [roleArn] } });
  });

  it('fails synth when nobody may call the API', () => {
    const { app } = teamApp(undefined, { allowedPrincipals: [] });
    expect(() => app.synth()).toThrow('No principal may call the internal API');
  });
});

describe("Cis2TokenProxy in another team's app", () => {
  it('synthesizes in a fresh App and Stack with cdk-nag and cfn-guard clean', () => {
    // Prepare
    const { app, stack, proxy } = teamApp();
    proxy.grantInvoke(callerRole(stack));
    addNagChecks(app);
    // Act: with NODE_ENV=test the core throws on an unacknowledged cdk-nag error.
    const assembly = app.synth();
    // Assess: cfn-guard's findings are in the validation report (the CLI fails synth on them).
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
    const guardErrors = report.pluginReports
      .filter((r: { pluginName: string }) => r.pluginName === 'cdk-validator-cfnguard')
      .flatMap((r: { violations: { severity: string }[] }) => r.violations)
      .filter((v: { severity: string }) => v.severity === 'error');
    expect(guardErrors).toEqual([]);
    const template = assembly.getStackByName('TeamStack').template;
    expect(Object.keys(template.Resources).some((id) => id.startsWith('TokenProxyInternalApi'))).toBe(true);
  });
});

describe('TokenProxyStack', () => {
  it('keeps the logical ids its keys, secret, table and APIs had before the construct existed', () => {
    // A changed id replaces the resource: a new signing key (NHS no longer finds the kid), a new
    // secret without the operator's values, a new API URL (callers and NHS's JWKS URL break).
    const { template } = buildStack('prod');
    const ids = Object.keys(template.toJSON().Resources);
    expect(ids).toEqual(
      expect.arrayContaining([
        'SigningKeysKeyaECD4E595',
        'PlatformCredentialsF681F147',
        'CacheTable0A35CF55',
        'InternalApiF003DEA1',
        'PublicJwksApi82B7954C',
        'ObservabilityTopicKey41264573',
      ]),
    );
  });

  it('grantInvoke on the stack goes to the construct', () => {
    const { template: before } = buildStack('int');
    const { stack } = createStack('int');
    const role = callerRole(stack);
    stack.grantInvoke(role);
    const after = Template.fromStack(stack);
    expect(resourcePolicy(after, stack.proxy)[0]!.Principal!.AWS).toContainEqual({
      'Fn::GetAtt': [logicalId(role), 'Arn'],
    });
    expect(invokePolicies(before)).toEqual([]);
    expect(invokePolicies(after)).toHaveLength(1);
  });
});
