/**
 * `npm run cli -- probe`: asks NHS whether it accepts our client authentication, with one
 * token-exchange request signed exactly as the proxy signs (see docs/probe.md). Also the probe
 * behind `rotate check`.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../../lambda/platform/clock.js';
import { ConfigError } from '../../lambda/platform/environments.js';
import {
  type ProbeOptions,
  ProbeUnusableError,
  type ProbeVerdict,
  probeClientAuth,
} from '../../lambda/probe/index.js';
import { buildProbeSetup, type PublishedKey } from '../../lambda/probe/setup.js';
import {
  type CredentialsConfig,
  loadRuntimeConfig,
  loadSigningOnlyConfig,
  type SigningConfig,
} from '../../lambda/proxy/config.js';
import { isProxyError } from '../../lambda/proxy/errors.js';
import type { Command, CommandIo } from '../cli.js';
import { LOCAL_API_KEY, LOCAL_CLIENT_SECRET } from '../local-defaults.js';

/** Exit codes: NHS accepts our client authentication, refuses it, or the probe could not tell. */
export const PROBE_EXIT = { accepted: 0, refused: 1, unusable: 2 } as const;

/** Slot names of lib/config.ts (`keys` in cdk.json); `--key a` means the key of slot `a`. */
const SLOT_PATTERN = /^[a-z0-9]{1,12}$/;

const HELP = `Usage: npm run cli -- probe [options]

Asks NHS whether it accepts this proxy's client authentication: sends one token exchange with
an assertion signed exactly as the proxy signs and a deliberately malformed subject token. NHS
checks the client assertion, API key, registered JWKS, signature and aud first, so it answers
400 "Malformed JWT in subject_token" exactly when it accepts our client authentication.
Costs one jti and one request of the app's rate limit. See docs/probe.md.

  --env <name>        environment (default: $ENVIRONMENT, else local). local signs with the
                      local key file and the credentials npm start registers, against npm
                      start's emulator (EMULATOR_PORT, default 3001)
  --token-url <url>   send the probe here instead of the environment's token URL. For local it
                      is where the emulator listens, so it is also the aud; for a platform
                      environment the aud stays that environment's token URL, as the proxy signs
  --api-key <key>     authenticate as this API key instead of the configured one
  --kid <kid>         probe with the published key of this kid (default: the signing key)
  --key <key>         probe with this key: a KMS key id or ARN, a slot name of cdk.json "keys"
                      (alias/cis2-token-proxy/<env>/<slot>), or for local a key file
  --json              print {"accepted","kid","status","error","error_description","message_id","findings"}
  --help              this text

Settings come from the environment, as for the proxy: SIGNING_KEY_ID, PUBLISHED_KEY_IDS and
SECRET_ID for a deployed environment (the stack outputs SigningKeyArn, PublishedKeyArns and
SecretArn), LOCAL_KEY_FILE for local. The KMS key policies let only the stack's function roles
sign: for a deployed environment, invoke the canary function instead (docs/probe.md).

Exit code: 0 NHS accepts, 1 NHS refuses, 2 no verdict (no credentials, unreachable, bad option).
`;

