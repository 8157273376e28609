/**
 * Compact JWS encoding and strict decoding. We build assertions by hand (KMS signs remotely, which
 * generic JWT libraries cannot do), so we also own the exact parsing rules the platform applies.
 *
 * Only web platform globals are used (`btoa`, `atob`, `TextEncoder`), not `Buffer`, so the same
 * code runs in Node and in the browser doctor page.
 */
import { parseJsonObject } from './json.js';
import type { JsonObject } from './rules.js';

/** The base64url alphabet without padding (RFC 7515 §2). */
export const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes or a UTF-8 string as unpadded base64url. */
export function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let binary = '';
  // In slices: spreading a whole 64 KiB+ array into one call would overflow the argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Decodes an unpadded base64url string already checked against {@link BASE64URL_SEGMENT}.
 * Like Node's decoder, the unused low bits of the last character are ignored.
 */
function fromB64url(segment: string): Uint8Array<ArrayBuffer> {
  const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A compact JWS split into its parts. */
export interface DecodedJws {
  readonly header: JsonObject;
  readonly payload: JsonObject;
  readonly signature: Uint8Array<ArrayBuffer>;
  /** `b64url(header).b64url(payload)`: the bytes the signature covers. */
  readonly signingInput: string;
}

/** Why a string is not a decodable compact JWS. */
export type JwsDecodeFailure = 'segments' | 'alphabet' | 'header' | 'payload';

/** Thrown by {@link decodeJws}; the message never contains the token. */
export class JwsDecodeError extends Error {
  readonly code = 'ERR_JWS_MALFORMED';
  constructor(readonly reason: JwsDecodeFailure) {
    super(`not a compact JWS (${reason})`);
    this.name = 'JwsDecodeError';
  }
}

/** Decodes one strict base64url segment, or `undefined` when it is not one. */
export function decodeB64url(segment: string): Uint8Array<ArrayBuffer> | undefined {
  // Lenient decoders skip foreign characters, so the alphabet is checked first;
  // a length of 1 mod 4 cannot come from any byte string.
  if (!BASE64URL_SEGMENT.test(segment) || segment.length % 4 === 1) return undefined;
  return fromB64url(segment);
}

function decodeJsonObject(segment: string): JsonObject | undefined {
  const bytes = decodeB64url(segment);
  if (!bytes) return undefined;
  try {
    return parseJsonObject(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // Not UTF-8.
    return undefined;
  }
}

/**
 * Decodes a compact JWS strictly: three base64url segments, header and payload JSON objects.
 * Does not verify the signature.
 *
 * @throws {@link JwsDecodeError} naming the first part that is wrong.
 */
export function decodeJws(token: string): DecodedJws {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwsDecodeError('segments');
  const [h, p, s] = parts as [string, string, string];
  const signature = decodeB64url(s);
  if (!BASE64URL_SEGMENT.test(h) || !BASE64URL_SEGMENT.test(p) || !signature)
    throw new JwsDecodeError('alphabet');
  const header = decodeJsonObject(h);
  if (!header) throw new JwsDecodeError('header');
  const payload = decodeJsonObject(p);
  if (!payload) throw new JwsDecodeError('payload');
  return { header, payload, signature, signingInput: `${h}.${p}` };
}
