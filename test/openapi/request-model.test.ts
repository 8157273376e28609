/**
 * The API Gateway request model of `POST /token` in the synthesized template must say what the
 * OpenAPI document's `TokenRequest` says, and the gateway's own 400 for a body the model refuses
 * must be a documented `POST /token` 400. The two are written in different places (lib/internal-api.ts
 * and openapi/), so this is what keeps them from drifting.
 */
import { describe, expect, it } from 'vitest';
import { contractViolations, openapi } from '../../openapi/contract.js';
import { buildStack } from '../lib/helpers.js';

type Json = Record<string, unknown>;

/** Keywords that describe a schema without changing what it accepts. */
const ANNOTATIONS = new Set(['$schema', 'title', 'description', 'examples', 'default']);

/** A schema with its annotations removed, at every depth. */
function assertions(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(assertions);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema as Json)
      .filter(([key]) => !ANNOTATIONS.has(key))
      .map(([key, value]) => [key, key === 'properties' ? propertiesOf(value as Json) : assertions(value)]),
  );
}

/** Property names are data, not keywords: a property called `description` must survive. */
function propertiesOf(properties: Json): Json {
  return Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, assertions(value)]));
}

describe('POST /token request model and the OpenAPI document', () => {
  const { template } = buildStack('int');
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const tokenResources = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties.PathPart === 'token')
    .map(([id]) => id);
  const post = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::ApiGateway::Method' &&
      r.Properties.HttpMethod === 'POST' &&
      tokenResources.includes((r.Properties.ResourceId as { Ref: string }).Ref),
  );
  const documented = (openapi.components as { schemas: Json }).schemas.TokenRequest;

  it('validates the body with a model equal to the OpenAPI TokenRequest schema, for every content type', () => {
    // Prepare
    const models = post?.Properties.RequestModels as Record<string, { Ref: string }>;

    // Act
    const schemas = Object.entries(models).map(([type, ref]) => [
      type,
      resources[ref.Ref]?.Properties.Schema,
    ]);

    // Assess
    expect(Object.keys(models).sort()).toEqual(['$default', 'application/json']);
    for (const [, schema] of schemas) expect(assertions(schema)).toEqual(assertions(documented));
  });

  it("answers a refused body with a documented 400 (API Gateway's BAD_REQUEST_BODY response)", () => {
    // Prepare
    const gateway = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::ApiGateway::GatewayResponse' && r.Properties.ResponseType === 'BAD_REQUEST_BODY',
    );
    const headers = Object.fromEntries(
      Object.entries(gateway!.Properties.ResponseParameters as Record<string, string>).map(
        ([name, value]) => [name.replace('gatewayresponse.header.', ''), value.replace(/^'|'$/g, '')],
      ),
    );
    // API Gateway substitutes its request id for $context.requestId.
    const body = (gateway!.Properties.ResponseTemplates as Json)['application/json'] as string;

    // Act
    const violations = contractViolations('POST', '/token', {
      status: Number(gateway!.Properties.StatusCode),
      headers,
      body: body.replace('$context.requestId', 'c0ffee00-0000-4000-8000-000000000000'),
    });

    // Assess
    expect(violations).toEqual([]);
  });

  it('notices a model that drifts (a negative control for the comparison)', () => {
    // Prepare
    const drifted = structuredClone(documented) as { properties: { subject_token: Json } };
    drifted.properties.subject_token.minLength = 0;

    // Assess
    expect(assertions(drifted)).not.toEqual(assertions(documented));
  });
});
