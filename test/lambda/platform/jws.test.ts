import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { b64url, decodeB64url, decodeJws, JwsDecodeError } from '../../../lambda/platform/jws.js';

// Node's Buffer is the independent implementation the web-platform codec must agree with.
describe('base64url without Buffer', () => {
  it('encodes bytes and UTF-8 strings exactly as Node does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(b64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        expect(b64url(text)).toBe(Buffer.from(text).toString('base64url'));
      }),
    );
  });

  it('encodes inputs longer than one argument slice', () => {
    const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    expect(b64url(big)).toBe(Buffer.from(big).toString('base64url'));
  });

  it('decodes what it encodes, and refuses what is not strict base64url', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(decodeB64url(b64url(bytes))).toEqual(bytes);
      }),
    );
    for (const bad of ['ab+c', 'ab/c', 'abc=', 'a b', 'ab\u2013c', 'abcde'])
      expect(decodeB64url(bad), bad).toBeUndefined();
  });

  it('decodes a compact JWS and names the part that is wrong', () => {
    const h = b64url('{"alg":"RS512"}');
    const p = b64url('{"iss":"x"}');
    const decoded = decodeJws(`${h}.${p}.${b64url(new Uint8Array([1, 2, 255]))}`);
    expect(decoded).toMatchObject({ header: { alg: 'RS512' }, payload: { iss: 'x' } });
    expect([...decoded.signature]).toEqual([1, 2, 255]);
    expect(() => decodeJws(`${h}.${p}.AQ\u2013I`)).toThrow(new JwsDecodeError('alphabet'));
  });
});
