/**
 * Test fixtures for code that talks to the NHS platform emulator (or the real token endpoint):
 * app keys, client assertions, form posts, and the platform error-body assertion.
 */
import { generateKeyPair, type KeyObject, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { type JWK, SignJWT } from 'jose';
import { expect } from 'vitest';
import { MESSAGE_ID_PATTERN } from '../../emulator/index.js';
import { PLATFORM_ERRORS, type PlatformErrorName, URN } from '../../lambda/platform/rules.js';

/** An app's signing key pair and its public JWKS. */
export interface AppKey {
  readonly kid: string;
  /** A Node key object, so jose can sign with any RS or PS algorithm for the alg error cases. */
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK & { kid: string };
  readonly jwks: { keys: JWK[] };
}

/** Generates an RSA 2048 app key (fast enough for tests; production keys are 4096). */
export async function makeAppKey(kid: string = `test-${randomUUID()}`): Promise<AppKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS512', use: 'sig' };
  return { kid, privateKey, publicJwk, jwks: { keys: [publicJwk] } };
}

/** Inputs of {@link signAssertion}. In `claims` and `header`, `undefined` removes a default. */
export interface AssertionOptions {
  readonly key: AppKey;
  /** The API key: `iss` and `sub`. */
  readonly apiKey: string;
  /** The token URL. */
  readonly aud: string;
  /** The moment to sign at (ms); default now. Pass the emulator's clock when it is manual. */
  readonly nowMs?: number;
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  /** Signs with this key instead of `key` (for signature failures); `kid` still comes from `key`. */
  readonly signingKey?: KeyObject | Uint8Array;
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const out = { ...base, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete out[name];
  return out;
}

/**
 * Signs a client assertion the platform accepts (RS512, `typ` JWT, `kid`, `iss` = `sub` = API key,
 * `aud` = token URL, fresh `jti`, `exp` = now + 300 s), with optional overrides to break it.
 */
export async function signAssertion(options: AssertionOptions): Promise<string> {
  const nowS = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims = withOverrides(
    {
      iss: options.apiKey,
      sub: options.apiKey,
      aud: options.aud,
      jti: randomUUID(),
      exp: nowS + 300,
      iat: nowS,
    },
    options.claims,
  );
  const header = withOverrides({ alg: 'RS512', typ: 'JWT', kid: options.key.kid }, options.header);
  return new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .sign(options.signingKey ?? options.key.privateKey);
}

/** A compact JWS with an arbitrary header and a dummy signature, for checks that precede signature verification. */
export function unsignedJws(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.c2ln`;
}

/** A response read in full. */
export interface FormResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (throws if it is not). */
  json<T = Record<string, unknown>>(): T;
}

/**
 * POSTs form fields (fields set to `undefined` are left out) with exactly the Content-Type the
 * platform requires, unless another is given.
 */
export async function postForm(
  url: string,
  fields: Record<string, string | undefined>,
  contentType = 'application/x-www-form-urlencoded',
): Promise<FormResponse> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) body.set(name, value);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: body.toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

/** The form of a token exchange request. */
export function tokenExchangeForm(clientAssertion: string, subjectToken: string): Record<string, string> {
  return {
    grant_type: URN.tokenExchange,
    subject_token_type: URN.idToken,
    subject_token: subjectToken,
    client_assertion_type: URN.clientAssertionType,
    client_assertion: clientAssertion,
  };
}

/** The form of an application-restricted (client credentials) request. */
export function clientCredentialsForm(clientAssertion: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: URN.clientAssertionType,
    client_assertion: clientAssertion,
  };
}

/**
 * Asserts a response is exactly the platform's error `name`: status, `error`, `error_description`,
 * and a well-shaped `message_id` (nothing else in the body).
 */
export function expectPlatformError(response: FormResponse, name: PlatformErrorName): void {
  const expected = PLATFORM_ERRORS[name];
  const { message_id: messageId, ...rest } = response.json<Record<string, unknown>>();
  expect({ status: response.status, ...rest }).toEqual({
    status: expected.status,
    error: expected.error,
    error_description: expected.error_description,
  });
  expect(messageId).toMatch(MESSAGE_ID_PATTERN);
}

/** A tiny loopback server answering every GET with a JSON value that tests can change. */
export interface JsonHost {
  readonly url: string;
  /** How many requests it has answered. */
  readonly hits: number;
  /** Serves `value` from now on; a number serves that HTTP status with an empty body. */
  serve(value: unknown): void;
  close(): Promise<void>;
}

/** Starts a {@link JsonHost} serving `initial` at `<origin>/jwks.json`. */
export async function startJsonHost(initial: unknown): Promise<JsonHost> {
  let value = initial;
  let hits = 0;
  const server = createServer((_, res) => {
    hits += 1;
    if (typeof value === 'number') res.writeHead(value).end();
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get hits() {
      return hits;
    },
    serve: (next) => {
      value = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
