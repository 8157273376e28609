/**
 * The key and signature checks the platform makes with the app's JWKS (`VerifyJWT` selects the
 * key by `kid`, then verifies RS512), plus what the platform does not say: whether another key
 * in the JWKS would have verified it (a wrong `kid` header, or a stale JWKS).
 */
import type { DecodedJws } from '../platform/jws.js';
import { type Finding, finding } from './findings.js';
import type { JwksKey, RsaPublicJwk } from './jwks.js';

/** RS512 in WebCrypto terms (RFC 7518 §3.3). */
const RS512 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' } as const;

/** A WebCrypto `CryptoKey` (not a global type name under this project's Node-only `lib`). */
type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** Each JWK is imported once however many repair candidates are checked against it. */
const imported = new WeakMap<RsaPublicJwk, Promise<VerifyKey | undefined>>();

/**
 * The key as a WebCrypto verification key, or `undefined` when this runtime's WebCrypto refuses
 * it. WebCrypto (`globalThis.crypto.subtle`, in Node 20 and every browser) rather than
 * `node:crypto` so the browser doctor page runs this same code; rather than jose because jose
 * refuses keys under 2048 bits, which the doctor must still be able to diagnose.
 */
function verificationKey(jwk: RsaPublicJwk): Promise<VerifyKey | undefined> {
  let key = imported.get(jwk);
  if (!key) {
    key = crypto.subtle.importKey('jwk', { ...jwk }, RS512, false, ['verify']).catch(() => undefined);
    imported.set(jwk, key);
  }
  return key;
}

const encoder = new TextEncoder();

/** Whether the RS512 (RSASSA-PKCS1-v1_5, SHA-512) signature verifies with the key. */
export async function verifiesWith(decoded: DecodedJws, key: JwksKey): Promise<boolean> {
  const cryptoKey = key.publicKey && (await verificationKey(key.publicKey));
  if (!cryptoKey) return false;
  // A signature of the wrong length makes some implementations throw rather than answer false.
  return crypto.subtle
    .verify(RS512, cryptoKey, decoded.signature, encoder.encode(decoded.signingInput))
    .catch(() => false);
}

/** The first key that verifies the signature, trying keys with the header's kid first. */
export async function findVerifyingKey(
  decoded: DecodedJws,
  keys: readonly JwksKey[],
  kid: unknown,
): Promise<JwksKey | undefined> {
  const ordered = [...keys.filter((k) => k.kid === kid), ...keys.filter((k) => k.kid !== kid)];
  for (const key of ordered) if (await verifiesWith(decoded, key)) return key;
  return undefined;
}

const describeKey = (key: JwksKey): string =>
  key.kid === undefined ? `key #${key.index}` : `key #${key.index} (kid "${key.kid}")`;

/**
 * Key and signature findings, in the platform's order: kid not in the JWKS, then signature.
 * Like the platform, the signature is checked with the first key carrying the header's kid.
 *
 * @param decoded - the token whose signature is checked; absent when it cannot be decoded.
 * @param repaired - whether `decoded` is the repaired token rather than the one given.
 */
export async function signatureFindings(
  header: Record<string, unknown>,
  decoded: DecodedJws | undefined,
  keys: readonly JwksKey[],
  repaired = false,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const kid = header.kid;
  const selected = keys.find((k) => k.kid !== undefined && k.kid === kid);
  if (kid && !selected)
    findings.push(
      finding('KID_NOT_IN_JWKS', `The header kid "${String(kid)}" is not in the JWKS.`, {
        kid,
        available: keys.flatMap((k) => (k.kid === undefined ? [] : [k.kid])),
      }),
    );
  if (!decoded) return findings;

  const prefix = repaired ? 'After repair, the' : 'The';
  const verifying = await findVerifyingKey(decoded, keys, kid);
  if (verifying && verifying === selected) {
    findings.push(
      finding('SIGNATURE_VERIFIED', `${prefix} signature verifies with ${describeKey(verifying)}.`, {
        kid: verifying.kid,
        bits: verifying.modulusBits,
      }),
    );
    return findings;
  }
  if (selected?.publicKey && !(await verificationKey(selected.publicKey)))
    // Browsers' WebCrypto refuses some keys Node (and the platform) may accept, such as an "n" with
    // a leading zero octet: say so, and that the signature went unchecked, rather than "invalid".
    findings.push(
      finding(
        'JWKS_KEY_UNUSABLE',
        `${describeKey(selected)} could not be imported by this runtime's WebCrypto.`,
        { index: selected.index, kid: selected.kid },
      ),
      finding(
        'SIGNATURE_NOT_CHECKED',
        `The signature was not checked with ${describeKey(selected)}; the prediction is a best guess.`,
      ),
    );
  else if (selected) {
    const bits = selected.modulusBits;
    const length =
      bits === undefined || decoded.signature.length === bits / 8
        ? ''
        : ` (it is ${decoded.signature.length} bytes; RSA ${bits} signatures are ${bits / 8})`;
    findings.push(
      finding(
        'SIGNATURE_INVALID',
        `${prefix} signature does not verify with ${describeKey(selected)}${length}.`,
        {
          kid,
          signatureBytes: decoded.signature.length,
        },
      ),
    );
  }
  if (verifying)
    findings.push(
      finding(
        'SIGNATURE_OTHER_KEY',
        `${prefix} signature verifies with ${describeKey(verifying)}, but the header names ${kid ? `kid "${String(kid)}"` : 'no kid'}${verifying.kid === kid ? ' and the platform uses the first key with that kid' : ''}.`,
        { kid: verifying.kid, headerKid: kid },
      ),
    );
  return findings;
}
