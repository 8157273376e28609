/**
 * Reads the JWKS the assertion is checked against, leniently where the intent is clear
 * (typographic quotes from a document, a bare key instead of a set), and checks its hygiene.
 * Each leniency is reported: the platform itself is not lenient.
 */
import { isJsonObject } from '../platform/json.js';
import { decodeB64url } from '../platform/jws.js';
import { ASSERTION_ALG } from '../platform/rules.js';
import { type Finding, finding } from './findings.js';

/** The size of key NHS tooling generates (`crv_or_size=4096`); smaller keys get a warning. */
export const RECOMMENDED_MODULUS_BITS = 4096;

/** RSA private key members; any of them in a published JWKS means the private key has leaked. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/** Typographic double and single quotes a word processor substitutes for `"` and `'`. */
const TYPOGRAPHIC_QUOTES = /[\u201c\u201d\u201e\u201f\u2033]/g;
const TYPOGRAPHIC_APOSTROPHES = /[\u2018\u2019\u201a\u201b\u2032]/g;

/**
 * The public members of an RSA JWK. Kept as JSON rather than a runtime key object so the JWKS is
 * read synchronously and the same way in Node and the browser; `signature.ts` imports it into
 * WebCrypto when a signature is checked.
 */
export interface RsaPublicJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
}

/** One key of the JWKS, with its public key when it is a usable RSA key. */
export interface JwksKey {
  /** Position in the `keys` array, to name keys without a kid. */
  readonly index: number;
  readonly kid?: string;
  /** The RSA public key; absent when the entry is not a usable RSA key. */
  readonly publicKey?: RsaPublicJwk;
  readonly modulusBits?: number;
}

/** Bit length of a big-endian unsigned integer; 0 for zero or no bytes. */
function bitLength(bytes: Uint8Array): number {
  const first = bytes.findIndex((b) => b !== 0);
  return first < 0 ? 0 : (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first]!));
}

/**
 * The RSA public key of a JWK and its modulus size, or `undefined` when `n` or `e` is not a
 * strict base64url integer above zero. Only the public members are taken, so a leaked private
 * key is still usable for checking.
 */
function rsaPublicKey(
  entry: Record<string, unknown>,
): { publicKey: RsaPublicJwk; modulusBits: number } | undefined {
  const { n, e } = entry;
  if (typeof n !== 'string' || typeof e !== 'string') return undefined;
  const modulus = decodeB64url(n);
  const exponent = decodeB64url(e);
  if (!modulus || !exponent || bitLength(exponent) === 0) return undefined;
  const modulusBits = bitLength(modulus);
  return modulusBits === 0 ? undefined : { publicKey: { kty: 'RSA', n, e }, modulusBits };
}

/** The JWKS as read: `keys` is absent when nothing usable could be read. */
export interface JwksReading {
  readonly keys?: readonly JwksKey[];
  readonly findings: Finding[];
}

function parseText(text: string, findings: Finding[]): unknown {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    const plain = trimmed.replace(TYPOGRAPHIC_QUOTES, '"').replace(TYPOGRAPHIC_APOSTROPHES, "'");
    if (plain === trimmed) return undefined;
    try {
      const value: unknown = JSON.parse(plain);
      findings.push(
        finding(
          'JWKS_TYPOGRAPHIC_QUOTES',
          'The JWKS has typographic quotes; they were read as plain quotes.',
        ),
      );
      return value;
    } catch {
      return undefined;
    }
  }
}

function keyList(value: unknown, findings: Finding[]): unknown[] | undefined {
  if (isJsonObject(value) && Array.isArray(value.keys)) return value.keys;
  if (isJsonObject(value) && typeof value.kty === 'string') {
    findings.push(
      finding('JWKS_NOT_A_SET', 'A single key was given instead of a JWKS; it was read as a set of one.', {
        shape: 'key',
      }),
    );
    return [value];
  }
  if (Array.isArray(value)) {
    findings.push(
      finding(
        'JWKS_NOT_A_SET',
        'A bare array of keys was given instead of a JWKS; it was read as the keys.',
        {
          shape: 'array',
        },
      ),
    );
    return value;
  }
  return undefined;
}

