import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readJwks } from '../../../lambda/doctor/jwks.js';
import { signatureFindings, verifiesWith } from '../../../lambda/doctor/signature.js';
import { b64url, decodeB64url, decodeJws } from '../../../lambda/platform/jws.js';

// The doctor verifies with WebCrypto so the browser page runs the same code; node:crypto (OpenSSL's
// own RSA verify, the doctor's implementation before) is the independent check it must agree with.
const keys = [1024, 2048, 4096].map((modulusLength, i) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { kid: `k${i}`, modulusLength, privateKey, publicKey, jwk: publicKey.export({ format: 'jwk' }) };
});

function token(key: (typeof keys)[number], claims: object = { iss: 'a' }) {
  const input = `${b64url(JSON.stringify({ alg: 'RS512', kid: key.kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha512', Buffer.from(input), key.privateKey))}`;
}

describe('RS512 verification with WebCrypto', () => {
  const reading = readJwks({ keys: keys.map((k) => ({ ...k.jwk, kid: k.kid, use: 'sig' })) });

  it('imports published JWKs with the modulus size node:crypto reports', () => {
    expect(reading.keys?.map((k) => k.modulusBits)).toEqual(
      keys.map((k) => createPublicKey({ key: k.jwk, format: 'jwk' }).asymmetricKeyDetails?.modulusLength),
    );
  });

  it('agrees with node:crypto on good, tampered and foreign signatures', async () => {
    for (const [i, key] of keys.entries()) {
      const good = decodeJws(token(key));
      const signature = Uint8Array.from(good.signature);
      signature[7] = signature[7]! ^ 1;
      const tampered = { ...good, signature };
      const otherKey = reading.keys![(i + 1) % keys.length]!;
      for (const [decoded, jwksKey] of [
        [good, reading.keys![i]!],
        [tampered, reading.keys![i]!],
        [good, otherKey],
      ] as const) {
        const node = verify('sha512', Buffer.from(decoded.signingInput), key.publicKey, decoded.signature);
        const expected = jwksKey === otherKey ? false : node;
        expect(await verifiesWith(decoded, jwksKey), `${key.modulusLength} ${jwksKey.kid}`).toBe(expected);
      }
    }
  });

  it('answers false, not an exception, for a signature of the wrong length', async () => {
    const good = decodeJws(token(keys[1]!));
    expect(await verifiesWith({ ...good, signature: good.signature.subarray(1) }, reading.keys![1]!)).toBe(
      false,
    );
  });

  it('names the key that verifies when the header names another kid', async () => {
    const decoded = decodeJws(token(keys[2]!));
    const findings = await signatureFindings({ kid: 'k0' }, decoded, reading.keys!);
    expect(findings.map((f) => f.code)).toEqual(['SIGNATURE_INVALID', 'SIGNATURE_OTHER_KEY']);
  });

  it('in Node, verifies with an "n" carrying a leading zero octet (Chromium refuses it: see test/browser)', async () => {
    const key = keys[1]!;
    const n = b64url(Uint8Array.of(0, ...decodeB64url(key.jwk.n!)!));
    const read = readJwks({ keys: [{ ...key.jwk, n, kid: key.kid, use: 'sig' }] });
    expect(read.keys?.[0]?.modulusBits).toBe(2048);
    expect(await verifiesWith(decodeJws(token(key)), read.keys![0]!)).toBe(true);
  });

  it('reports a JWK whose n or e is not a base64url integer as unusable', () => {
    const { n, e } = keys[1]!.jwk;
    for (const bad of [
      { n, e: '' },
      { n: '', e },
      { n: `${n}=`, e },
      { n: 5, e },
      { n: 'AAAA', e },
    ]) {
      const read = readJwks({ keys: [{ kty: 'RSA', kid: 'x', use: 'sig', ...bad }] });
      expect(read.keys?.[0]?.publicKey, JSON.stringify(bad).slice(0, 40)).toBeUndefined();
      expect(read.findings.map((f) => f.code)).toContain('JWKS_KEY_UNUSABLE');
    }
  });
});
