/**
 * Every finding code, raised by an assertion (or JWKS) built for it. The scenario table is typed
 * as a record over all codes, so a new code does not compile until it has a scenario here.
 */
import { readFileSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DiagnoseInput, diagnose, FINDINGS, type FindingCode } from '../../../lambda/doctor/index.js';
import { b64url } from '../../../lambda/platform/jws.js';
import {
  PLATFORM_ERRORS,
  PLATFORM_TOKEN_URLS,
  type PlatformErrorName,
  URN,
} from '../../../lambda/platform/rules.js';
import {
  API_KEY,
  editSignature,
  INT_URL,
  jwksOf,
  makeKey,
  NOW_MS,
  NOW_S,
  signAssertion,
  signUntil,
  type TestKey,
} from './fixtures.js';

interface Keys {
  main: TestKey;
  other: TestKey;
  dev: TestKey;
  /** A good assertion by `main` whose signature contains "--". */
  dashed: string;
}

interface Scenario {
  input: DiagnoseInput;
  /** The platform error the diagnosis must predict; `null` for accept. */
  predicted: PlatformErrorName | null;
}

const at = (assertion: string, more: Partial<DiagnoseInput> = {}): DiagnoseInput => ({
  assertion,
  nowMs: NOW_MS,
  environment: 'int',
  ...more,
});

const withJwks = (assertion: string, jwks: unknown, more: Partial<DiagnoseInput> = {}) =>
  at(assertion, { jwks, ...more });

const enDashed = (k: Keys) => {
  const s = k.dashed.split('.')[2]!;
  return editSignature(k.dashed, s.indexOf('--'), 2, '\u2013');
};

const insertInSignature = (token: string, offset: number, text: string) =>
  editSignature(token, offset, 0, text);

const segments = (token: string) => token.split('.') as [string, string, string];

