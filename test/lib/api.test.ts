import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStack, environmentSettings, logicalId, logicalIds } from './helpers.js';

const ACCOUNT_ROOT = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
};
const invoke = { Action: 'execute-api:Invoke', Resource: 'execute-api:/*' };

describe('internal API', () => {
  const { stack, template } = buildStack('int');
  const apiId = logicalId(stack.internalApi.api);
  const methods = Object.values(
    template.findResources('AWS::ApiGateway::Method', { Properties: { RestApiId: { Ref: apiId } } }),
  );

  it('exposes POST /token and GET /health, both AWS_IAM', () => {
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'POST']);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('validates the POST /token body against a model requiring a subject_token string', () => {
    const post = methods.find((m) => m.Properties.HttpMethod === 'POST')!;
    const validator = post.Properties.RequestValidatorId.Ref;
    const model = post.Properties.RequestModels['application/json'].Ref;
    expect(post.Properties.RequestModels.$default).toEqual({ Ref: model });
    const resources = template.toJSON().Resources;
    expect(resources[validator].Properties).toMatchObject({
      ValidateRequestBody: true,
      RestApiId: { Ref: apiId },
    });
    expect(resources[model].Properties.Schema).toMatchObject({
      type: 'object',
      required: ['subject_token'],
      properties: { subject_token: { type: 'string', minLength: 1 } },
    });
  });

  it('answers an invalid body in the proxy error shape, naming subject_token, as valid JSON', () => {
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    const badBody = responses.find((r) => r.Properties.ResponseType === 'BAD_REQUEST_BODY');
    expect(badBody?.Properties.StatusCode).toBe('400');
    const body = JSON.parse(badBody?.Properties.ResponseTemplates['application/json']);
    expect(body).toEqual({
      error: 'invalid_request',
      error_description: expect.stringContaining('subject_token'),
      correlation_id: '$context.requestId',
    });
  });

  it('logs access as JSON and execution errors without bodies, with metrics and tracing', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: { Ref: apiId },
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
      MethodSettings: [
        Match.objectLike({
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 50,
        }),
      ],
    });
    const stage = Object.values(
      template.findResources('AWS::ApiGateway::Stage', { Properties: { RestApiId: { Ref: apiId } } }),
    )[0]!;
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({ userArn: '$context.identity.userArn', status: '$context.status' });
  });

  it('is REGIONAL with a resource policy allowing only the configured principals', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'cis2-token-proxy-int',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      Policy: {
        Statement: [
          { Sid: 'AllowConfiguredPrincipals', Effect: 'Allow', Principal: { AWS: ACCOUNT_ROOT }, ...invoke },
          {
            Sid: 'DenyOtherPrincipals',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Condition: { StringNotEquals: { 'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }] } },
            ...invoke,
          },
        ],
      },
    });
  });

  it('PRIVATE option: private endpoint, named roles and accounts only, and only through the VPC endpoints', () => {
    const role = 'arn:aws:iam::123456789012:role/ers-client';
    const settings = {
      ...environmentSettings('int'),
      allowedPrincipals: [role, 'arn:aws:iam::210987654321:root'],
      privateEndpoint: { vpcEndpointIds: ['vpce-0123456789abcdef0'] },
    };
    const { template: t } = buildStack('int', settings);
    t.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'cis2-token-proxy-int',
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: ['vpce-0123456789abcdef0'] },
      Policy: {
        Statement: [
          {
            Sid: 'AllowConfiguredPrincipals',
            Effect: 'Allow',
            Principal: {
              AWS: [
                role,
                { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::210987654321:root']] },
              ],
            },
            ...invoke,
          },
          {
            Sid: 'DenyOtherPrincipals',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Condition: {
              ArnNotLike: { 'aws:PrincipalArn': [role] },
              StringNotEquals: { 'aws:PrincipalAccount': ['210987654321'] },
            },
            ...invoke,
          },
          {
            Sid: 'DenyOutsideVpcEndpoints',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Condition: { StringNotEquals: { 'aws:SourceVpce': ['vpce-0123456789abcdef0'] } },
            ...invoke,
          },
        ],
      },
    });
  });

  it('outputs the token URL', () => {
    template.hasOutput('TokenUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['/token'])] } });
  });
});

