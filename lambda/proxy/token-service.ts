/**
 * The step between a validated request and NHS: where an access token for a subject token comes
 * from. The plain service exchanges every time; the caching service (lambda/cache) sits in front.
 */
import type { TokenRequest } from './request.js';
import type { TokenEndpointClient } from './token-endpoint/client.js';
import type { TokenResponse } from './token-endpoint/types.js';
import type { Trace } from './trace.js';

/** An access token as handed to the caller. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Milliseconds since the epoch, by our clock at receipt plus `expires_in`. */
  readonly expiresAt: number;
  readonly issuedTokenType?: string;
}

/** Gets an access token for a validated request. */
export interface TokenService {
  getToken(request: TokenRequest, trace: Trace): Promise<IssuedToken>;
}

/**
 * The expiry told to the caller. By default it is capped at the ID token's `exp`: the caller is
 * sent back when its ID token ends, and must then sign in again, so the NHS session it sees ends
 * with the CIS2 one. With `sessionOutlivesIdToken` the access token's own expiry is reported, and
 * a token obtained just before the ID token's `exp` stays in use for up to its full lifetime.
 */
export function reportedExpiry(
  accessExpiresAt: number,
  subjectExpiresAt: number,
  sessionOutlivesIdToken: boolean,
): number {
  return sessionOutlivesIdToken ? accessExpiresAt : Math.min(accessExpiresAt, subjectExpiresAt);
}

/** Converts a token endpoint answer for `request` to what the caller gets. */
export function toIssuedToken(
  response: TokenResponse,
  request: TokenRequest,
  sessionOutlivesIdToken: boolean,
): IssuedToken {
  return {
    accessToken: response.accessToken,
    tokenType: response.tokenType,
    expiresAt: reportedExpiry(
      response.receivedAt + response.expiresInS * 1000,
      request.subjectExpiresAt,
      sessionOutlivesIdToken,
    ),
    issuedTokenType: response.issuedTokenType,
  };
}

/** Exchanges on every request; used when caching is turned off. */
export class ExchangingTokenService implements TokenService {
  constructor(
    private readonly client: TokenEndpointClient,
    private readonly sessionOutlivesIdToken = false,
  ) {}

  async getToken(request: TokenRequest, trace: Trace): Promise<IssuedToken> {
    trace.cache = 'bypass';
    const response = await this.client.exchange(request.subjectToken, trace);
    return toIssuedToken(response, request, this.sessionOutlivesIdToken);
  }
}