const SCENARIOS: Record<FindingCode, (k: Keys) => Promise<Scenario>> = {
  INPUT_WHITESPACE: async (k) => ({ input: at(`  ${await signAssertion(k.main)}\n`), predicted: null }),
  INPUT_QUOTES: async (k) => ({ input: at(`\u201c${await signAssertion(k.main)}\u201d`), predicted: null }),
  INPUT_BEARER_PREFIX: async (k) => ({ input: at(`Bearer ${await signAssertion(k.main)}`), predicted: null }),
  INPUT_LINE_BREAKS: async (k) => ({
    input: at((await signAssertion(k.main)).replace(/(.{76})/g, '$1\n    ')),
    predicted: null,
  }),
  INPUT_FORM_BODY: async (k) => ({
    input: at(
      `grant_type=${URN.tokenExchange}&client_assertion_type=${encodeURIComponent(URN.clientAssertionType)}&client_assertion=${await signAssertion(k.main)}`,
    ),
    predicted: null,
  }),
  FORM_ASSERTION_TYPE_INVALID: async (k) => ({
    input: at(`grant_type=client_credentials&client_assertion=${await signAssertion(k.main)}`),
    predicted: 'clientAssertionType',
  }),
  ASSERTION_MISSING: async () => ({ input: at('  '), predicted: 'clientAssertionMissing' }),

  SEGMENT_COUNT: async (k) => {
    const [h, p] = segments(await signAssertion(k.main));
    return { input: at(`${h}.${p}`), predicted: 'clientAssertionMalformed' };
  },
  CHAR_TYPOGRAPHIC_DASH: async (k) => ({ input: at(enDashed(k)), predicted: 'clientAssertionMalformed' }),
  CHAR_TYPOGRAPHIC_QUOTE: async (k) => ({
    input: at(insertInSignature(await signAssertion(k.main), 5, '\u2019')),
    predicted: 'clientAssertionMalformed',
  }),
  CHAR_WHITESPACE: async (k) => ({
    input: at(insertInSignature(await signAssertion(k.main), 100, '\u00a0')),
    predicted: 'clientAssertionMalformed',
  }),
  CHAR_PADDING: async (k) => ({
    input: at(`${await signAssertion(k.main)}==`),
    predicted: 'clientAssertionMalformed',
  }),
  CHAR_STANDARD_BASE64: async (k) => ({
    input: at(editSignature(await signAssertion(k.main), 0, 1, '+')),
    predicted: 'clientAssertionMalformed',
  }),
  CHAR_INVALID: async (k) => ({
    input: at(insertInSignature(await signAssertion(k.main), 7, '$')),
    predicted: 'clientAssertionMalformed',
  }),
  CHARS_TRUNCATED: async (k) => ({
    input: at(insertInSignature(await signAssertion(k.main), 10, '\u200b'.repeat(25))),
    predicted: 'clientAssertionMalformed',
  }),
  SEGMENT_LENGTH: async (k) => ({
    input: at(`${await signAssertion(k.main)}AAA`),
    predicted: 'clientAssertionMalformed',
  }),
  HEADER_UNDECODABLE: async (k) => {
    const [, p, s] = segments(await signAssertion(k.main));
    return { input: at(`${b64url('{"alg":"RS512",')}.${p}.${s}`), predicted: 'clientAssertionMalformed' };
  },
  PAYLOAD_UNDECODABLE: async (k) => {
    const [h, , s] = segments(await signAssertion(k.main));
    return { input: at(`${h}.${b64url('[1,2]')}.${s}`), predicted: 'clientAssertionMalformed' };
  },
  SIGNATURE_LENGTH: async (k) => ({
    input: at((await signAssertion(k.main)).slice(0, -2)),
    predicted: null,
  }),

  ALG_NOT_RS512: async (k) => ({
    input: at(await signAssertion(k.main, { header: { alg: 'RS256' } })),
    predicted: 'assertionAlg',
  }),
  EXP_EXPIRED: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { exp: NOW_S - 1 } })),
    predicted: 'assertionExpired',
  }),
  KID_MISSING: async (k) => ({
    input: at(await signAssertion(k.main, { header: { kid: undefined } })),
    predicted: 'assertionKidMissing',
  }),
  TYP_INVALID: async (k) => ({
    input: at(await signAssertion(k.main, { header: { typ: 'at+jwt' } })),
    predicted: 'assertionTyp',
  }),
  EXP_MISSING: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { exp: undefined } })),
    predicted: 'assertionExpMissing',
  }),
  EXP_NOT_NUMBER: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { exp: String(NOW_S + 60) } })),
    predicted: 'assertionExpType',
  }),
  EXP_FRACTIONAL: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { exp: NOW_S + 60.5 } })),
    predicted: null,
  }),
  ISS_SUB_INVALID: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { iss: undefined } })),
    predicted: 'assertionIssSub',
  }),
  JTI_MISSING: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { jti: undefined } })),
    predicted: 'assertionJtiMissing',
  }),
  JTI_NOT_STRING: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { jti: 42 } })),
    predicted: 'assertionJtiType',
  }),
  EXP_TOO_FAR: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { exp: NOW_S + 311 } })),
    predicted: 'assertionExpTooFar',
  }),
  HEADER_JKU_IGNORED: async (k) => ({
    input: at(await signAssertion(k.main, { header: { jku: 'https://example.org/jwks.json' } })),
    predicted: null,
  }),
  API_KEY_MISMATCH: async (k) => ({
    input: at(await signAssertion(k.main), { apiKey: 'AnotherAppsKey' }),
    predicted: 'unknownApiKey',
  }),

  SIGNATURE_NOT_CHECKED: async (k) => ({ input: at(await signAssertion(k.main)), predicted: null }),
  KID_NOT_IN_JWKS: async (k) => ({
    input: withJwks(await signAssertion(k.main, { header: { kid: 'retired-key' } }), jwksOf(k.main)),
    predicted: 'assertionKidUnknown',
  }),
  SIGNATURE_INVALID: async (k) => ({
    input: withJwks(await signAssertion(k.other, { header: { kid: k.main.kid } }), jwksOf(k.main)),
    predicted: 'signatureInvalid',
  }),
  SIGNATURE_OTHER_KEY: async (k) => ({
    input: withJwks(await signAssertion(k.other, { header: { kid: k.main.kid } }), jwksOf(k.main, k.other)),
    predicted: 'signatureInvalid',
  }),
  SIGNATURE_VERIFIED: async (k) => ({
    input: withJwks(await signAssertion(k.main), jwksOf(k.main)),
    predicted: null,
  }),
  KID_OTHER_ENVIRONMENT: async (k) => ({
    input: withJwks(await signAssertion(k.dev), jwksOf(k.dev)),
    predicted: null,
  }),

  AUD_MISSING: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { aud: undefined } })),
    predicted: 'assertionAud',
  }),
  AUD_MISMATCH: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { aud: `${INT_URL}/` } })),
    predicted: 'assertionAud',
  }),
  AUD_OTHER_ENVIRONMENT: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { aud: PLATFORM_TOKEN_URLS.prod } }), {
      apiKey: API_KEY,
    }),
    predicted: 'assertionAud',
  }),
  AUD_NOT_CHECKED: async (k) => ({
    input: at(await signAssertion(k.main), { environment: undefined }),
    predicted: null,
  }),
  AUD_UNKNOWN: async (k) => ({
    input: at(await signAssertion(k.main, { claims: { aud: 'https://example.org/token' } }), {
      environment: undefined,
    }),
    predicted: null,
  }),

  JWKS_UNPARSEABLE: async (k) => ({
    input: withJwks(await signAssertion(k.main), 'not a JWKS'),
    predicted: null,
  }),
  JWKS_TYPOGRAPHIC_QUOTES: async (k) => {
    // Opening quotes become “ and closing ones ”, as a word processor types them.
    const curly = JSON.stringify(jwksOf(k.main)).replace(/"([^"]*)"/g, '\u201c$1\u201d');
    return { input: withJwks(await signAssertion(k.main), curly), predicted: null };
  },
  JWKS_NOT_A_SET: async (k) => ({
    input: withJwks(await signAssertion(k.main), k.main.jwk),
    predicted: null,
  }),
  JWKS_EMPTY: async (k) => ({
    input: withJwks(await signAssertion(k.main), { keys: [] }),
    predicted: 'assertionKidUnknown',
  }),
  JWKS_PRIVATE_KEY: async (k) => ({
    input: withJwks(await signAssertion(k.main), {
      keys: [{ ...(await exportJWK(k.main.privateKey)), kid: k.main.kid }],
    }),
    predicted: null,
  }),
  JWKS_DUPLICATE_KID: async (k) => ({
    input: withJwks(await signAssertion(k.main), jwksOf(k.main, k.main)),
    predicted: null,
  }),
  JWKS_USE_NOT_SIG: async (k) => ({
    input: withJwks(await signAssertion(k.main), { keys: [{ ...k.main.jwk, use: 'enc' }] }),
    predicted: null,
  }),
  JWKS_ALG_NOT_RS512: async (k) => ({
    input: withJwks(await signAssertion(k.main), { keys: [{ ...k.main.jwk, alg: 'RS256' }] }),
    predicted: null,
  }),
  JWKS_KID_MISSING: async (k) => ({
    input: withJwks(await signAssertion(k.main), { keys: [k.main.jwk, { ...k.other.jwk, kid: undefined }] }),
    predicted: null,
  }),
  JWKS_KEY_NOT_RSA: async (k) => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const ec = { ...(await exportJWK(publicKey)), kid: 'ec-key', use: 'sig' };
    return { input: withJwks(await signAssertion(k.main), { keys: [k.main.jwk, ec] }), predicted: null };
  },
  JWKS_KEY_UNUSABLE: async (k) => ({
    input: withJwks(await signAssertion(k.main), {
      keys: [{ kty: 'RSA', kid: k.main.kid, use: 'sig', n: 42 }],
    }),
    predicted: 'signatureInvalid',
  }),
  KEY_TOO_SMALL: async (k) => ({
    input: withJwks(await signAssertion(k.main), jwksOf(k.main)),
    predicted: null,
  }),

  REPAIR_VERIFIED: async (k) => ({
    input: withJwks(enDashed(k), jwksOf(k.main)),
    predicted: 'clientAssertionMalformed',
  }),
  REPAIR_UNVERIFIED: async (k) => ({ input: at(enDashed(k)), predicted: 'clientAssertionMalformed' }),
  REPAIR_FAILED: async (k) => ({
    input: withJwks(insertInSignature(enDashed(k), 3, '$'), jwksOf(k.main)),
    predicted: 'clientAssertionMalformed',
  }),
};

