/**
 * The step between a validated request and NHS: where an access token for a subject token comes
 * from. The plain service exchanges every time; the caching service (lambda/cache) sits in front.
 */
import type { TokenRequest } from './request.js';
import type { TokenEndpointClient, TokenResponse } from './token-client.js';
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

/** Converts a token endpoint answer to what the caller gets. */
export function toIssuedToken(response: TokenResponse): IssuedToken {
  return {
    accessToken: response.accessToken,
    tokenType: response.tokenType,
    expiresAt: response.receivedAt + response.expiresInS * 1000,
    issuedTokenType: response.issuedTokenType,
  };
}

/** Exchanges on every request; used when caching is turned off. */
export class ExchangingTokenService implements TokenService {
  constructor(private readonly client: TokenEndpointClient) {}

  async getToken(request: TokenRequest, trace: Trace): Promise<IssuedToken> {
    trace.cache = 'bypass';
    return toIssuedToken(await this.client.exchange(request.subjectToken, trace));
  }
}
