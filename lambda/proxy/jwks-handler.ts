import type { APIGatewayProxyResult } from 'aws-lambda';
import { json, type ProxyEvent } from './handler.js';
import type { PublicSigningJwk } from './signer/signer.js';

/**
 * Writes one JSON line to the function log when the public keys cannot be read, so a 503 (which the
 * stack's `JwksErrors` alarm counts as an API 5XX) has its cause on record. The JWKS function holds no
 * secret, and KMS errors name the key and the action, not key material.
 */
export function logJwksFailure(error: unknown): void {
  const { name, message } = error instanceof Error ? error : { name: 'UnknownError', message: String(error) };
  console.error(
    JSON.stringify({ level: 'ERROR', message: 'jwks_unavailable', error_name: name, error_message: message }),
  );
}

/**
 * The handler behind the public JWKS route NHS fetches. It serves only the public keys, on GET,
 * whatever the path: the function behind it holds no secret and cannot exchange tokens.
 *
 * @param jwks - reads the published public keys.
 * @param reportFailure - told about every failure to read them, before the 503 goes out.
 */
export function createJwksHandler(
  jwks: () => Promise<readonly PublicSigningJwk[]>,
  reportFailure: (error: unknown) => void = logJwksFailure,
): (event: Pick<ProxyEvent, 'httpMethod'>) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    if (event.httpMethod !== 'GET') {
      return json(405, { error: 'method_not_allowed', error_description: 'only GET' }, { allow: 'GET' });
    }
    try {
      // NHS caches a JWKS for an hour; a short public cache here only spares KMS.
      return json(200, { keys: await jwks() }, { 'cache-control': 'public, max-age=300' });
    } catch (error) {
      reportFailure(error);
      return json(503, {
        error: 'signer_unavailable',
        error_description: 'public keys could not be read; retry later',
      });
    }
  };
}
