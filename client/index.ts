/**
 * The caller's side of cis2-token-proxy, for internal Node services: a SigV4-signing client of
 * `POST /token` (docs/calling.md).
 */

export { ERS_BUSINESS_FUNCTION_SYSTEM, type ErsRoleChoice, rolesOfBundle } from './ers-roles.js';
export {
  AccessTokenGrant,
  type ClientErrorCode,
  type CredentialsOption,
  type GetTokenOptions,
  regionOfApiUrl,
  TokenProxyClient,
  type TokenProxyClientOptions,
  TokenProxyError,
  type TokenProxyErrorCode,
} from './token-proxy-client.js';
