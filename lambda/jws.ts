/**
 * Compact JWS encoding and strict decoding. We build assertions by hand (KMS signs remotely, which
 * generic JWT libraries cannot do), so we also own the exact parsing rules the platform applies.
 */
import { parseJsonObject } from './json.js';
import type { JsonObject } from './nhs/platform.js';

/** The base64url alphabet without padding (RFC 7515 §2). */
export const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes or a UTF-8 string as unpadded base64url. */
export function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A compact JWS split into its parts. */
export interface DecodedJws {
  readonly header: JsonObject;
  readonly payload: JsonObject;
  readonly signature: Uint8Array;
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

function decodeSegment(segment: string): Uint8Array | undefined {
  // Buffer's decoder silently skips foreign characters, so the alphabet is checked first;
  // a length of 1 mod 4 cannot come from any byte string.
  if (!BASE64URL_SEGMENT.test(segment) || segment.length % 4 === 1) return undefined;
  return Buffer.from(segment, 'base64url');
}

function decodeJsonObject(segment: string): JsonObject | undefined {
  const bytes = decodeSegment(segment);
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
  const signature = decodeSegment(s);
  if (!BASE64URL_SEGMENT.test(h) || !BASE64URL_SEGMENT.test(p) || !signature)
    throw new JwsDecodeError('alphabet');
  const header = decodeJsonObject(h);
  if (!header) throw new JwsDecodeError('header');
  const payload = decodeJsonObject(p);
  if (!payload) throw new JwsDecodeError('payload');
  return { header, payload, signature, signingInput: `${h}.${p}` };
}
