/**
 * `npm run cli -- doctor`: diagnoses a client assertion offline (see docs/doctor.md).
 * The only network use is `--jwks-url`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  diagnose,
  formatDiagnosis,
  readJwks,
  TARGET_ENVIRONMENTS,
  tokenUrlOf,
} from '../../lambda/doctor/index.js';
import { isoTimeMs } from '../../lambda/doctor/input.js';
import type { Command, CommandIo } from '../cli.js';

/** Exit codes: the platform would accept, would reject, or the input could not be used. */
export const DOCTOR_EXIT = { accept: 0, reject: 1, unusable: 2 } as const;

const JWKS_FETCH_TIMEOUT_MS = 10_000;

const HELP = `Usage: npm run cli -- doctor [options] [< assertion.txt]

Diagnoses an NHS API platform client assertion offline: names every fault, predicts the
platform's exact answer, and repairs typographic substitutions (e.g. an en dash for "--").

Assertion (one of; default: standard input). Quotes, "Bearer ", line breaks and whole form
bodies are tolerated and reported:
  --assertion <jwt>        the assertion itself
  --assertion-file <path>  a file containing it

JWKS to check kid and signature against (optional; without it they are not checked):
  --jwks-file <path>       a JWKS file (a bare key or typographic quotes are tolerated)
  --jwks-url <url>         fetch the JWKS (the only network access)

Target:
  --env <name>             environment: ${TARGET_ENVIRONMENTS.join(', ')}
  --token-url <url>        the exact token URL POSTed to (overrides --env's URL)
  --api-key <key>          the app's API key (iss and sub must equal it)
  --at <ISO-8601>          judge time claims at this moment (default: now)

Output:
  --json                   {"verdict","predicted","findings","repair"} as JSON
  --print-repaired         include the repaired assertion (treat it as a credential)
  --help                   this text

Exit code: 0 the platform would accept it, 1 it would reject it, 2 unusable input.
`;

/** Input the doctor cannot work with; the message says which. */
class UnusableInput extends Error {}

const OPTIONS = {
  assertion: { type: 'string' },
  'assertion-file': { type: 'string' },
  'jwks-file': { type: 'string' },
  'jwks-url': { type: 'string' },
  env: { type: 'string' },
  'token-url': { type: 'string' },
  'api-key': { type: 'string' },
  at: { type: 'string' },
  json: { type: 'boolean' },
  'print-repaired': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type DoctorOptions = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

function parse(argv: readonly string[]): DoctorOptions {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UnusableInput(`${(error as Error).message}. Run "doctor --help" for the options.`);
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UnusableInput(
      `Cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
    );
  }
}

async function readAssertion(values: DoctorOptions, io: CommandIo): Promise<string> {
  if (values.assertion !== undefined && values['assertion-file'] !== undefined)
    throw new UnusableInput('Give the assertion once: --assertion or --assertion-file, not both.');
  const text =
    values.assertion ??
    (values['assertion-file'] !== undefined
      ? await readText(values['assertion-file'], 'assertion')
      : await io.readStdin());
  if (text === undefined || text.trim() === '')
    throw new UnusableInput('No assertion given: use --assertion, --assertion-file or standard input.');
  return text;
}

async function fetchJwks(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) });
  } catch (error) {
    throw new UnusableInput(`Cannot fetch the JWKS from ${url}: ${(error as Error).message}.`);
  }
  if (!response.ok) throw new UnusableInput(`Cannot fetch the JWKS from ${url}: HTTP ${response.status}.`);
  return response.text();
}

async function readJwksInput(values: DoctorOptions): Promise<string | undefined> {
  const file = values['jwks-file'];
  const url = values['jwks-url'];
  if (file !== undefined && url !== undefined)
    throw new UnusableInput('Give the JWKS once: --jwks-file or --jwks-url, not both.');
  const text =
    file !== undefined ? await readText(file, 'JWKS') : url !== undefined ? await fetchJwks(url) : undefined;
  if (text !== undefined && !readJwks(text).keys)
    throw new UnusableInput('The JWKS is not JSON with a "keys" array, nor a single JWK.');
  return text;
}

function parseAt(at: string | undefined): number | undefined {
  if (at === undefined) return undefined;
  const ms = isoTimeMs(at);
  if (ms === undefined)
    throw new UnusableInput(`--at "${at}" is not an ISO-8601 time, e.g. 2026-11-28T10:00:00Z.`);
  return ms;
}

function targetUrl(env: string | undefined, tokenUrl: string | undefined): string | undefined {
  if (tokenUrl !== undefined || env === undefined) return tokenUrl;
  const url = tokenUrlOf(env);
  if (!url)
    throw new UnusableInput(
      `Unknown environment "${env}": expected one of ${TARGET_ENVIRONMENTS.join(', ')}.`,
    );
  return url;
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  try {
    const values = parse(argv);
    if (values.help) {
      io.out(HELP);
      return DOCTOR_EXIT.accept;
    }
    const nowMs = parseAt(values.at);
    const tokenUrl = targetUrl(values.env, values['token-url']);
    const assertion = await readAssertion(values, io);
    const jwks = await readJwksInput(values);
    const diagnosis = await diagnose({
      assertion,
      jwks,
      tokenUrl,
      apiKey: values['api-key'],
      nowMs,
      environment: values.env,
    });
    const showRepaired = values['print-repaired'] === true;
    if (values.json) {
      const { verdict, predicted, findings, repair } = diagnosis;
      const shownRepair = repair && !showRepaired ? { ...repair, assertion: undefined } : repair;
      io.out(`${JSON.stringify({ verdict, predicted, findings, repair: shownRepair }, null, 2)}\n`);
    } else io.out(formatDiagnosis(diagnosis, { showRepaired }));
    return diagnosis.verdict === 'accept' ? DOCTOR_EXIT.accept : DOCTOR_EXIT.reject;
  } catch (error) {
    if (!(error instanceof UnusableInput)) throw error;
    io.err(`doctor: ${error.message}\n`);
    return DOCTOR_EXIT.unusable;
  }
}

/** The `doctor` command. */
export const doctorCommand: Command = {
  summary: 'diagnose a client assertion (and JWKS) offline; predict the platform answer; repair copy damage',
  run,
};
