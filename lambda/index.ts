/**
 * AWS Lambda entry points. Configuration is read and validated when the container starts, so a
 * missing or wrong setting fails the init with a message naming it instead of failing requests.
 * One bundle serves both functions; Lambda's `_HANDLER` says which one this container runs, so
 * the public JWKS function needs (and is granted) nothing but the public keys.
 */
import { buildApp, buildSigners, publishedJwks } from './app.js';
import { loadRuntimeConfig, loadSigningOnlyConfig } from './config/runtime.js';
import type { InvocationContext, ProxyEvent } from './handler.js';
import { createJwksHandler } from './jwks-handler.js';

const servesJwksOnly = process.env._HANDLER?.endsWith('.jwksHandler') ?? false;

const proxy = servesJwksOnly ? undefined : await buildApp(loadRuntimeConfig(process.env));
const publicJwks = servesJwksOnly
  ? createJwksHandler(publishedJwks((await buildSigners(loadSigningOnlyConfig(process.env), {})).published))
  : undefined;

/** `POST /token`, `GET /jwks.json` and `GET /health` behind the internal API. */
export const handler = (event: ProxyEvent, context?: InvocationContext) => {
  if (!proxy) throw new Error('this function is configured as the JWKS function (jwksHandler)');
  return proxy.handler(event, context);
};

/** `GET /jwks.json` behind the public route NHS fetches the keys from. */
export const jwksHandler = (event: ProxyEvent) => {
  if (!publicJwks) throw new Error('this function is configured as the token proxy (handler)');
  return publicJwks(event);
};
