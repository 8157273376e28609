/**
 * AWS Lambda entry of the token function (lib/proxy-function.ts bundles it on its own).
 * Configuration is read and validated when the container starts, so a missing or wrong setting
 * fails the init with a message naming it instead of failing requests.
 */
import { buildApp } from './app.js';
import { loadRuntimeConfig } from './config/runtime.js';
import type { InvocationContext, ProxyEvent } from './handler.js';

const proxy = await buildApp(loadRuntimeConfig(process.env));

/** `POST /token`, `GET /jwks.json` and `GET /health` behind the internal API. */
export const handler = (event: ProxyEvent, context?: InvocationContext) => proxy.handler(event, context);
