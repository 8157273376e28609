import type { APIGatewayProxyResult } from 'aws-lambda';
import { json, type ProxyEvent } from './handler.js';
import type { PublicSigningJwk } from './signer/signer.js';

/**
 * The handler behind the public JWKS route NHS fetches. It serves only the public keys, on GET,
 * whatever the path: the function behind it holds no secret and cannot exchange tokens.
 */
export function createJwksHandler(
  jwks: () => Promise<readonly PublicSigningJwk[]>,
): (event: Pick<ProxyEvent, 'httpMethod'>) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    if (event.httpMethod !== 'GET') {
      return json(405, { error: 'method_not_allowed', error_description: 'only GET' }, { allow: 'GET' });
    }
    try {
      // NHS caches a JWKS for an hour; a short public cache here only spares KMS.
      return json(200, { keys: await jwks() }, { 'cache-control': 'public, max-age=300' });
    } catch {
      return json(503, {
        error: 'signer_unavailable',
        error_description: 'public keys could not be read; retry later',
      });
    }
  };
}
