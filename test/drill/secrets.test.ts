import { describe, expect, it } from 'vitest';
import { expectDrillHolds } from './expect-drill.js';
import { concludeDrill, Verdict } from './invariants.js';
import { startRig } from './rig.js';
import { secretPathsDrill } from './secret-paths.js';
import { LeakScanner } from './secrets.js';

const NOT_FORWARDED = { secrets: 0, texts: 0 };

describe('the leak invariant', () => {
  it('finds a secret whole, or any 32-character piece of one, but not a short piece', () => {
    // Prepare
    const scanner = new LeakScanner(NOT_FORWARDED);
    const long = `eyJhbGciOiJSUzUxMiJ9.${'QWxsIHRoZSB3b3JsZCdzIGEgc3RhZ2U'.repeat(3)}.c2lnbmF0dXJlLWJ5dGVz`;
    scanner.addSecret('harness-client-secret-do-not-log', long, 'short');

    // Act
    scanner.addText({ a: 'the header eyJhbGciOiJSUzUxMiJ9 is public' });
    const clean = scanner.leaks();
    scanner.addText(`… ${long.slice(30, 62)} …`, { secret: 'harness-client-secret-do-not-log' });

    // Assess
    expect(clean).toEqual([]);
    expect(scanner.leaks()).toHaveLength(2);
    expect(scanner.secretCount).toBe(2);
  });

  it('fails a drill whose log line carries an ID token', async () => {
    // Prepare: nothing is forwarded, so the planted leak stays out of this file's leak guard.
    const rig = await startRig({ size: 'fast', forward: NOT_FORWARDED });
    try {
      const token = await rig.idToken('555000999888');
      await rig.post(token, { expectSub: '555000999888' });

      // Act
      rig.telemetry.lines.push({ level: 'info', message: 'oops', fields: { token: token.split('.')[1] } });
      const outcome = await concludeDrill(
        rig,
        { name: 'planted', family: 'secrets', injected: '' },
        new Verdict(),
        {
          did: '',
          startedAt: performance.now(),
        },
      );

      // Assess
      expect(outcome.leaks).toBe(1);
      expect(outcome.violations.join()).toContain('secrets leaked');
    } finally {
      await rig.close();
    }
  });

  it('holds on every path that handles a secret, refresh included', async () => {
    const outcome = await expectDrillHolds(secretPathsDrill);
    expect(outcome.notes.join()).toMatch(/refresh grants [1-9]/);
  });
});
