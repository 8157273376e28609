/**
 * The leak invariant: no subject token, client assertion, access token, refresh token or client
 * secret, nor a long piece of one, may appear in a log line, an error body or a response header.
 *
 * The rule is the leak guard's (test/helpers/leak-guard.ts): values of 8 characters or more are
 * secrets; a secret of up to 32 characters leaks when it appears whole; a longer one leaks when
 * one of its 24-character pieces taken every 8 characters appears, which any leaked run of 32 or
 * more characters must contain; the JWS header of a token is public. The leak guard compares
 * every secret with the whole text, which is quadratic: a 20,000-request drill holds tens of
 * thousands of secrets and megabytes of log lines. {@link LeakScanner} applies the same rule with
 * hashed windows, so the drills can check every secret against every line, and forwards what it
 * is given to the leak guard too, so `test/setup.ts` and `npm run drill` also check process output.
 */
import { inspect, registerSecret } from '../helpers/leak-guard.js';

/** Shortest value treated as a secret, as in the leak guard. */
const MIN_SECRET = 8;
/** Secrets up to this length must appear whole to count as leaked. */
const WHOLE_UP_TO = 32;
/** Length of the pieces a longer secret is cut into, and their stride. */
const PIECE = 24;
const STRIDE = 8;
/** Characters of every token we handle: base64url, JWS dots, and base64 and URL padding. */
const TOKEN_CHARS = /^[A-Za-z0-9_\-.~+/=]+$/;
const TOKEN_RUN = /[A-Za-z0-9_\-.~+/=]+/g;

/** How much the scanner forwards to the leak guard (which re-checks everything, quadratically). */
export interface ForwardLimits {
  /** Secrets forwarded; beyond this only the scanner holds them. */
  readonly secrets: number;
  /** Texts forwarded; beyond this only the scanner checks them. */
  readonly texts: number;
}

/** Forward everything: right for the small sizes of the vitest subset. */
export const FORWARD_ALL: ForwardLimits = {
  secrets: Number.POSITIVE_INFINITY,
  texts: Number.POSITIVE_INFINITY,
};

/**
 * Forward a sample of secrets and no texts: `npm run drill` then still has the leak guard check
 * process output (stdout, stderr, console) for those secrets after every drill, in bounded time,
 * while the scanner checks every log line and body against every secret.
 */
export const FORWARD_SAMPLE: ForwardLimits = { secrets: 100, texts: 0 };

/** The part of a secret that must not leak: all of it, or all but a JWS header. */
function secretPart(secret: string): string {
  return /^eyJ[\w-]+\.(.+)$/.exec(secret)?.[1] ?? secret;
}

function piecesOf(part: string): string[] {
  if (part.length <= WHOLE_UP_TO) return [part];
  const out: string[] = [];
  for (let i = 0; i + PIECE <= part.length; i += STRIDE) out.push(part.slice(i, i + PIECE));
  return out;
}

/** Collects the secrets and texts of one drill and finds every leak among them. */
export class LeakScanner {
  /** Piece length → piece → index of the secret it came from. */
  private readonly pieces = new Map<number, Map<string, number>>();
  /** Secrets with characters outside {@link TOKEN_CHARS}: checked by plain search. */
  private readonly unusual: number[] = [];
  private readonly secrets: string[] = [];
  private readonly known = new Set<string>();
  private readonly texts: string[] = [];
  private forwardedSecrets = 0;
  private forwardedTexts = 0;

  constructor(private readonly forward: ForwardLimits = FORWARD_ALL) {}

  /** Number of distinct secrets held (a scanner that holds none checks nothing). */
  get secretCount(): number {
    return this.secrets.length;
  }

  /** Registers values that must never appear in a text. */
  addSecret(...values: (string | null | undefined)[]): void {
    for (const value of values) {
      if (!value || value.length < MIN_SECRET || this.known.has(value)) continue;
      this.known.add(value);
      const index = this.secrets.push(value) - 1;
      if (this.forwardedSecrets < this.forward.secrets) {
        this.forwardedSecrets += 1;
        registerSecret(value);
      }
      const part = secretPart(value);
      if (!TOKEN_CHARS.test(part)) {
        this.unusual.push(index);
        continue;
      }
      for (const piece of piecesOf(part)) {
        const byPiece = this.pieces.get(piece.length) ?? new Map<string, number>();
        this.pieces.set(piece.length, byPiece);
        if (!byPiece.has(piece)) byPiece.set(piece, index);
      }
    }
  }

  /** Registers text that must stay clean (a log line, a response body or headers). */
  addText(...texts: unknown[]): void {
    for (const text of texts) {
      const value = typeof text === 'string' ? text : JSON.stringify(text);
      if (value === undefined) continue;
      this.texts.push(value);
      if (this.forwardedTexts < this.forward.texts) {
        this.forwardedTexts += 1;
        inspect(value);
      }
    }
  }

  /**
   * Every secret found in the texts, described without revealing it (its length and first four
   * characters, as the leak guard does).
   */
  leaks(): string[] {
    const found = new Set<number>();
    const lengths = [...this.pieces.keys()];
    for (const text of this.texts) {
      // A piece has only token characters, so any occurrence lies inside one run of them.
      for (const [run] of text.matchAll(TOKEN_RUN)) {
        for (const length of lengths) {
          if (run.length < length) continue;
          const byPiece = this.pieces.get(length) as Map<string, number>;
          for (let i = 0; i + length <= run.length; i++) {
            const index = byPiece.get(run.slice(i, i + length));
            if (index !== undefined) found.add(index);
          }
        }
      }
      for (const index of this.unusual) {
        const part = secretPart(this.secrets[index] as string);
        if (piecesOf(part).some((piece) => text.includes(piece))) found.add(index);
      }
    }
    return [...found].map((index) => {
      const secret = this.secrets[index] as string;
      return `a secret of ${secret.length} characters starting ${secret.slice(0, 4)}…`;
    });
  }
}
