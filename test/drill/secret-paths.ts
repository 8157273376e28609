/**
 * The secrets drill: every path that handles a secret (exchange, cached answers, refresh with the
 * client secret and a single-use refresh token, NHS errors), run once, with every log line and
 * answer checked by the leak invariant that every drill also runs (see secrets.ts). A canary
 * first proves the scanner finds a leak at all, so a silent checker cannot pass the suite.
 */
import { concludeDrill, type Drill, type DrillContext, Verdict } from './invariants.js';
import { startRig } from './rig.js';
import { LeakScanner } from './secrets.js';
import { freshSub } from './upstream-faults.js';

/** Seconds an access token lives in this drill, so refreshes happen within it. */
const ACCESS_TTL_S = 3;

/** Checks the scanner against a planted leak, without telling the process-wide leak guard. */
function canary(verdict: Verdict): void {
  const scanner = new LeakScanner({ secrets: 0, texts: 0 });
  const secret = 'Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1enF1dXpxdXV6cXV1eg';
  scanner.addSecret(secret);
  scanner.addText({ note: `prefix ${secret.slice(9, 41)} suffix` });
  verdict.check(scanner.leaks().length === 1, 'canary: a 32-character piece of a secret went unnoticed');
  const clean = new LeakScanner({ secrets: 0, texts: 0 });
  clean.addSecret(secret);
  clean.addText({ note: secret.slice(0, 20) });
  verdict.check(clean.leaks().length === 0, 'canary: a 20-character piece counted as a leak');
}

/** Every secret-bearing path once, under the leak invariant. */
export const secretPathsDrill: Drill = {
  name: 'secrets-every-path',
  family: 'secrets',
  injected:
    'ID tokens, assertions, access and refresh tokens, client secret through exchange, cache, refresh, NHS errors',
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const rig = await startRig({
      size,
      forward,
      sharedTier: true,
      emulator: { accessTokenTtlS: ACCESS_TTL_S },
      env: { CACHE_MARGIN_S: '1' },
    });
    try {
      const verdict = new Verdict();
      canary(verdict);
      const users = size === 'full' ? 20 : 3;
      const sessions = await Promise.all(
        Array.from({ length: users }, async () => {
          const sub = freshSub('3');
          return { sub, token: await rig.idToken(sub) };
        }),
      );

      // Act: exchange, cached answers, NHS errors, then refreshes once the access tokens age.
      for (const { sub, token } of sessions) {
        await rig.post(token, { expectSub: sub });
        await rig.post(token, { expectSub: sub });
      }
      rig.inject({ kind: 'status', status: 500 }, 3);
      await rig.post((sessions[0] as { token: string }).token, { expectSub: sessions[0]?.sub });
      await new Promise((resolve) => setTimeout(resolve, (ACCESS_TTL_S - 1) * 1000 + 200));
      for (const { sub, token } of sessions) await rig.post(token, { expectSub: sub });

      // Assess
      const grants = rig.harness.emulator.records().map((r) => r.grantType);
      const refreshes = grants.filter((g) => g === 'refresh_token').length;
      verdict.check(
        refreshes > 0,
        'no refresh grant was exercised: the refresh token and client secret went unchecked',
      );
      verdict.note(`refresh grants ${refreshes}`);
      verdict.note(`secrets held ${rig.scanner.secretCount}`);
      return await concludeDrill(rig, secretPathsDrill, verdict, {
        did: `no secret in ${rig.telemetry.lines.length} log lines or any answer; canary caught`,
        startedAt,
      });
    } finally {
      await rig.close();
    }
  },
};

/** The secrets family. */
export const SECRETS_DRILLS: readonly Drill[] = [secretPathsDrill];
