/**
 * The NHS platform environments the proxy can target, and what each one fixes: the token URL
 * (which is also the assertion `aud`), the e-RS base URL and the CIS2 issuer whose ID tokens the
 * platform accepts there. Deployment-specific settings (key, secret, table) live elsewhere.
 */
import { LOCAL_ENVIRONMENT, PLATFORM_ENVIRONMENTS, type PlatformEnvironment } from '../names.js';
import { PLATFORM_TOKEN_URLS } from './rules.js';

/** What an environment fixes about the platform side. */
export interface EnvironmentProfile {
  readonly name: string;
  /** The exact URL we POST to; also the assertion `aud`, character for character. */
  readonly tokenUrl: string;
  /** e-RS FHIR base URL, for callers and documentation. */
  readonly ersBaseUrl: string;
  /** The CIS2 issuer (`iss`) of ID tokens the platform accepts in this environment. */
  readonly cis2Issuer: string;
  /** Whether a local (non-KMS) signing key may be used. Never for `int` or `prod`. */
  readonly allowLocalKey: boolean;
}

const CIS2_REALM = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare';

/** Default loopback port of the bundled NHS emulator. */
export const DEFAULT_EMULATOR_PORT = 3001;

/** Base URL of the emulator on loopback. */
export function emulatorBaseUrl(port: number = DEFAULT_EMULATOR_PORT): string {
  return `http://127.0.0.1:${port}`;
}

/** The CIS2 issuer the emulator uses; shaped like the real one. */
export function emulatorCis2Issuer(baseUrl: string): string {
  return `${baseUrl}${CIS2_REALM}`;
}

/** Profile of the local environment: everything on the bundled emulator. */
export function localProfile(port: number = DEFAULT_EMULATOR_PORT): EnvironmentProfile {
  const base = emulatorBaseUrl(port);
  return {
    name: LOCAL_ENVIRONMENT,
    tokenUrl: `${base}/oauth2/token`,
    ersBaseUrl: `${base}/referrals/FHIR`,
    cis2Issuer: emulatorCis2Issuer(base),
    allowLocalKey: true,
  };
}

/** Profiles of the real platform environments. */
// Keyed by the shared names, so a profile missing or extra fails to compile.
export const PLATFORM_PROFILES: Readonly<Record<PlatformEnvironment, EnvironmentProfile>> = {
  'internal-dev': {
    name: 'internal-dev',
    tokenUrl: PLATFORM_TOKEN_URLS['internal-dev'],
    ersBaseUrl: 'https://internal-dev.api.service.nhs.uk/referrals/FHIR',
    // internal-dev fronts the Keycloak CIS2 mock; its issuer is environment configuration.
    cis2Issuer: 'https://identity.ptl.api.platform.nhs.uk/realms/Cis2-mock-internal-dev',
    allowLocalKey: true,
  },
  int: {
    name: 'int',
    tokenUrl: PLATFORM_TOKEN_URLS.int,
    ersBaseUrl: 'https://int.api.service.nhs.uk/referrals/FHIR',
    cis2Issuer: `https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443${CIS2_REALM}`,
    allowLocalKey: false,
  },
  prod: {
    name: 'prod',
    tokenUrl: PLATFORM_TOKEN_URLS.prod,
    ersBaseUrl: 'https://api.service.nhs.uk/referrals/FHIR',
    cis2Issuer: `https://am.nhsidentity.spineservices.nhs.uk:443${CIS2_REALM}`,
    allowLocalKey: false,
  },
};

/** Names of all environments, `local` included. */
export const ENVIRONMENT_NAMES = [LOCAL_ENVIRONMENT, ...PLATFORM_ENVIRONMENTS] as const;

/** Thrown when configuration is missing or wrong; the message names the setting. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Looks up an environment by name.
 *
 * @param emulatorPort - port of the emulator, used only for `local`.
 * @throws {@link ConfigError} naming the unknown environment and the known ones.
 */
export function environmentProfile(name: string | undefined, emulatorPort?: number): EnvironmentProfile {
  if (!name)
    throw new ConfigError(`No environment named: set ENVIRONMENT to one of ${ENVIRONMENT_NAMES.join(', ')}`);
  if (name === LOCAL_ENVIRONMENT) return localProfile(emulatorPort);
  const profile = (PLATFORM_PROFILES as Readonly<Record<string, EnvironmentProfile | undefined>>)[name];
  if (!profile) {
    throw new ConfigError(`Unknown environment '${name}': expected one of ${ENVIRONMENT_NAMES.join(', ')}`);
  }
  return profile;
}
