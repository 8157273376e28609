import { describe, expect, it } from 'vitest';
import { DeployConfigError, loadDeployConfig, parseDeployConfig, stackName } from '../../lib/config.js';
import { buildStack, environmentSettings, testApp } from './helpers.js';

const load = (extra: Record<string, unknown>) => () => loadDeployConfig(testApp(extra).node);

describe('deploy config', () => {
  it.each(['internal-dev', 'int', 'prod'])('loads %s from cdk.json', (env) => {
    const config = loadDeployConfig(testApp({ env }).node);
    expect(config.name).toBe(env);
    expect(config.keys).toContain(config.signingKey);
    expect(stackName(config)).toBe(`Cis2TokenProxy-${env}`);
  });

  it('names the stack after the environment', () => {
    expect(buildStack('prod').stack.stackName).toBe('Cis2TokenProxy-prod');
  });

  it('rejects a missing -c env and lists the known environments', () => {
    expect(load({})).toThrow(DeployConfigError);
    expect(load({})).toThrow('No environment selected: pass -c env=<name>, one of: int, internal-dev, prod.');
  });

  it('rejects an unknown environment and lists the known ones', () => {
    expect(load({ env: 'staging' })).toThrow(
      'Unknown environment "staging". Known environments: int, internal-dev, prod.',
    );
  });

  it('rejects an environment in cdk.json that the runtime has no profile for', () => {
    const staging = { environments: { staging: environmentSettings('int') }, env: 'staging' };
    expect(load(staging)).toThrow(
      'Environment "staging" is not one the runtime knows (internal-dev, int, prod)',
    );
  });

  it('rejects a missing environments block', () => {
    expect(load({ env: 'int', environments: {} })).toThrow(
      'cdk.json context "environments" is missing or empty.',
    );
  });

  it('names every missing or invalid field', () => {
    const { sharedCache: _, ...settings } = environmentSettings('int');
    const bad = {
      ...settings,
      logRetentionDays: 10,
      signingKey: 'z',
      allowedPrincipals: ['arn:aws:iam::*:role/x'],
    };
    let message = '';
    try {
      parseDeployConfig('int', bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('environments.int.sharedCache: required, true or false');
    expect(message).toContain('environments.int.logRetentionDays: required, one of 1, 3, 5');
    expect(message).toContain('environments.int.signingKey: "z" is not one of keys [a]');
    expect(message).toContain('"arn:aws:iam::*:role/x" is not an IAM role/user/root ARN');
  });

  it.each([
    ['alarms', { alarms: undefined }, 'environments.int.alarms: required'],
    ['alarm field', { alarms: { failureRatePercent: 5 } }, 'environments.int.alarms.p99LatencyMs: required'],
    [
      'evaluation periods',
      { alarms: { ...(environmentSettings('int').alarms as object), evaluationPeriods: 1.5 } },
      'alarms.evaluationPeriods: required, a positive whole number',
    ],
    ['typo', { sharedcache: true }, 'environments.int.sharedcache: unknown field'],
    ['duplicate slots', { keys: ['a', 'a'] }, 'environments.int.keys: slot names must be unique'],
    [
      'vpce ids',
      { privateEndpoint: { vpcEndpointIds: ['nope'] } },
      'privateEndpoint.vpcEndpointIds: required with privateEndpoint',
    ],
    ['e-mail', { alarmEmail: 'ops' }, 'environments.int.alarmEmail: an e-mail address'],
    ['log level', { logLevel: 'TRACE' }, 'environments.int.logLevel: one of DEBUG, INFO, WARN, ERROR'],
  ])('rejects a bad %s', (_, patch, expected) => {
    expect(() => parseDeployConfig('int', { ...environmentSettings('int'), ...patch })).toThrow(expected);
  });

  it('rejects an environment name unfit for resource names', () => {
    expect(() => parseDeployConfig('Prod_1', environmentSettings('prod'))).toThrow(
      'Environment name "Prod_1" is invalid',
    );
  });

  it('applies defaults to optional fields', () => {
    const { logLevel: _, ...settings } = environmentSettings('int');
    const config = parseDeployConfig('int', settings);
    expect(config).toMatchObject({
      logLevel: 'INFO',
      apiGatewayAccountRole: true,
      keyAdminRole: undefined,
      privateEndpoint: undefined,
    });
  });
});

describe('prod is safe by construction', () => {
  const prod = environmentSettings('prod');

  it.each([
    ['this-account', 'this-account'],
    ['an account root', 'arn:aws:iam::123456789012:root'],
  ])('refuses %s as a prod caller and says what to list instead', (_, principal) => {
    const parse = () => parseDeployConfig('prod', { ...prod, allowedPrincipals: [principal] });
    expect(parse).toThrow(DeployConfigError);
    expect(parse).toThrow(
      `environments.prod.allowedPrincipals: "${principal}" admits a whole account, which prod refuses: list the caller roles instead`,
    );
  });

  it('still accepts whole accounts outside prod', () => {
    expect(
      parseDeployConfig('int', { ...environmentSettings('int'), allowedPrincipals: ['this-account'] }),
    ).toMatchObject({ allowedPrincipals: ['this-account'] });
  });

  it('requires a key-admin role for prod', () => {
    const { keyAdminRole: _, ...withoutAdmin } = prod;
    expect(() => parseDeployConfig('prod', withoutAdmin)).toThrow(
      'environments.prod.keyAdminRole: required for prod',
    );
    expect(() =>
      parseDeployConfig('prod', { ...prod, keyAdminRole: 'arn:aws:iam::123456789012:root' }),
    ).toThrow('environments.prod.keyAdminRole: an IAM role ARN or "role/<name>"');
  });

  it('expands a "role/<name>" caller to a role of the deploying account in the resource policy', () => {
    const { stack, template } = buildStack('prod');
    const policy =
      template.toJSON().Resources[stack.getLogicalId(stack.internalApi.api.node.defaultChild as never)]
        .Properties.Policy.Statement;
    const arn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':iam::',
          { Ref: 'AWS::AccountId' },
          ':role/cis2-token-proxy-caller',
        ],
      ],
    };
    expect(policy[0]).toMatchObject({ Sid: 'AllowConfiguredPrincipals', Principal: { AWS: arn } });
    expect(policy[1]).toMatchObject({
      Sid: 'DenyOtherPrincipals',
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [arn] } },
    });
    expect(policy[1].Condition.StringNotEquals).toBeUndefined();
  });
});
