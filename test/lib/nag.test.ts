import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { createStack, environmentSettings } from './helpers.js';

/**
 * The error-level cfn-guard findings left after acknowledgements, as `rule: construct path`. In an
 * in-memory synth (vitest) the core only throws for cdk-nag's findings; cfn-guard's land in the
 * validation report (the CLI fails `cdk synth` on them), so the tests read the report.
 */
function guardErrors(assemblyDir: string): string[] {
  const report = JSON.parse(readFileSync(path.join(assemblyDir, 'validation-report.json'), 'utf8'));
  return report.pluginReports
    .filter((r: { pluginName: string }) => r.pluginName === 'cdk-validator-cfnguard')
    .flatMap((r: { violations: Violation[] }) => r.violations)
    .filter((v: Violation) => v.severity === 'error')
    .flatMap((v: Violation) => v.violatingConstructs.map((c) => `${v.ruleName}: ${c.constructPath}`));
}

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}

// With NODE_ENV=test (vitest), app.synth() throws when cdk-nag reports an error.
describe('cdk-nag AwsSolutionsChecks and cfn-guard Control Tower rules', () => {
  const everything = {
    ...environmentSettings('prod'),
    keys: ['a', 'b'],
    signingKey: 'b',
    privateEndpoint: { vpcEndpointIds: ['vpce-0123456789abcdef0'] },
    apiGatewayAccountRole: true,
    alarmEmail: 'oncall@example.org',
    reservedConcurrency: 10,
  };

  it.each([
    ['internal-dev', undefined],
    ['int', undefined],
    ['prod', undefined],
    ['prod', everything],
  ])('%s synthesizes with no unacknowledged finding', (env, settings) => {
    const { app } = createStack(env, settings, { nag: true });
    expect(guardErrors(app.synth().directory)).toEqual([]);
  });

  it('still reports a finding nobody acknowledged (negative control)', () => {
    const { app } = createStack('int', undefined, {
      nag: true,
      mutate: (stack) => new Topic(stack, 'Unencrypted'),
    });
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
  });

  it('cfn-guard still reports a Control Tower finding nobody acknowledged (negative control)', () => {
    // Prod acknowledges no retention finding: its logs are kept 400 days.
    const { app } = createStack('prod', undefined, {
      nag: true,
      mutate: (stack) => new LogGroup(stack.proxy, 'ShortLived', { retention: RetentionDays.ONE_WEEK }),
    });
    expect(guardErrors(app.synth().directory)).toEqual([
      'cloudwatch_log_group_retention_period_check: Cis2TokenProxy-prod/Default/ShortLived/Resource',
    ]);
  });

  it('acknowledges only inside the proxy construct, not for the rest of the stack', () => {
    // The encryption acknowledgement covers the proxy's log groups; one beside it is still reported.
    const { app } = createStack('int', undefined, {
      nag: true,
      mutate: (stack) => new LogGroup(stack, 'Beside', { retention: RetentionDays.ONE_YEAR }),
    });
    expect(guardErrors(app.synth().directory)).toEqual([
      'cloudwatch_log_group_encrypted_check: Cis2TokenProxy-int/Beside/Resource',
    ]);
  });
});
