/**
 * The OpenAPI document of the internal API, loaded, plus a checker that says whether an HTTP
 * response is one the document allows (status, headers, media type, body schema). Tests use it to
 * keep the document true to the handler; a caller's own tests can use it against a stub.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/** Where the document lives. */
export const OPENAPI_PATH = new URL('./cis2-token-proxy.json', import.meta.url);

type Json = Record<string, unknown>;

/** The parsed OpenAPI document. */
export const openapi: Json = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));

const DOC_ID = 'cis2-token-proxy.json';

/** Top-level OpenAPI fields: not JSON Schema keywords, but declared so strict mode can flag real typos. */
const OPENAPI_ROOT_KEYWORDS = [
  'openapi',
  'info',
  'jsonSchemaDialect',
  'servers',
  'security',
  'paths',
  'components',
];

function createAjv(): Ajv2020 {
  // strict: an unknown keyword in a schema ("minLenght") is an error, not silently ignored.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addVocabulary(OPENAPI_ROOT_KEYWORDS);
  ajv.addSchema(openapi, DOC_ID);
  return ajv;
}

const ajv = createAjv();

/** Escapes one JSON pointer segment (RFC 6901). */
function segment(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Follows a `#/...` pointer within the document. */
function resolvePointer(pointer: string): unknown {
  let node: unknown = openapi;
  for (const raw of pointer.replace(/^#\//, '').split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = (node as Json | undefined)?.[key];
  }
  return node;
}

/** An object, or what its `$ref` points at, with the pointer to where it really is. */
function deref(node: unknown, at: string): { node: Json; at: string } {
  const ref = (node as Json | undefined)?.$ref;
  if (typeof ref === 'string') return deref(resolvePointer(ref), ref.replace(/^#/, ''));
  return { node: node as Json, at };
}

const validators = new Map<string, ValidateFunction>();

/** The compiled validator of the schema at `pointer` (e.g. `/components/schemas/Error`). */
export function schemaAt(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.getSchema(`${DOC_ID}#${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    validators.set(pointer, validate);
  }
  return validate;
}

/** A response to check: status, headers (any case) and the raw body text. */
export interface ObservedResponse {
  readonly status: number;
  readonly headers: Headers | Record<string, string | number | boolean | undefined>;
  readonly body: string;
}

function headerOf(headers: ObservedResponse['headers'], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name.toLowerCase() && value !== undefined) return String(value);
  }
  return undefined;
}

/**
 * Everything in `response` that the document does not allow for `method path`; empty when it
 * conforms.
 */
export function contractViolations(method: string, path: string, response: ObservedResponse): string[] {
  const base = `/paths/${segment(path)}/${method.toLowerCase()}`;
  const operation = resolvePointer(`#${base}`) as Json | undefined;
  if (!operation) return [`${method} ${path} is not in the document`];
  const responses = operation.responses as Json;
  const key = String(response.status);
  if (!(key in responses)) return [`${method} ${path} does not document status ${key}`];
  return violationsOf(responses[key], `${base}/responses/${key}`, response);
}

/**
 * Everything in `response` that the shared response `components/responses/<name>` does not allow.
 * For answers no operation can list: a 405 to a method the path lacks, a 404 to a path not in the
 * document.
 */
export function responseViolations(name: string, response: ObservedResponse): string[] {
  const at = `/components/responses/${segment(name)}`;
  const documented = resolvePointer(`#${at}`);
  if (!documented) return [`no response ${name} in the document`];
  return violationsOf(documented, at, response);
}

function violationsOf(spec: unknown, pointer: string, response: ObservedResponse): string[] {
  const { node: documented, at } = deref(spec, pointer);
  const problems: string[] = [];
  for (const [name, headerSpec] of Object.entries((documented.headers as Json | undefined) ?? {})) {
    const { node: header, at: headerAt } = deref(headerSpec, `${at}/headers/${segment(name)}`);
    const value = headerOf(response.headers, name);
    if (value === undefined) {
      if (header.required === true) problems.push(`header ${name} is required`);
      continue;
    }
    const validate = schemaAt(`${headerAt}/schema`);
    if (!validate(value)) problems.push(`header ${name}: ${ajv.errorsText(validate.errors)}`);
  }

  const content = documented.content as Json | undefined;
  if (!content) return problems;
  const mediaType = headerOf(response.headers, 'content-type')?.split(';')[0]?.trim();
  if (!mediaType || !(mediaType in content)) {
    problems.push(`content-type ${mediaType} is not one of ${Object.keys(content).join(', ')}`);
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    problems.push('body is not JSON');
    return problems;
  }
  const validate = schemaAt(`${at}/content/${segment(mediaType)}/schema`);
  if (!validate(body)) problems.push(`body: ${ajv.errorsText(validate.errors)}`);
  return problems;
}

/** The error codes a documented error response of `method path` at `status` may carry. */
export function documentedCodes(method: string, path: string, status: number): string[] {
  const base = `/paths/${segment(path)}/${method.toLowerCase()}`;
  const responses = (resolvePointer(`#${base}`) as Json | undefined)?.responses as Json | undefined;
  if (!responses?.[String(status)]) return [];
  const { node } = deref(responses[String(status)], '');
  const schema = deref((node.content as Json)['application/json'], '').node.schema as Json;
  const variants = (schema.anyOf as Json[] | undefined) ?? [schema];
  return variants.flatMap((variant) => {
    const resolved = deref(variant, '').node;
    const error = (resolved.properties as Json | undefined)?.error as Json | undefined;
    return (error?.enum as string[] | undefined) ?? [];
  });
}
