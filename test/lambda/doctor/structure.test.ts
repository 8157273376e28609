import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FINDINGS } from '../../../lambda/doctor/index.js';
import { analyseStructure, MAX_CHAR_FINDINGS } from '../../../lambda/doctor/structure.js';
import { b64url, decodeJws } from '../../../lambda/platform/jws.js';

const header = b64url(JSON.stringify({ alg: 'RS512', typ: 'JWT', kid: 'k' }));
const payload = b64url(JSON.stringify({ iss: 'a', sub: 'a' }));
const signature = b64url(new Uint8Array(256).fill(0xfb)); // "-_-_" rich, 342 characters

const codes = (token: string) => analyseStructure(token).findings.map((f) => f.code);

describe('analyseStructure', () => {
  it('locates each character outside base64url by segment, offset and code point', () => {
    const token = `${header.slice(0, 3)}\u2013${header.slice(3)}.${payload}.${signature.slice(0, 200)}\u00a0${signature.slice(200)}`;
    const found = analyseStructure(token).findings;
    expect(found).toEqual([
      expect.objectContaining({
        code: 'CHAR_TYPOGRAPHIC_DASH',
        segment: 'header',
        offset: 3,
        codePoint: 'U+2013',
      }),
      expect.objectContaining({
        code: 'CHAR_WHITESPACE',
        segment: 'signature',
        offset: 200,
        codePoint: 'U+00A0',
      }),
    ]);
    expect(found[0]!.message).toBe('The header has "–" U+2013 EN DASH at offset 3, outside base64url.');
    expect(found[1]!.message).toBe(
      'The signature has U+00A0 NO-BREAK SPACE at offset 200, outside base64url.',
    );
  });

  it('counts offsets in characters, so an astral character counts once', () => {
    const found = analyseStructure(`${header}.${payload}.ab\u{1f600}c$d`).findings;
    expect(found.map((f) => [f.code, f.offset, f.codePoint])).toEqual([
      ['CHAR_INVALID', 2, 'U+1F600'],
      ['CHAR_INVALID', 4, 'U+0024'],
    ]);
  });

  it('names padding, the standard base64 alphabet and whitespace as such', () => {
    const found = analyseStructure(`${header}.${payload}.ab+c/d e==`).findings;
    expect(found.map((f) => [f.code, f.offset])).toEqual([
      ['CHAR_STANDARD_BASE64', 2],
      ['CHAR_STANDARD_BASE64', 4],
      ['CHAR_WHITESPACE', 6],
      ['CHAR_PADDING', 8],
      ['CHAR_PADDING', 9],
    ]);
  });

  it('counts segments, naming those past the third by number', () => {
    const found = analyseStructure(`${header}.${payload}.${signature}.x$`).findings;
    expect(found[0]).toMatchObject({ code: 'SEGMENT_COUNT', actual: 4 });
    expect(found[1]).toMatchObject({ code: 'CHAR_INVALID', segment: 'segment 4', offset: 1 });
  });

  it('still decodes header and payload when only the signature is damaged', () => {
    const report = analyseStructure(`${header}.${payload}.${signature}\u2013`);
    expect(report.decoded).toBeUndefined();
    expect(report.header).toEqual({ alg: 'RS512', typ: 'JWT', kid: 'k' });
    expect(report.payload).toEqual({ iss: 'a', sub: 'a' });
  });

  it(`lists at most ${MAX_CHAR_FINDINGS} characters, then counts the rest`, () => {
    const found = analyseStructure(`${header}.${payload}.${'\u200b'.repeat(MAX_CHAR_FINDINGS + 5)}`).findings;
    expect(found.filter((f) => f.code === 'CHAR_WHITESPACE')).toHaveLength(MAX_CHAR_FINDINGS);
    expect(found.at(-1)).toMatchObject({ code: 'CHARS_TRUNCATED', count: 5 });
  });

  it('names impossible lengths and undecodable parts', () => {
    expect(codes(`${header}.${payload}.${signature}AAA`)).toEqual(['SEGMENT_LENGTH']); // 345 ≡ 1 (mod 4)
    expect(codes(`${b64url('nope')}.${payload}.${signature}`)).toEqual(['HEADER_UNDECODABLE']);
    expect(codes(`${header}.${b64url('"a string"')}.${signature}`)).toEqual(['PAYLOAD_UNDECODABLE']);
    expect(codes(`${header}.${payload}.${signature.slice(0, 4)}`)).toEqual(['SIGNATURE_LENGTH']);
  });

  it('agrees with the strict decoder: malformed exactly when a finding predicts "Malformed JWT"', () => {
    const segment = fc.oneof(
      fc.constantFrom(header, payload, signature, 'e30', '', 'A', 'AB'),
      fc
        .array(fc.constantFrom('A', 'b', '0', '-', '_', '=', '+', '\u2013', '\u00a0', ' ', '$', 'e30'), {
          maxLength: 12,
        })
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const token = segments.join('.');
        let malformed = false;
        try {
          decodeJws(token);
        } catch {
          malformed = true;
        }
        const predictsMalformed = analyseStructure(token).findings.some(
          (f) => FINDINGS[f.code].rejects === 'clientAssertionMalformed',
        );
        expect(predictsMalformed).toBe(malformed);
      }),
      { numRuns: 500 },
    );
  });
});
