/**
 * `npm run emulator`: runs the NHS platform emulator (API platform token endpoint + CIS2) on
 * loopback until interrupted. See docs/emulator.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type AppRegistration, type Emulator, ID_TOKEN_PATH, startEmulator } from '../emulator/index.js';
import { DEFAULT_EMULATOR_PORT } from '../lambda/platform/environments.js';

const HELP = `Usage: npm run emulator -- [options]

Runs a local NHS API platform token endpoint (POST /oauth2/token, and /oauth2-mock/token as
NHS's mock-auth environments serve it) and CIS2 identity provider that accept and reject
requests as the real ones do.

Options:
  --port <n>                 Port on 127.0.0.1 (default: $EMULATOR_PORT or ${DEFAULT_EMULATOR_PORT}; 0 picks a free port)
  --api-key <key>            Register one app with this API key (the assertion iss/sub)
  --client-secret <secret>   Its client secret (for the refresh_token grant); required with --api-key
  --jwks-file <path>         Its public keys, as a JWKS file
  --jwks-url <url>           Its public keys, as a JWKS URL (fetched and cached like the platform)
  --config <file.json>       Several apps: {"apps": [{"apiKey", "clientSecret", "name"?,
                             "jwks"? | "jwksFile"? | "jwksUrl"?}], "jwksCacheSeconds"?: n};
                             jwksFile paths are relative to the config file
  --jwks-cache-seconds <n>   How long a fetched JWKS is reused (default 3600, as on the platform)
  --accept-content-type-parameters
                             Accept "application/x-www-form-urlencoded;charset=UTF-8" and other
                             media-type parameters; by default anything but the exact string gets
                             415, the platform's condition read literally (whether the platform
                             accepts parameters is unconfirmed: docs/nhs-platform.md)
  -h, --help                 Show this help

An app without --jwks-file/--jwks-url gets 403 "public_key error", as on the platform.
Admin API (not part of the platform): POST/DELETE /__emulator/faults, GET/DELETE /__emulator/requests,
POST /__emulator/introspect. Mint ID tokens with POST ${ID_TOKEN_PATH} {"claim": value | null}.
`;

/** A command line that cannot be run; printed with the usage hint and exit code 2. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function nonNegativeInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed))
    throw new UsageError(`${name} must be an integer >= 0`);
  return parsed;
}

interface CliConfig {
  readonly port: number;
  readonly apps: AppRegistration[];
  readonly jwksCacheSeconds?: number;
  readonly acceptContentTypeParameters: boolean;
}

function readConfigFile(path: string): { apps: AppRegistration[]; jwksCacheSeconds?: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  const config = parsed as { apps?: unknown; jwksCacheSeconds?: unknown };
  if (!Array.isArray(config?.apps)) throw new UsageError(`--config ${path}: "apps" must be an array`);
  if (config.jwksCacheSeconds !== undefined && typeof config.jwksCacheSeconds !== 'number')
    throw new UsageError(`--config ${path}: "jwksCacheSeconds" must be a number`);
  const base = dirname(resolve(path));
  const apps = (config.apps as AppRegistration[]).map((app) =>
    app?.jwksFile === undefined ? app : { ...app, jwksFile: resolve(base, app.jwksFile) },
  );
  return { apps, jwksCacheSeconds: config.jwksCacheSeconds };
}

function parseCli(argv: string[]): CliConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string' },
      'api-key': { type: 'string' },
      'client-secret': { type: 'string' },
      'jwks-file': { type: 'string' },
      'jwks-url': { type: 'string' },
      config: { type: 'string' },
      'jwks-cache-seconds': { type: 'string' },
      'accept-content-type-parameters': { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const port = nonNegativeInteger(
    '--port',
    values.port ?? process.env.EMULATOR_PORT ?? String(DEFAULT_EMULATOR_PORT),
  );
  const fromFile = values.config ? readConfigFile(values.config) : { apps: [] };
  const apps = [...fromFile.apps];
  if (values['api-key'] !== undefined) {
    if (values['client-secret'] === undefined) throw new UsageError('--api-key needs --client-secret');
    if (values['jwks-file'] !== undefined && values['jwks-url'] !== undefined)
      throw new UsageError('give --jwks-file or --jwks-url, not both');
    apps.push({
      apiKey: values['api-key'],
      clientSecret: values['client-secret'],
      jwksFile: values['jwks-file'],
      jwksUrl: values['jwks-url'],
    });
  } else if (values['client-secret'] ?? values['jwks-file'] ?? values['jwks-url']) {
    throw new UsageError('--client-secret, --jwks-file and --jwks-url need --api-key');
  }
  const jwksCacheSeconds =
    values['jwks-cache-seconds'] === undefined
      ? fromFile.jwksCacheSeconds
      : nonNegativeInteger('--jwks-cache-seconds', values['jwks-cache-seconds']);
  return {
    port,
    apps,
    jwksCacheSeconds,
    acceptContentTypeParameters: values['accept-content-type-parameters'] ?? false,
  };
}

function banner(emulator: Emulator, apps: readonly AppRegistration[]): string {
  const keySource = (app: AppRegistration): string =>
    app.jwksUrl ?? app.jwksFile ?? (app.jwks ? 'inline JWKS' : 'no public key registered');
  return [
    `NHS platform emulator listening on ${emulator.baseUrl}`,
    `  token URL (assertion aud): ${emulator.tokenUrl}`,
    `  mock-auth token URL:       ${emulator.mockTokenUrl}`,
    `  CIS2 issuer:               ${emulator.cis2Issuer}`,
    `  mint ID tokens:            POST ${emulator.baseUrl}${ID_TOKEN_PATH}`,
    ...apps.map((app) => `  app ${app.name ?? app.apiKey}: ${keySource(app)}`),
  ].join('\n');
}

async function main(): Promise<number> {
  let config: CliConfig | 'help';
  try {
    config = parseCli(process.argv.slice(2));
  } catch (error) {
    // parseArgs throws TypeErrors with an ERR_PARSE_ARGS_* code for unknown or malformed options.
    const isUsage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!isUsage) throw error;
    process.stderr.write(`emulator: ${(error as Error).message}\nTry --help.\n`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const emulator = await startEmulator({
    port: config.port,
    apps: config.apps,
    jwksCacheMs: config.jwksCacheSeconds === undefined ? undefined : config.jwksCacheSeconds * 1000,
    acceptContentTypeParameters: config.acceptContentTypeParameters,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${banner(emulator, config.apps)}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGINT', resolveSignal);
    process.once('SIGTERM', resolveSignal);
  });
  process.stdout.write(`${signal}: stopping\n`);
  await emulator.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`emulator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
