/**
 * The NHS platform emulator: a local API platform token endpoint and CIS2 identity provider that
 * accept and reject exactly as the real ones do (see docs/emulator.md).
 */
export { type AppRegistration, AppRegistrationError, JWKS_URL_PATTERN } from './apps.js';
export { CIS2_DEFAULT_AUDIENCE, CIS2_DEFAULT_SUBJECT, ID_TOKEN_TTL_S } from './cis2.js';
export {
  DEFAULT_ERS_ROLES,
  ERS_A030_PATH,
  ERS_IAL_DIAGNOSTICS,
  type ErsRequestRecord,
  type ErsRole,
  type ErsStandIn,
  FHIR_JSON,
} from './ers.js';
export {
  type FaultKind,
  type FaultSpec,
  FaultSpecError,
  parseFaultSpec,
  RATE_LIMIT_ERROR,
} from './faults.js';
export { MESSAGE_ID_PATTERN } from './message-id.js';
export {
  ADMIN_PREFIX,
  type Emulator,
  type EmulatorOptions,
  ID_TOKEN_PATH,
  MOCK_TOKEN_PATH,
  type RequestRecord,
  startEmulator,
  TOKEN_PATH,
} from './server.js';
export { routeTokenRequest, type TokenFlow } from './token-endpoint.js';
export type { AccessTokenInfo } from './token-store.js';
