import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { createStack, environmentSettings } from './helpers.js';

// With NODE_ENV=test (vitest), app.synth() throws when a validation plugin reports an error.
describe('cdk-nag AwsSolutionsChecks', () => {
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
    expect(() => app.synth()).not.toThrow();
  });

  it('still reports a finding nobody acknowledged (negative control)', () => {
    const { app } = createStack('int', undefined, {
      nag: true,
      mutate: (stack) => new Topic(stack, 'Unencrypted'),
    });
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
  });
});