const keyName = (index: number, kid: string | undefined) =>
  kid === undefined ? `key #${index}` : `key "${kid}"`;

function readKey(entry: unknown, index: number, findings: Finding[]): JwksKey {
  if (!isJsonObject(entry)) {
    findings.push(
      finding('JWKS_KEY_UNUSABLE', `Entry #${index} of the JWKS is not a JSON object.`, { index }),
    );
    return { index };
  }
  const kid = typeof entry.kid === 'string' ? entry.kid : undefined;
  const name = keyName(index, kid);
  const where = { index, kid };

  const leaked = PRIVATE_MEMBERS.filter((member) => member in entry);
  if (leaked.length > 0)
    findings.push(
      finding(
        'JWKS_PRIVATE_KEY',
        `The JWKS publishes private key members (${leaked.join(', ')}) of ${name}.`,
        {
          ...where,
          members: leaked,
        },
      ),
    );
  if (kid === undefined) findings.push(finding('JWKS_KID_MISSING', `JWKS ${name} has no kid.`, where));
  if (entry.use !== 'sig')
    findings.push(
      finding('JWKS_USE_NOT_SIG', `JWKS ${name} has "use": ${JSON.stringify(entry.use) ?? 'absent'}.`, {
        ...where,
        actual: entry.use,
      }),
    );
  if (entry.alg !== undefined && entry.alg !== ASSERTION_ALG)
    findings.push(
      finding('JWKS_ALG_NOT_RS512', `JWKS ${name} has "alg": ${JSON.stringify(entry.alg)}.`, {
        ...where,
        actual: entry.alg,
      }),
    );
  if (entry.kty !== 'RSA') {
    findings.push(
      finding('JWKS_KEY_NOT_RSA', `JWKS ${name} has "kty": ${JSON.stringify(entry.kty)}, not "RSA".`, {
        ...where,
        actual: entry.kty,
      }),
    );
    return { index, kid };
  }

  const rsa = rsaPublicKey(entry);
  if (!rsa) {
    findings.push(finding('JWKS_KEY_UNUSABLE', `JWKS ${name} is not a valid RSA public key.`, where));
    return { index, kid };
  }
  const { publicKey, modulusBits } = rsa;
  if (modulusBits < RECOMMENDED_MODULUS_BITS)
    findings.push(
      finding(
        'KEY_TOO_SMALL',
        `JWKS ${name} is RSA ${modulusBits}; NHS tooling uses RSA ${RECOMMENDED_MODULUS_BITS}.`,
        {
          ...where,
          bits: modulusBits,
        },
      ),
    );
  return { index, kid, publicKey, modulusBits };
}

/**
 * Reads a JWKS given as parsed JSON or as raw text, reporting leniencies and hygiene faults.
 *
 * @returns the keys, or no keys (with a `JWKS_UNPARSEABLE` finding) when it is not a JWKS at all.
 */
export function readJwks(input: unknown): JwksReading {
  const findings: Finding[] = [];
  const value = typeof input === 'string' ? parseText(input, findings) : input;
  const entries = keyList(value, findings);
  if (!entries) {
    findings.push(finding('JWKS_UNPARSEABLE', 'The JWKS is not JSON with a "keys" array, nor a single JWK.'));
    return { findings };
  }
  if (entries.length === 0) findings.push(finding('JWKS_EMPTY', 'The JWKS has no keys.'));
  const keys = entries.map((entry, index) => readKey(entry, index, findings));

  const counts = new Map<string, number>();
  for (const { kid } of keys) if (kid !== undefined) counts.set(kid, (counts.get(kid) ?? 0) + 1);
  for (const [kid, count] of counts)
    if (count > 1)
      findings.push(
        finding('JWKS_DUPLICATE_KID', `${count} keys in the JWKS share kid "${kid}".`, { kid, count }),
      );
  return { keys, findings };
}