/** The options of `probe`; `rotate check` takes them too. */
export const PROBE_OPTIONS = {
  env: { type: 'string' },
  'token-url': { type: 'string' },
  'api-key': { type: 'string' },
  kid: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The parsed options of `probe` (and of `rotate check`, which takes the same ones). */
export type ProbeCliOptions = ReturnType<typeof parseArgs<{ options: typeof PROBE_OPTIONS }>>['values'];

/** Options that make the probe impossible; reported with exit code 2. */
export class ProbeUsageError extends Error {
  override readonly name = 'ProbeUsageError';
}

function parseProbeOptions(argv: readonly string[]): ProbeCliOptions {
  try {
    return parseArgs({ args: [...argv], options: PROBE_OPTIONS, strict: true }).values;
  } catch (error) {
    throw new ProbeUsageError(`${(error as Error).message}. Run with --help for the options.`);
  }
}

/** The probe's configuration: the proxy's own settings for the environment, with the overrides. */
function configure(options: ProbeCliOptions, env: NodeJS.ProcessEnv) {
  const name = options.env ?? env.ENVIRONMENT ?? 'local';
  // The local app is the one npm start registers with its emulator.
  const defaults = name === 'local' ? { API_KEY: LOCAL_API_KEY, CLIENT_SECRET: LOCAL_CLIENT_SECRET } : {};
  const settings = { ...defaults, ...env, ENVIRONMENT: name };
  const { profile, signing } = loadSigningOnlyConfig(settings);
  const apiKey = options['api-key'];
  // The probe never sends the client secret (only the refresh grant does).
  const credentials: CredentialsConfig = apiKey
    ? { kind: 'static', apiKey, clientSecret: 'not-used-by-the-probe' }
    : loadRuntimeConfig(settings).credentials;
  const tokenUrl = options['token-url'];
  return {
    // For local the token URL is wherever the emulator listens; elsewhere it is the platform's.
    profile: name === 'local' && tokenUrl ? { ...profile, tokenUrl } : profile,
    endpoint: tokenUrl,
    signing,
    credentials,
  };
}

/** The signing configuration of `--key`: a KMS key (by id, ARN or slot) or a local key file. */
function signingOfKey(key: string, signing: SigningConfig, environment: string): SigningConfig {
  if (signing.kind === 'local') return { kind: 'local', keyFile: key };
  const keyId = SLOT_PATTERN.test(key) ? `alias/cis2-token-proxy/${environment}/${key}` : key;
  return { kind: 'kms', keyId, publishedKeyIds: [keyId] };
}

async function kidsOf(keys: readonly PublishedKey[]): Promise<string[]> {
  return Promise.all(keys.map((k) => k.signer.keyId()));
}

/**
 * Resolves the options into a probe: the proxy's published keys (the JWKS the doctor checks
 * against), the key to probe with, the credentials and the URLs.
 *
 * @throws {@link ProbeUsageError} or `ConfigError` for options or settings that cannot be used.
 */
export async function resolveProbe(
  options: ProbeCliOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProbeOptions & { keyId: string }> {
  if (options.kid !== undefined && options.key !== undefined)
    throw new ProbeUsageError('give --kid or --key, not both');
  const config = configure(options, env);
  const setup = await buildProbeSetup(config);
  let chosen: PublishedKey | undefined = setup.keys[0];
  if (options.kid !== undefined) {
    const kids = await kidsOf(setup.keys);
    chosen = setup.keys[kids.indexOf(options.kid)];
    if (!chosen)
      throw new ProbeUsageError(
        `kid ${options.kid} is not published; the published kids are ${kids.join(', ')}`,
      );
  } else if (options.key !== undefined) {
    const signing = signingOfKey(options.key, config.signing, config.profile.name);
    const [key] = (await buildProbeSetup({ ...config, signing })).keys;
    chosen = key && { ...key, signing: false };
  }
  if (!chosen) throw new ProbeUsageError('no signing key is configured');
  return {
    keyId: chosen.keyId,
    signer: chosen.signer,
    clock: systemClock,
    credentials: setup.credentials,
    tokenUrl: config.profile.tokenUrl,
    endpoint: config.endpoint,
    jwks: setup.jwks,
  };
}

/** The verdict as one line of text for people. */
export function describeVerdict(verdict: ProbeVerdict): string {
  const said = `${verdict.status} ${verdict.error ?? ''}: ${verdict.error_description ?? '(no description)'}`;
  const messageId = `message_id ${verdict.message_id ?? '(none)'}`;
  return verdict.accepted
    ? `NHS accepts our client authentication (kid ${verdict.kid}; it answered ${said}; ${messageId})`
    : `NHS REFUSES our client authentication (kid ${verdict.kid}): ${said}; ${messageId}; findings: ${verdict.findings.join(', ') || '(none)'}`;
}

/**
 * Runs a resolved probe and turns every failure to reach a verdict into a message.
 *
 * @returns the verdict, or the reason there is none.
 */
export async function runProbe(
  options: ProbeCliOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ verdict: ProbeVerdict; keyId: string } | { unusable: string }> {
  try {
    const probe = await resolveProbe(options, env);
    return { verdict: await probeClientAuth(probe), keyId: probe.keyId };
  } catch (error) {
    if (
      error instanceof ProbeUsageError ||
      error instanceof ProbeUnusableError ||
      error instanceof ConfigError ||
      isProxyError(error)
    ) {
      return { unusable: error.message };
    }
    throw error;
  }
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: ProbeCliOptions;
  try {
    options = parseProbeOptions(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n`);
    return PROBE_EXIT.unusable;
  }
  if (options.help) {
    io.out(HELP);
    return 0;
  }
  const outcome = await runProbe(options);
  if ('unusable' in outcome) {
    // By design only the stack's function roles may sign (lib/signing-keys.ts).
    const hint = outcome.unusable.includes('AccessDenied')
      ? "\nOnly the stack's roles may sign with its keys: invoke the canary function instead (stack output CanaryFunctionName, docs/probe.md)."
      : '';
    io.err(`probe: no verdict: ${outcome.unusable}${hint}\n`);
    return PROBE_EXIT.unusable;
  }
  const { verdict } = outcome;
  io.out(options.json ? `${JSON.stringify(verdict)}\n` : `${describeVerdict(verdict)}\n`);
  return verdict.accepted ? PROBE_EXIT.accepted : PROBE_EXIT.refused;
}

/** The `probe` command. */
export const probeCommand: Command = {
  summary: 'ask NHS whether it accepts our client authentication (one signed probe request)',
  run,
};
