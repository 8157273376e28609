/**
 * What both APIs share, on the synthesized templates: TLS 1.2 minimum, execution log groups owned by
 * the stack, the access log's join keys, the account-level logging role, and the timeouts the
 * runtime's request budget must fit in.
 */
import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT, API_SECURITY_POLICY, STAGE_NAME } from '../../lib/api-stage.js';
import { INTEGRATION_TIMEOUT } from '../../lib/internal-api.js';
import { JWKS_REQUESTS_PER_IP, RATE_WINDOW_SECONDS } from '../../lib/public-jwks.js';
import { TOKEN_FUNCTION_TIMEOUT } from '../../lib/token-proxy-stack.js';
import { buildStack, environmentSettings, logicalId } from './helpers.js';

describe.each(['internal-dev', 'int', 'prod'])('%s APIs', (env) => {
  const { stack, template } = buildStack(env);
  const resources = template.toJSON().Resources;
  const apis = [stack.internalApi.api, stack.publicJwks.api];

  it('refuse TLS 1.0 on both default endpoints (enhanced policy, STRICT access mode)', () => {
    expect(API_SECURITY_POLICY).toBe('SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09');
    for (const api of apis) {
      expect(resources[logicalId(api)].Properties).toMatchObject({
        SecurityPolicy: API_SECURITY_POLICY,
        EndpointAccessMode: 'STRICT',
      });
    }
  });

  it('create each execution log group with retention before the stage can write to it', () => {
    const retention = environmentSettings(env).logRetentionDays;
    for (const api of apis) {
      const apiId = logicalId(api);
      const [id, logGroup] = Object.entries(template.findResources('AWS::Logs::LogGroup')).find(([, r]) =>
        JSON.stringify(r.Properties.LogGroupName ?? '').includes(apiId),
      )!;
      expect(logGroup.Properties).toMatchObject({
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, `/${STAGE_NAME}`]] },
        RetentionInDays: retention,
      });
      expect(resources[logicalId(api.deploymentStage)].DependsOn).toContain(id);
    }
  });

  it('set the account-level API Gateway logging role, before either stage, and retain it', () => {
    const account = stack.apiGatewayAccount!;
    expect(account).toBeDefined();
    const accountId = stack.getLogicalId(account.account);
    expect(resources[accountId].Properties.CloudWatchRoleArn).toEqual({
      'Fn::GetAtt': [logicalId(account.role), 'Arn'],
    });
    expect(resources[logicalId(account.role)].DeletionPolicy).toBe('Retain');
    for (const api of apis) expect(resources[logicalId(api.deploymentStage)].DependsOn).toContain(accountId);
  });
});

describe('API details', () => {
  const { stack, template } = buildStack('int');
  const resources = template.toJSON().Resources;

  it('a PRIVATE internal API keeps the TLS policy with BASIC access mode', () => {
    const { stack: s, template: t } = buildStack('int', {
      ...environmentSettings('int'),
      privateEndpoint: { vpcEndpointIds: ['vpce-0123456789abcdef0'] },
    });
    expect(t.toJSON().Resources[logicalId(s.internalApi.api)].Properties).toMatchObject({
      SecurityPolicy: API_SECURITY_POLICY,
      EndpointAccessMode: 'BASIC',
    });
  });

  it('leaves the account-level role alone when the environment says someone else manages it', () => {
    const { stack: s, template: t } = buildStack('int', {
      ...environmentSettings('int'),
      apiGatewayAccountRole: false,
    });
    expect(s.apiGatewayAccount).toBeUndefined();
    expect(Object.keys(t.findResources('AWS::ApiGateway::Account'))).toEqual([]);
  });

  it('access log lines carry the join keys: request ids and the caller identity', () => {
    const format = JSON.parse(ACCESS_LOG_FORMAT.toString());
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      extendedRequestId: '$context.extendedRequestId',
      integrationRequestId: '$context.integration.requestId',
      userArn: '$context.identity.userArn',
      caller: '$context.identity.caller',
      accountId: '$context.identity.accountId',
    });
    for (const api of [stack.internalApi.api, stack.publicJwks.api]) {
      const stage = resources[logicalId(api.deploymentStage)].Properties;
      expect(JSON.parse(stage.AccessLogSetting.Format)).toEqual(format);
    }
  });

  it('the token function times out before API Gateway gives up on it', () => {
    expect(INTEGRATION_TIMEOUT.toSeconds()).toBe(29);
    expect(TOKEN_FUNCTION_TIMEOUT.toSeconds()).toBe(25);
    expect(resources[logicalId(stack.tokenFunction.function)].Properties.Timeout).toBe(25);
    const post = Object.values(template.findResources('AWS::ApiGateway::Method')).find(
      (m) => m.Properties.HttpMethod === 'POST',
    )!;
    expect(post.Properties.Integration.TimeoutInMillis).toBe(29_000);
  });

  it('the public JWKS sits behind a WAF rate-based rule per client IP', () => {
    const aclId = stack.getLogicalId(stack.publicJwks.webAcl);
    const acl = resources[aclId].Properties;
    expect(acl).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    expect(acl.Rules).toEqual([
      expect.objectContaining({
        Action: { Block: {} },
        Statement: {
          RateBasedStatement: {
            AggregateKeyType: 'IP',
            Limit: JWKS_REQUESTS_PER_IP,
            EvaluationWindowSec: RATE_WINDOW_SECONDS,
          },
        },
      }),
    ]);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: { 'Fn::GetAtt': [aclId, 'Arn'] },
      ResourceArn: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':apigateway:',
            { Ref: 'AWS::Region' },
            '::/restapis/',
            { Ref: logicalId(stack.publicJwks.api) },
            '/stages/',
            { Ref: logicalId(stack.publicJwks.api.deploymentStage) },
          ],
        ],
      },
    });
  });

  it('the dashboard shows what the per-IP rule blocked, with the dimensions the web ACL reports', () => {
    const acl = resources[stack.getLogicalId(stack.publicJwks.webAcl)].Properties;
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    // Dimensions render sorted by name; Region is the stack's region reference.
    const q = (parts: string[]) => parts.map((p) => `\\"${p}\\"`).join(',');
    expect(body).toContain(q(['AWS/WAFV2', 'BlockedRequests', 'Region']));
    expect(body).toContain(
      q(['Rule', acl.Rules[0].VisibilityConfig.MetricName, 'WebACL', acl.VisibilityConfig.MetricName]),
    );
  });

  it('the JWKS alarm fires on any 5XX of the JWKS API within one period', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Cis2TokenProxy-int-JwksErrors',
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Dimensions: [{ Name: 'ApiName', Value: 'cis2-token-proxy-int-jwks' }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});
