/**
 * Secrets must never reach a log line, an error body or a snapshot. Every test file gets this
 * guard (test/setup.ts): everything written to stdout/stderr is captured, tests register the
 * secrets they handle (ID tokens, assertions, access and refresh tokens, client secrets) and any
 * other text that must stay clean (log lines, error bodies), and after the file the guard fails
 * if any of that text contains a secret or a 32-character piece of one.
 */
const secrets = new Set<string>();
const inspected: string[] = [];
let captured = '';

/** Registers values that must never appear in output. */
export function registerSecret(...values: (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= 8) secrets.add(value);
}

/** Registers text (a log line, a response body) to be checked for secrets at the end of the file. */
export function inspect(...texts: unknown[]): void {
  for (const text of texts) inspected.push(typeof text === 'string' ? text : JSON.stringify(text));
}

/** Starts capturing process output and console calls (while still printing them). */
export function captureOutput(): void {
  // vitest routes console calls around process.stdout, so both are wrapped.
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      captured += `${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`;
      original(...args);
    };
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** Pieces of a secret any leak of 32 or more characters must contain. */
function pieces(secret: string): string[] {
  if (secret.length <= 32) return [secret];
  const out: string[] = [];
  for (let i = 0; i + 24 <= secret.length; i += 8) out.push(secret.slice(i, i + 24));
  return out;
}

/** Secrets found in the captured output and inspected texts (a description, never the secret). */
export function findLeaks(): string[] {
  const haystack = `${captured}\n${inspected.join('\n')}`;
  const leaks: string[] = [];
  for (const secret of secrets) {
    // The JWS header of our own assertions is public (alg, typ, kid); only the rest is secret.
    const secretPart = /^eyJ[\w-]+\.(.+)$/.exec(secret)?.[1] ?? secret;
    if (pieces(secretPart).some((piece) => haystack.includes(piece))) {
      leaks.push(`a registered secret of ${secret.length} characters starting ${secret.slice(0, 4)}…`);
    }
  }
  return leaks;
}

/** Number of secrets registered so far (guards against a guard that checks nothing). */
export function registeredSecretCount(): number {
  return secrets.size;
}
