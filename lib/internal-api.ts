/**
 * The API callers use: `POST /token` and `GET /health`, both SigV4-signed (AWS_IAM), behind a resource
 * policy that admits only the configured and granted principals and, for a PRIVATE API, only the
 * configured VPC endpoints.
 */

import { Annotations, Duration, Lazy, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import {
  AuthorizationType,
  type CfnRestApi,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { InterfaceVpcEndpoint } from 'aws-cdk-lib/aws-ec2';
import {
  AccountPrincipal,
  AccountRootPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  Grant,
  type IGrantable,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createExecutionLogGroup, loggedStageOptions, requireModernTls, STAGE_NAME } from './api-stage.js';
import { PROD_ENVIRONMENT, roleArn, THIS_ACCOUNT } from './config.js';

/** Properties of {@link InternalApi}. */
export interface InternalApiProps {
  readonly environment: string;
  readonly handler: IFunction;
  /**
   * IAM ARNs, `role/<name>` or `this-account` (see DeployConfig.allowedPrincipals), admitted by the
   * resource policy alone; {@link InternalApi.grantInvoke} admits more.
   */
  readonly allowedPrincipals: readonly string[];
  /** When given, the API is PRIVATE and reachable only through these VPC endpoints. */
  readonly vpcEndpointIds?: readonly string[];
  readonly logRetention: RetentionDays;
}

/**
 * Caller-facing throttling. The NHS token endpoint allows 5 tps per app; cache hits cost nothing
 * upstream, so the API admits more and the runtime's cache absorbs the difference.
 */
const THROTTLE = { rateLimit: 50, burstLimit: 100 };

/**
 * API Gateway's wait for the token function: the REST API maximum. The function's own timeout is
 * shorter (see Cis2TokenProxy), so the caller gets the function's typed error, not a gateway 504.
 */
export const INTEGRATION_TIMEOUT = Duration.seconds(29);

/** The one action both policies allow: on the whole API in the resource policy, on POST /token in a grantee's. */
const INVOKE_ACTION = 'execute-api:Invoke';
const ROOT_ARN = /^arn:[^:]+:iam::(\d{12}):root$/;

/** Who the resource policy admits: the Allow's principals, and what exempts them from the Deny. */
interface Callers {
  readonly principals: IPrincipal[];
  /** Matched against `aws:PrincipalArn` (for a role session, the role's ARN). */
  readonly arns: string[];
  /** Matched against `aws:PrincipalAccount`. */
  readonly accounts: string[];
}

/** The internal REST API. */
export class InternalApi extends Construct {
  readonly api: RestApi;
  /** Principals the resource policy allows, and what exempts them from its explicit deny. */
  private readonly callers: Callers = { principals: [], arns: [], accounts: [] };
  private readonly environment: string;

  constructor(scope: Construct, id: string, props: InternalApiProps) {
    super(scope, id);
    this.environment = props.environment;
    const isPrivate = props.vpcEndpointIds !== undefined;
    this.api = new RestApi(this, 'Api', {
      restApiName: `cis2-token-proxy-${props.environment}`,
      description: `CIS2 ID token to NHS API platform access token exchange (${props.environment})`,
      endpointConfiguration: {
        types: [isPrivate ? EndpointType.PRIVATE : EndpointType.REGIONAL],
        vpcEndpoints: props.vpcEndpointIds?.map((vpcEndpointId) =>
          InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, vpcEndpointId, {
            vpcEndpointId,
            port: 443,
          }),
        ),
      },
      cloudWatchRole: false,
      deployOptions: loggedStageOptions(this, props.logRetention, THROTTLE),
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });
    // Rendered at synth time, so grantInvoke works after construction. The deployment's logical id
    // hashes the rendered RestApi, so a changed policy gets the new deployment API Gateway needs
    // before it enforces the change.
    (this.api.node.defaultChild as CfnRestApi).policy = Lazy.any({
      produce: () => resourcePolicy(this.callers, props.vpcEndpointIds),
    });
    for (const entry of props.allowedPrincipals) this.admit(configuredPrincipal(entry));
    this.node.addValidation({
      validate: () =>
        this.callers.principals.length > 0
          ? []
          : ['No principal may call the internal API: list allowedPrincipals or call grantInvoke.'],
    });
    requireModernTls(this.api, isPrivate);
    createExecutionLogGroup(this.api, props.logRetention);

    const integration = new LambdaIntegration(props.handler, {
      allowTestInvoke: false,
      timeout: INTEGRATION_TIMEOUT,
    });
    const tokenRequest = this.api.addModel('TokenRequest', {
      contentType: 'application/json',
      modelName: 'TokenRequest',
      schema: {
        schema: JsonSchemaVersion.DRAFT4,
        title: 'TokenRequest',
        type: JsonSchemaType.OBJECT,
        required: ['subject_token'],
        properties: { subject_token: { type: JsonSchemaType.STRING, minLength: 1 } },
      },
    });
    const bodyValidator = this.api.addRequestValidator('BodyValidator', {
      requestValidatorName: 'token-request-body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.api.root.addResource('token').addMethod('POST', integration, {
      requestValidator: bodyValidator,
      // `$default` too, so a body sent with another content type is still validated as JSON.
      requestModels: { 'application/json': tokenRequest, $default: tokenRequest },
    });
    this.api.root.addResource('health').addMethod('GET', integration);
    // API Gateway answers invalid bodies itself; answer in the proxy's own error shape, naming
    // the field, instead of its bare {"message": "Invalid request body"}.
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: { 'Content-Type': "'application/json'", 'Cache-Control': "'no-store'" },
      templates: {
        'application/json':
          // validationErrorString is left out: it contains unescaped quotes that would break the JSON.
          '{"error": "invalid_request", "error_description": "request body must be a JSON object with a non-empty string subject_token (the CIS2 ID token)", "correlation_id": "$context.requestId"}',
      },
    });
  }

  /**
   * Lets `grantee` call `POST /token`: adds it to the resource policy (the Allow, and an exemption from
   * the explicit Deny) and, where CDK can, an identity policy allowing `execute-api:Invoke` on
   * `POST /token` to the grantee itself.
   *
   * A role or user of the API's account needs only the resource policy; the identity policy is added
   * when the grantee is a role or user this app defines, or imports, in the API's account. A grantee
   * in another account also needs the identity policy (IAM evaluates both accounts), which CDK cannot
   * write into an account it does not deploy to: for such a grantee (an imported role whose account
   * differs, or may differ, from the API's, or a role of another account's stack) no identity policy
   * is added and synth warns; the other account must allow it itself (docs/calling.md). An imported
   * role of another account would otherwise be "mutable" in an environment-agnostic stack, and CDK
   * would attach the policy to a same-named role of the deploying account.
   *
   * @returns the identity-policy grant; its `principalStatement` is undefined when none was added.
   * @throws when the grantee is not an IAM principal (e.g. a service principal), is `*`, carries
   *   conditions, or (prod only) is a whole account.
   */
  grantInvoke(grantee: IGrantable): Grant {
    const principal = grantee.grantPrincipal;
    this.admit(principal);
    const account = principal.principalAccount;
    const comparison =
      account === undefined ? undefined : Token.compareStrings(account, Stack.of(this).account);
    // Both unresolved: the same pseudo-parameter or two parameters; CDK's own grants assume one account.
    const sameAccount = comparison === TokenComparison.SAME || comparison === TokenComparison.BOTH_UNRESOLVED;
    const grant = sameAccount
      ? Grant.addToPrincipal({
          grantee,
          actions: [INVOKE_ACTION],
          resourceArns: [this.api.arnForExecuteApi('POST', '/token', STAGE_NAME)],
        })
      : Grant.drop(grantee, `${INVOKE_ACTION} on POST /token`);
    if (!grant.principalStatement) {
      Annotations.of(this).addWarningV2(
        'cis2-token-proxy:grantInvoke-no-identity-policy',
        `grantInvoke(${principal}): the resource policy admits it, but no identity policy was added ` +
          `(${sameAccount ? 'this principal cannot take one' : 'it is, or may be, in another account'}). ` +
          'A principal of another account, or an account principal, needs its own IAM policy allowing ' +
          `${INVOKE_ACTION} on arn:<partition>:execute-api:<region>:<account>:<api-id>/${STAGE_NAME}/POST/token (docs/calling.md).`,
      );
    }
    return grant;
  }

  /** Adds `principal` to the resource policy's Allow and exempts it from the Deny. */
  private admit(principal: IPrincipal): void {
    const fail = (why: string) => {
      throw new Error(`Cannot admit ${principal} to the internal API: ${why}.`);
    };
    const accounts: string[] = [];
    const arns: string[] = [];
    if (principal instanceof AccountPrincipal) {
      accounts.push(principal.accountId as string);
    } else {
      const { principalJson, conditions } = principal.policyFragment;
      if (Object.keys(conditions).length > 0) fail('principals with conditions are not supported');
      const kinds = Object.keys(principalJson);
      if (kinds.length !== 1 || kinds[0] !== 'AWS')
        fail('only IAM roles, users and accounts can sign (SigV4) requests');
      for (const arn of principalJson.AWS!) {
        if (arn === '*') fail('"*" would admit everyone');
        const root = ROOT_ARN.exec(arn);
        if (root) accounts.push(root[1]!);
        else arns.push(arn);
      }
    }
    if (accounts.length > 0 && this.environment === PROD_ENVIRONMENT) {
      // The same rule parseDeployConfig applies to allowedPrincipals.
      fail('prod admits roles, not whole accounts (any principal there could mint NHS tokens)');
    }
    // Admitting the same role twice (cdk.json and a grant, or two grants) changes nothing.
    const newArns = arns.filter((arn) => !this.callers.arns.includes(arn));
    const newAccounts = accounts.filter((account) => !this.callers.accounts.includes(account));
    if (newArns.length + newAccounts.length === 0) return;
    this.callers.principals.push(principal);
    this.callers.arns.push(...newArns);
    this.callers.accounts.push(...newAccounts);
  }
}