describe('public JWKS', () => {
  const { stack, template } = buildStack('int');
  const apiId = logicalId(stack.publicJwks.api);
  const jwksFunction = logicalId(stack.publicJwks.handler.function);

  it('is a separate REGIONAL API with only an anonymous GET /jwks.json to the JWKS function', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'cis2-token-proxy-int-jwks',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    const methods = Object.values(
      template.findResources('AWS::ApiGateway::Method', { Properties: { RestApiId: { Ref: apiId } } }),
    );
    expect(methods).toHaveLength(1);
    expect(methods[0]!.Properties).toMatchObject({
      HttpMethod: 'GET',
      AuthorizationType: 'NONE',
      Integration: { Type: 'AWS_PROXY' },
    });
    expect(methods[0]!.Properties.Integration.Uri['Fn::Join'][1]).toContainEqual({
      'Fn::GetAtt': [jwksFunction, 'Arn'],
    });
    const paths = Object.values(
      template.findResources('AWS::ApiGateway::Resource', { Properties: { RestApiId: { Ref: apiId } } }),
    );
    expect(paths.map((r) => r.Properties.PathPart)).toEqual(['jwks.json']);
  });

  it('is throttled and access-logged', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: { Ref: apiId },
      AccessLogSetting: Match.anyValue(),
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40, DataTraceEnabled: false }),
      ],
    });
  });

  it('the JWKS function gets no secret or table', () => {
    const env = template.toJSON().Resources[jwksFunction].Properties.Environment.Variables;
    expect(Object.keys(env).sort()).toEqual([
      'ENVIRONMENT',
      'NODE_OPTIONS',
      'POWERTOOLS_LOG_LEVEL',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
      'PUBLISHED_KEY_IDS',
      'SIGNING_KEY_ID',
    ]);
  });

  it('outputs the URL to register as jwks-resource-url', () => {
    template.hasOutput('JwksUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: apiId },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
            Match.anyValue(),
            '/jwks.json',
          ],
        ],
      },
    });
  });
});

describe('functions', () => {
  const { stack, template } = buildStack('prod', { ...environmentSettings('prod'), reservedConcurrency: 20 });
  const tokenFunction = logicalId(stack.tokenFunction.function);

  it('run Node.js 24 on ARM64 with their own log groups', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
    }
    expect(
      Object.values(functions)
        .map((f) => f.Properties.Handler)
        .sort(),
    ).toEqual(['index.handler', 'index.handler', 'index.jwksHandler']);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 400 });
    // Per function (token, JWKS, canary), per API access logs, per API execution logs.
    expect(logicalIds(template, 'AWS::Logs::LogGroup')).toHaveLength(7);
  });

  it('token function: 512 MB, 25 s (under API Gateway 29 s), reserved concurrency, full environment', () => {
    const props = template.toJSON().Resources[tokenFunction].Properties;
    expect(props).toMatchObject({ MemorySize: 512, Timeout: 25, ReservedConcurrentExecutions: 20 });
    expect(props.Environment.Variables).toMatchObject({
      ENVIRONMENT: 'prod',
      SECRET_ID: { Ref: logicalId(stack.secret) },
      CACHE_TABLE: { Ref: logicalId(stack.cache!.table) },
      POWERTOOLS_SERVICE_NAME: 'cis2-token-proxy',
      POWERTOOLS_METRICS_NAMESPACE: 'Cis2TokenProxy',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('the secret is created with placeholders only', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: JSON.stringify({ api_key: 'REPLACE_ME', client_secret: 'REPLACE_ME' }),
    });
  });
});
