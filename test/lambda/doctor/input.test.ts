import { describe, expect, it } from 'vitest';
import { normaliseInput } from '../../../lambda/doctor/input.js';
import { URN } from '../../../lambda/platform/rules.js';

const TOKEN = 'eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJhIn0.c2lnbmF0dXJl';
const codes = (pasted: string) => normaliseInput(pasted).findings.map((f) => f.code);

describe('normaliseInput', () => {
  it('passes a clean assertion through without findings', () => {
    expect(normaliseInput(TOKEN)).toEqual({ assertion: TOKEN, findings: [], clientAssertionType: undefined });
  });

  it.each([
    ['surrounding whitespace', `\n  ${TOKEN}  \n`, ['INPUT_WHITESPACE']],
    ['straight quotes', `"${TOKEN}"`, ['INPUT_QUOTES']],
    ['typographic quotes', `\u201c${TOKEN}\u201d`, ['INPUT_QUOTES']],
    ['single typographic quotes', `\u2018${TOKEN}\u2019`, ['INPUT_QUOTES']],
    ['a Bearer prefix', `Bearer ${TOKEN}`, ['INPUT_BEARER_PREFIX']],
    [
      'quotes around a Bearer prefix',
      ` 'bearer  ${TOKEN}' `,
      ['INPUT_WHITESPACE', 'INPUT_QUOTES', 'INPUT_BEARER_PREFIX'],
    ],
    [
      'wrapped lines with indentation',
      `${TOKEN.slice(0, 10)}\r\n    ${TOKEN.slice(10, 30)}\n\t${TOKEN.slice(30)}`,
      ['INPUT_LINE_BREAKS'],
    ],
  ])('removes %s and reports it', (_what, pasted, expected) => {
    const result = normaliseInput(pasted);
    expect(result.assertion).toBe(TOKEN);
    expect(result.findings.map((f) => f.code)).toEqual(expected);
  });

  it('reports the quotes it removed', () => {
    expect(normaliseInput(`\u201c${TOKEN}\u201d`).findings[0]).toMatchObject({ quotes: '\u201c…\u201d' });
  });

  it('counts line breaks', () => {
    expect(
      normaliseInput(`${TOKEN.slice(0, 5)}\n${TOKEN.slice(5, 9)}\n${TOKEN.slice(9)}`).findings[0],
    ).toMatchObject({ count: 2 });
  });

  it('leaves whitespace inside a line for the structure check', () => {
    expect(normaliseInput(`${TOKEN.slice(0, 5)} ${TOKEN.slice(5)}`)).toMatchObject({ findings: [] });
  });

  it('reads client_assertion from a whole form body and checks its client_assertion_type', () => {
    const body = new URLSearchParams({
      grant_type: URN.tokenExchange,
      subject_token_type: URN.idToken,
      subject_token: 'x.y.z',
      client_assertion_type: URN.clientAssertionType,
      client_assertion: TOKEN,
    }).toString();
    expect(normaliseInput(body)).toMatchObject({
      assertion: TOKEN,
      clientAssertionType: URN.clientAssertionType,
    });
    expect(codes(body)).toEqual(['INPUT_FORM_BODY']);
  });

  it('flags a whole form body with a missing or wrong client_assertion_type', () => {
    expect(codes(`grant_type=client_credentials&client_assertion=${TOKEN}`)).toEqual([
      'INPUT_FORM_BODY',
      'FORM_ASSERTION_TYPE_INVALID',
    ]);
    const wrong = normaliseInput(`client_assertion_type=jwt&client_assertion=${TOKEN}`);
    expect(wrong.findings[1]).toMatchObject({
      code: 'FORM_ASSERTION_TYPE_INVALID',
      actual: 'jwt',
      expected: URN.clientAssertionType,
    });
  });

  it('takes a lone client_assertion=... as a labelled token, with no type to check', () => {
    expect(codes(`client_assertion=${TOKEN}`)).toEqual(['INPUT_FORM_BODY']);
  });

  it('decodes the form encoding as the platform does', () => {
    expect(
      normaliseInput(`a=1&client_assertion=${TOKEN.slice(0, 8)}%E2%80%93${TOKEN.slice(8)}`).assertion,
    ).toBe(`${TOKEN.slice(0, 8)}\u2013${TOKEN.slice(8)}`);
    expect(normaliseInput(`a=1&client_assertion=ab+cd`).assertion).toBe('ab cd');
  });

  it('reports a missing assertion', () => {
    expect(codes('')).toEqual(['ASSERTION_MISSING']);
    expect(codes('""')).toEqual(['INPUT_QUOTES', 'ASSERTION_MISSING']);
    expect(
      codes(
        `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(URN.clientAssertionType)}`,
      ),
    ).toEqual(['INPUT_FORM_BODY', 'ASSERTION_MISSING']);
  });
});