/** The principal of one `allowedPrincipals` entry. */
function configuredPrincipal(entry: string): IPrincipal {
  if (entry === THIS_ACCOUNT) return new AccountRootPrincipal();
  const root = ROOT_ARN.exec(entry);
  return root ? new AccountPrincipal(root[1]) : new ArnPrincipal(roleArn(entry));
}

/**
 * Allow `execute-api:Invoke` for the admitted principals and deny everyone else explicitly, so a
 * broad identity policy elsewhere (or a later mistake in the allow list) cannot widen access.
 */
function resourcePolicy(
  { principals, arns, accounts }: Callers,
  vpcEndpointIds?: readonly string[],
): PolicyDocument {
  const invoke = { actions: [INVOKE_ACTION], resources: ['execute-api:/*'] };
  // Conditions in one block are ANDed: deny only callers matching neither an ARN nor an account.
  const notAllowed: Record<string, Record<string, string[]>> = {};
  if (arns.length > 0) notAllowed.ArnNotLike = { 'aws:PrincipalArn': arns };
  if (accounts.length > 0) notAllowed.StringNotEquals = { 'aws:PrincipalAccount': accounts };

  const statements = [
    // Without a principal there is no Allow: the deny below then shuts everyone out (and synth fails).
    ...(principals.length > 0
      ? [
          new PolicyStatement({
            sid: 'AllowConfiguredPrincipals',
            effect: Effect.ALLOW,
            principals,
            ...invoke,
          }),
        ]
      : []),
    new PolicyStatement({
      sid: 'DenyOtherPrincipals',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      conditions: notAllowed,
      ...invoke,
    }),
  ];
  if (vpcEndpointIds) {
    statements.push(
      new PolicyStatement({
        sid: 'DenyOutsideVpcEndpoints',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        conditions: { StringNotEquals: { 'aws:SourceVpce': [...vpcEndpointIds] } },
        ...invoke,
      }),
    );
  }
  return new PolicyDocument({ statements });
}
