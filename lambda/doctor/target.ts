/**
 * Which environment an assertion is meant for, and which environment a token URL or a key id
 * points at. Token URLs come from the proxy's own configuration, so the doctor knows exactly the
 * environments the proxy does.
 */
import {
  ConfigError,
  environmentProfile,
  localProfile,
  PLATFORM_PROFILES,
} from '../platform/environments.js';
import { PLATFORM_TOKEN_URLS } from '../platform/rules.js';

/** What the assertion is checked against. */
export interface Target {
  /** The exact URL the assertion is POSTed to, when known. */
  readonly tokenUrl?: string;
  /** The environment name, when known (from the input or the token URL). */
  readonly environment?: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** The emulator serves the token endpoint at both of NHS's paths (`emulator/server.ts`). */
const LOCAL_TOKEN_PATHS = new Set([new URL(localProfile().tokenUrl).pathname, '/oauth2-mock/token']);

/** Token URL → environment name, for every environment the proxy knows. */
const KNOWN_TOKEN_URLS: ReadonlyMap<string, string> = new Map<string, string>([
  ...Object.entries(PLATFORM_TOKEN_URLS).map(([env, url]): [string, string] => [url, env]),
  ...Object.values(PLATFORM_PROFILES).map((p): [string, string] => [p.tokenUrl, p.name]),
]);

/**
 * The environment a token URL belongs to: a platform environment, or `local` for the emulator's
 * token path on a loopback host (on any port, since tests start it on a free one).
 */
export function environmentOfTokenUrl(url: string): string | undefined {
  const known = KNOWN_TOKEN_URLS.get(url);
  if (known) return known;
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return LOOPBACK_HOSTS.has(parsed.hostname) && LOCAL_TOKEN_PATHS.has(parsed.pathname) && !parsed.search
    ? 'local'
    : undefined;
}

/**
 * The token URL of a named environment: the proxy's environment config first (`local` on the
 * default emulator port), then the platform's other token URLs (sandbox, int-mock).
 */
export function tokenUrlOf(environment: string): string | undefined {
  try {
    return environmentProfile(environment).tokenUrl;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return Object.hasOwn(PLATFORM_TOKEN_URLS, environment)
      ? PLATFORM_TOKEN_URLS[environment as keyof typeof PLATFORM_TOKEN_URLS]
      : undefined;
  }
}

/** Names accepted by {@link tokenUrlOf}. */
export const TARGET_ENVIRONMENTS: readonly string[] = [
  ...new Set(['local', ...Object.keys(PLATFORM_PROFILES), ...Object.keys(PLATFORM_TOKEN_URLS)]),
];

/**
 * Resolves the target from what the caller gave: an explicit token URL wins; an environment
 * name alone supplies its token URL; a token URL alone names its environment when known.
 */
export function resolveTarget(tokenUrl?: string, environment?: string): Target {
  const url = tokenUrl ?? (environment ? tokenUrlOf(environment) : undefined);
  return { tokenUrl: url, environment: environment ?? (url ? environmentOfTokenUrl(url) : undefined) };
}

/**
 * Words in a key id that name an environment, and the environments each is compatible with.
 * Each word also covers the environment's mock-auth twin (`-mock`, the same Apigee environment):
 * "dev" and "test" keys belong on internal-dev(-mock) or the local emulator; NHS's own e2e tests
 * sign with kid `test-1` (ISA `e2e/tests/utils/helpers.py`, `create_client_assertion`).
 */
const KID_ENVIRONMENT_WORDS: Readonly<Record<string, readonly string[]>> = {
  dev: ['internal-dev', 'internal-dev-mock', 'local'],
  development: ['internal-dev', 'internal-dev-mock', 'local'],
  test: ['internal-dev', 'internal-dev-mock', 'local', 'sandbox', 'sandbox-mock'],
  local: ['local'],
  sandbox: ['sandbox', 'sandbox-mock'],
  int: ['int', 'int-mock'],
  integration: ['int', 'int-mock'],
  prod: ['prod'],
  production: ['prod'],
  live: ['prod'],
};

/**
 * The environment word in a key id that does not fit the target environment, if any.
 * Key ids are split on non-alphanumerics, so random thumbprints do not match by accident.
 */
export function kidEnvironmentClash(kid: string, environment: string): string | undefined {
  const words = kid.toLowerCase().split(/[^a-z0-9]+/);
  const named = words.filter((w) => KID_ENVIRONMENT_WORDS[w]);
  if (named.length === 0 || named.some((w) => KID_ENVIRONMENT_WORDS[w]!.includes(environment)))
    return undefined;
  return named[0];
}
