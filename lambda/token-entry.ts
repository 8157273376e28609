/**
 * AWS Lambda entry of the token function (lib/proxy-function.ts bundles it on its own).
 * Configuration is read and validated when the container starts, so a missing or wrong setting
 * fails the init with a message naming it instead of failing requests.
 */
import { buildApp } from './proxy/app.js';
import { loadRuntimeConfig } from './proxy/config.js';
import type { InvocationContext, ProxyEvent } from './proxy/handler.js';

const proxy = await buildApp(loadRuntimeConfig(process.env));

/** `POST /token`, `GET /jwks.json` and `GET /health` behind the internal API. */
export const handler = (event: ProxyEvent, context?: InvocationContext) => proxy.handler(event, context);