describe('every finding code', () => {
  let keys: Keys;
  beforeAll(async () => {
    const main = await makeKey('proxy-key-1');
    keys = {
      main,
      other: await makeKey('proxy-key-2'),
      dev: await makeKey('proxy-dev-1'),
      dashed: await signUntil(main, (s) => s.includes('--')),
    };
  });

  it.each(Object.keys(SCENARIOS) as FindingCode[])('%s is raised by an input built for it', async (code) => {
    const { input, predicted } = await SCENARIOS[code](keys);
    const diagnosis = await diagnose(input);
    const raised = diagnosis.findings.filter((f) => f.code === code);
    expect(raised.length, JSON.stringify(diagnosis.findings.map((f) => f.code))).toBeGreaterThan(0);
    for (const f of raised)
      expect(f).toMatchObject({ severity: FINDINGS[code].severity, fix: FINDINGS[code].fix });
    expect(diagnosis.predicted).toEqual(predicted ? { ...PLATFORM_ERRORS[predicted] } : null);
    expect(diagnosis.verdict).toBe(predicted ? 'reject' : 'accept');

    // Nothing reported may carry a piece of the assertion's segments (a replayable credential).
    const reported = JSON.stringify(diagnosis.findings);
    for (const run of input.assertion.match(/[A-Za-z0-9_-]{24,}/g) ?? [])
      for (let i = 0; i + 16 <= run.length; i += 8) expect(reported).not.toContain(run.slice(i, i + 16));
  });

  it('documents every code with its severity in docs/doctor.md', () => {
    const doc = readFileSync(new URL('../../../docs/doctor.md', import.meta.url), 'utf8');
    const missing = Object.entries(FINDINGS)
      .filter(([code, { severity }]) => !new RegExp(`^\\| \`${code}\` +\\| ${severity} +\\|`, 'm').test(doc))
      .map(([code]) => code);
    expect(missing).toEqual([]);
  });

  it('reports no findings at all for a good assertion signed with an RSA 4096 key', async () => {
    const big = await makeKey('proxy-int-4096', 4096);
    const diagnosis = await diagnose(withJwks(await signAssertion(big), jwksOf(big), { apiKey: API_KEY }));
    expect(diagnosis.findings.map((f) => f.code)).toEqual(['SIGNATURE_VERIFIED']);
    expect(diagnosis).toMatchObject({ verdict: 'accept', predicted: null, repair: null });
  });
});
