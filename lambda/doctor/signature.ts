/**
 * The key and signature checks the platform makes with the app's JWKS (`VerifyJWT` selects the
 * key by `kid`, then verifies RS512), plus what the platform does not say: whether another key
 * in the JWKS would have verified it (a wrong `kid` header, or a stale JWKS).
 */
import { verify } from 'node:crypto';
import type { DecodedJws } from '../jws.js';
import { type Finding, finding } from './findings.js';
import type { JwksKey } from './jwks.js';

/**
 * Whether the RS512 (RSASSA-PKCS1-v1_5, SHA-512) signature verifies with the key. Node's
 * synchronous verify is used rather than jose: the repair tries thousands of candidates, and
 * jose refuses keys under 2048 bits, which the doctor must still be able to diagnose.
 */
export function verifiesWith(decoded: DecodedJws, key: JwksKey): boolean {
  return (
    key.publicKey !== undefined &&
    verify('sha512', Buffer.from(decoded.signingInput), key.publicKey, decoded.signature)
  );
}

/** The first key that verifies the signature, trying keys with the header's kid first. */
export function findVerifyingKey(
  decoded: DecodedJws,
  keys: readonly JwksKey[],
  kid: unknown,
): JwksKey | undefined {
  const ordered = [...keys.filter((k) => k.kid === kid), ...keys.filter((k) => k.kid !== kid)];
  return ordered.find((key) => verifiesWith(decoded, key));
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
export function signatureFindings(
  header: Record<string, unknown>,
  decoded: DecodedJws | undefined,
  keys: readonly JwksKey[],
  repaired = false,
): Finding[] {
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
  const verifying = findVerifyingKey(decoded, keys, kid);
  if (verifying && verifying === selected) {
    findings.push(
      finding('SIGNATURE_VERIFIED', `${prefix} signature verifies with ${describeKey(verifying)}.`, {
        kid: verifying.kid,
        bits: verifying.modulusBits,
      }),
    );
    return findings;
  }
  if (selected) {
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
