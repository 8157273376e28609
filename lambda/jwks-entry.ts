/**
 * AWS Lambda entry of the public JWKS function, bundled on its own: it reads only the environment
 * and the keys (`loadSigningOnlyConfig`), so the function needs (and is granted) nothing but the
 * public keys, and its bundle carries no token exchange, cache or NHS client.
 */

import { loadSigningOnlyConfig } from './proxy/config.js';
import { createJwksHandler } from './proxy/jwks-handler.js';
import { buildSigners, publishedJwks } from './proxy/signer/setup.js';

const { published } = await buildSigners(loadSigningOnlyConfig(process.env), {});

/** `GET /jwks.json` behind the public route NHS fetches the keys from. */
export const jwksHandler = createJwksHandler(publishedJwks(published));
