/**
 * `npm run cli -- <command> [options]`: the project's command-line tools. A command is one entry
 * in {@link commands}; it parses its own arguments and returns its exit code.
 */
import { pathToFileURL } from 'node:url';
import { doctorCommand } from './commands/doctor.js';
import { jwksCommand } from './commands/jwks.js';
import { probeCommand } from './commands/probe.js';
import { rotateCommand } from './commands/rotate.js';

/** Where a command reads and writes, so tests can run commands in-process. */
export interface CommandIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** All of standard input, or `undefined` when it is a terminal (nothing was piped). */
  readStdin(): Promise<string | undefined>;
}

/** A subcommand: a one-line summary for the command list, and its entry point. */
export interface Command {
  readonly summary: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** Exit code for a command line that cannot be used (unknown command, bad options). */
export const EXIT_USAGE = 2;

/** The commands, by name. Register a command by adding it here. */
export const commands: Readonly<Record<string, Command>> = {
  doctor: doctorCommand,
  jwks: jwksCommand,
  probe: probeCommand,
  rotate: rotateCommand,
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: npm run cli -- <command> [options]',
    '',
    'Commands:',
    ...list,
    '',
    'Run "npm run cli -- <command> --help" for the options of a command.',
    '',
  ].join('\n');
}

/** Dispatches to the named command; `--help` (or no command) lists the commands. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return 0;
  }
  const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.err(`${name === undefined ? 'No command given.' : `Unknown command "${name}".`}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return command.run(rest, io);
}

async function readProcessStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  readStdin: readProcessStdin,
};

// Run only when executed, not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
