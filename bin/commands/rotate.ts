/**
 * `npm run cli -- rotate check`: approves switching the signing key to a published key only when
 * NHS has been seen to accept that key. NHS caches our JWKS for an hour and does not refetch it
 * for an unknown `kid`, so a key is usable only once NHS has fetched a JWKS holding it; a probe
 * signed with the key is the only evidence of that (docs/probe.md, "Rotating the signing key").
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isJsonObject } from '../../lambda/platform/json.js';
import type { ProbeVerdict } from '../../lambda/probe/index.js';
import type { Command, CommandIo } from '../cli.js';
import { describeVerdict, PROBE_OPTIONS, type ProbeCliOptions, runProbe } from './probe.js';

/** Exit codes: switching is approved, not approved, or the check could not be made. */
export const ROTATE_EXIT = { approved: 0, refused: 1, unusable: 2 } as const;

const HELP = `Usage: npm run cli -- rotate check (--key <key> | --kid <kid>) [probe options]
       npm run cli -- rotate check (--key <key> | --kid <kid>) --verdicts <file>

Approves switching the signing key to the given published key only if NHS accepts a client
assertion signed with it. Without --verdicts it runs the probe with that key (same options as
"probe": --env, --token-url, --api-key, --json). With --verdicts it reads the verdicts the
canary function returned ("aws lambda invoke --function-name <CanaryFunctionName> out.json"),
for deployed environments, where only the stack's roles may sign with the keys.

Exit code: 0 approved, 1 not approved (NHS refuses the key, or no verdict for it), 2 unusable.
See docs/probe.md ("Rotating the signing key").
`;

const OPTIONS = { ...PROBE_OPTIONS, verdicts: { type: 'string' } } as const;

/** A canary verdict: a probe verdict plus the key it was signed with. */
type KeyedVerdict = ProbeVerdict & { keyId?: string };

function isVerdict(value: unknown): value is KeyedVerdict {
  return isJsonObject(value) && typeof value.accepted === 'boolean' && typeof value.kid === 'string';
}

/** Picks the verdict of the key asked for from the canary's answer (`{"verdicts": [...]}`). */
async function verdictFromFile(path: string, options: ProbeCliOptions): Promise<KeyedVerdict | string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    return `${path} cannot be read as JSON: ${(error as Error).message}`;
  }
  const verdicts =
    isJsonObject(parsed) && Array.isArray(parsed.verdicts) ? parsed.verdicts.filter(isVerdict) : [];
  const match = verdicts.find(
    (v) =>
      (options.kid !== undefined && v.kid === options.kid) ||
      (options.key !== undefined && (v.keyId === options.key || v.keyId?.endsWith(`/${options.key}`))),
  );
  return match ?? `${path} holds no verdict for ${options.kid ?? options.key}`;
}

async function check(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: ProbeCliOptions & { verdicts?: string };
  try {
    options = parseArgs({ args: [...argv], options: OPTIONS, strict: true }).values;
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${HELP}`);
    return ROTATE_EXIT.unusable;
  }
  if (options.help) {
    io.out(HELP);
    return 0;
  }
  // Naming the key is the point: "the signing key" would approve the key already in use.
  if ((options.kid === undefined) === (options.key === undefined)) {
    io.err(`rotate check: name the key to switch to with --key or --kid (one of them)\n\n${HELP}`);
    return ROTATE_EXIT.unusable;
  }
  let verdict: KeyedVerdict;
  if (options.verdicts !== undefined) {
    const found = await verdictFromFile(options.verdicts, options);
    if (typeof found === 'string') {
      io.err(`rotate check: NOT approved: ${found}\n`);
      return ROTATE_EXIT.refused;
    }
    verdict = found;
  } else {
    const outcome = await runProbe(options);
    if ('unusable' in outcome) {
      io.err(`rotate check: no verdict: ${outcome.unusable}\n`);
      return ROTATE_EXIT.unusable;
    }
    verdict = { ...outcome.verdict, keyId: outcome.keyId };
  }
  const approved = verdict.accepted;
  if (options.json) io.out(`${JSON.stringify({ approved, ...verdict })}\n`);
  else
    io.out(
      approved
        ? `APPROVED: ${describeVerdict(verdict)}.\nSwitch: set "signingKey" to this key's slot in cdk.json and deploy; keep the old key published until no assertion signed with it can be in flight.\n`
        : `NOT APPROVED: ${describeVerdict(verdict)}.\nDo not switch: keep the key published and probe again once NHS has refetched our JWKS (up to an hour).\n`,
    );
  return approved ? ROTATE_EXIT.approved : ROTATE_EXIT.refused;
}

/** The `rotate` command; its one subcommand is `check`. */
export const rotateCommand: Command = {
  summary: 'rotate check: approve switching the signing key only once NHS accepts the new key',
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'check') return check(rest, io);
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      io.out(HELP);
      return sub === undefined ? ROTATE_EXIT.unusable : 0;
    }
    io.err(`rotate: unknown subcommand "${sub}"\n\n${HELP}`);
    return ROTATE_EXIT.unusable;
  },
};
