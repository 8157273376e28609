import { beforeAll, describe, expect, it } from 'vitest';
import { diagnose, MAX_REPAIR_CANDIDATES } from '../../../lambda/doctor/index.js';
import {
  editSignature,
  jwksOf,
  makeKey,
  NOW_MS,
  NOW_S,
  signAssertion,
  signUntil,
  type TestKey,
} from './fixtures.js';

const EN = '\u2013';
const EM = '\u2014';

let key: TestKey;
let other: TestKey;
beforeAll(async () => {
  key = await makeKey('proxy-key-1');
  other = await makeKey('proxy-key-2');
});

const sig = (token: string) => token.split('.')[2]!;
/** Offsets of single "-" characters (not part of "--") in a signature. */
const singleDashes = (s: string) => [...s.matchAll(/(?<!-)-(?!-)/g)].map((m) => m.index!);

async function repairOf(damaged: string, jwks: unknown = jwksOf(key)) {
  return diagnose({ assertion: damaged, jwks, nowMs: NOW_MS, environment: 'int' });
}

describe('repair of typographic substitutions in the signature', () => {
  it('recovers "--" turned into an en dash in the middle', async () => {
    const token = await signUntil(key, (s) => s.indexOf('--') > 100 && s.indexOf('--') < 240);
    const at = sig(token).indexOf('--');
    const d = await repairOf(editSignature(token, at, 2, EN));
    expect(d.repair).toMatchObject({
      signatureVerified: true,
      kid: key.kid,
      assertion: token,
      changes: [{ segment: 'signature', offset: at, codePoint: 'U+2013', char: EN, to: '--' }],
    });
    expect(d.findings.find((f) => f.code === 'REPAIR_VERIFIED')).toMatchObject({ kid: key.kid });
    expect(d.predicted?.error_description).toBe('Malformed JWT in client_assertion');
  });

  it('recovers a single "-" turned into an en dash at the start', async () => {
    const token = await signUntil(key, (s) => singleDashes(s).some((i) => i < 8));
    const at = singleDashes(sig(token))[0]!;
    const d = await repairOf(editSignature(token, at, 1, EN));
    expect(d.repair).toMatchObject({
      signatureVerified: true,
      assertion: token,
      changes: [{ offset: at, to: '-' }],
    });
  });

  it('recovers "--" turned into an en dash at the end', async () => {
    const token = await signUntil(key, (s) => s.lastIndexOf('--') >= s.length - 40);
    const at = sig(token).lastIndexOf('--');
    const d = await repairOf(editSignature(token, at, 2, EN));
    expect(d.repair).toMatchObject({
      signatureVerified: true,
      assertion: token,
      changes: [{ offset: at, to: '--' }],
    });
  });

  it('recovers an em dash standing for "--"', async () => {
    const token = await signUntil(key, (s) => s.includes('--') && !s.includes('---'));
    const at = sig(token).indexOf('--');
    const d = await repairOf(editSignature(token, at, 2, EM));
    expect(d.repair).toMatchObject({ signatureVerified: true, changes: [{ codePoint: 'U+2014', to: '--' }] });
  });

  it('recovers several substitutions at once: dashes, invisible spaces and a typographic quote', async () => {
    const token = await signUntil(key, (s) => s.includes('--') && singleDashes(s).length >= 2);
    const s = sig(token);
    const double = s.indexOf('--');
    const single = singleDashes(s).find((i) => Math.abs(i - double) > 3)!;
    // Edit from the end backwards so earlier offsets stay valid.
    const edits = [
      { at: s.length, len: 0, by: '\u200b' },
      { at: double, len: 2, by: EN },
      { at: single, len: 1, by: EM },
      { at: 20, len: 0, by: '\u00a0' },
      { at: 0, len: 0, by: '\u201d' },
    ].sort((a, b) => b.at - a.at);
    const damaged = edits.reduce((t, e) => editSignature(t, e.at, e.len, e.by), token);

    const d = await repairOf(damaged);
    expect(d.repair?.signatureVerified).toBe(true);
    expect(d.repair?.assertion).toBe(token);
    expect(d.repair?.changes.map((c) => [c.codePoint, c.to])).toEqual(
      [...edits]
        .reverse()
        .map((e) => [
          { [EN]: 'U+2013', [EM]: 'U+2014', '\u200b': 'U+200B', '\u00a0': 'U+00A0', '\u201d': 'U+201D' }[
            e.by
          ],
          e.by === EN ? '--' : e.by === EM ? '-' : '',
        ]),
    );
  });

  it('recovers a signature written in standard base64 with padding', async () => {
    const token = await signUntil(key, (s) => /[-_]/.test(s));
    const standard = Buffer.from(sig(token), 'base64url').toString('base64');
    const d = await repairOf(editSignature(token, 0, sig(token).length, standard));
    expect(d.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining(['CHAR_STANDARD_BASE64', 'CHAR_PADDING']),
    );
    expect(d.repair).toMatchObject({ signatureVerified: true, assertion: token });
  });

  it('recovers damage in header and payload, and checks the repaired claims', async () => {
    const token = await signAssertion(key, { claims: { exp: NOW_S - 30 } });
    const [h, p, s] = token.split('.') as [string, string, string];
    const damaged = `${h.slice(0, 4)}\u00a0${h.slice(4)}.${p.slice(0, 9)}\u200b${p.slice(9)}.${s}`;
    const d = await repairOf(damaged);
    expect(d.repair).toMatchObject({
      signatureVerified: true,
      changes: [
        { segment: 'header', offset: 4, codePoint: 'U+00A0' },
        { segment: 'payload', offset: 9, codePoint: 'U+200B' },
      ],
    });
    expect(d.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining(['EXP_EXPIRED', 'SIGNATURE_VERIFIED']),
    );
  });

  it('reports the kid a repaired signature verifies with when the header names another', async () => {
    const token = await signUntil(key, (s) => s.includes('--'), { header: { kid: 'retired-key' } });
    const d = await repairOf(editSignature(token, sig(token).indexOf('--'), 2, EN), jwksOf(other, key));
    expect(d.repair).toMatchObject({ signatureVerified: true, kid: key.kid });
    expect(d.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining(['KID_NOT_IN_JWKS', 'SIGNATURE_OTHER_KEY', 'REPAIR_VERIFIED']),
    );
  });

  it('does not confirm a repair against a JWKS without the signing key', async () => {
    const token = await signUntil(key, (s) => s.includes('--'));
    const d = await repairOf(editSignature(token, sig(token).indexOf('--'), 2, EN), jwksOf(other));
    expect(d.repair).toMatchObject({ signatureVerified: false });
    expect(d.repair?.kid).toBeUndefined();
    expect(d.findings.map((f) => f.code)).toContain('REPAIR_UNVERIFIED');
  });

  it('tries at most MAX_REPAIR_CANDIDATES combinations, the last of which can still verify', async () => {
    // Twelve single "-" as en dashes: 2^12 = 4096 candidates, and the right one ("-" everywhere) is the last.
    const token = await signUntil(key, (s) => (s.match(/-/g) ?? []).length >= 13);
    const dashes = [...sig(token).matchAll(/-/g)].map((m) => m.index!).reverse();
    const damage = (n: number) => dashes.slice(-n).reduce((t, at) => editSignature(t, at, 1, EN), token);

    const started = performance.now();
    const within = await repairOf(damage(12));
    expect(within.repair).toMatchObject({ signatureVerified: true, assertion: token });

    const beyond = await repairOf(damage(13));
    expect(beyond.repair?.signatureVerified).toBe(false);
    expect(beyond.findings.find((f) => f.code.startsWith('REPAIR_'))).toMatchObject({
      candidates: 2 ** 13,
      tried: MAX_REPAIR_CANDIDATES,
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('leaves nothing to repair when no character is a known substitute', async () => {
    const token = await signAssertion(key);
    const d = await repairOf(editSignature(token, 3, 0, '$'));
    expect(d.repair).toBeNull();
    expect(d.findings.map((f) => f.code)).toContain('CHAR_INVALID');
  });
});
