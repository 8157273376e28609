/**
 * Encryption of a session for the shared tier: AES-256-GCM under the key derived from the ID
 * token, a random 96-bit IV per write, and the lookup key as additional authenticated data so a
 * ciphertext moved to another item's `pk` fails to open. Anyone who can read the table but does
 * not hold the ID token sees random bytes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CacheKey } from './cache-key.js';
import type { CachedSession } from './session.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed entry that cannot be opened: wrong key, tampered or truncated bytes, or an unknown shape. */
export class SealedEntryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealedEntryError';
  }
}

/** The sealed JSON: short names, since every byte is stored and read on each shared hit. */
interface SealedFields {
  a: string;
  t: string;
  i?: string;
  ae: number;
  r?: string;
  re?: number;
  s: number;
  v: string;
}

/** Encrypts `session` under `key`: `iv ‖ ciphertext ‖ tag`. */
export function seal(session: CachedSession, key: CacheKey): Buffer {
  const fields: SealedFields = {
    a: session.accessToken,
    t: session.tokenType,
    i: session.issuedTokenType,
    ae: session.accessExpiresAt,
    r: session.refreshToken,
    re: session.refreshExpiresAt,
    s: session.subjectExpiresAt,
    v: session.rev,
  };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.encryption, iv);
  cipher.setAAD(key.lookup);
  const body = Buffer.concat([cipher.update(JSON.stringify(fields), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * Decrypts and checks a sealed session.
 *
 * @throws {@link SealedEntryError} if the bytes do not open under `key` or are not a session.
 */
export function open(sealed: Uint8Array, key: CacheKey): CachedSession {
  if (sealed.length < IV_BYTES + TAG_BYTES + 2) throw new SealedEntryError('sealed entry is truncated');
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.encryption, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(key.lookup);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    text = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch (err) {
    // Node's message names no secret, but its class is all the caller needs.
    throw new SealedEntryError('sealed entry does not authenticate under this key', { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SealedEntryError('sealed entry is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object')
    throw new SealedEntryError('sealed entry is not a session');
  const f = parsed as Partial<SealedFields>;
  const refreshOk = f.r === undefined ? f.re === undefined : isString(f.r) && isTime(f.re);
  if (
    !isString(f.a) ||
    !isString(f.t) ||
    !(f.i === undefined || isString(f.i)) ||
    !isTime(f.ae) ||
    !isTime(f.s) ||
    !isString(f.v) ||
    !refreshOk
  ) {
    throw new SealedEntryError('sealed entry is not a session');
  }
  return {
    accessToken: f.a,
    tokenType: f.t,
    issuedTokenType: f.i,
    accessExpiresAt: f.ae,
    refreshToken: f.r,
    refreshExpiresAt: f.re,
    subjectExpiresAt: f.s,
    rev: f.v,
  };
}
