/**
 * `SESSION_OUTLIVES_ID_TOKEN` through the handler: by default the `expires_in` a caller gets never
 * runs past its ID token's `exp`, whether the token came from NHS or from the cache; with the
 * option the access token's own lifetime is reported.
 */
import { describe, expect, it } from 'vitest';
import { type FakeKmsKey, rsaKey } from '../../../helpers/kms.js';
import { HARNESS_KEY_ARN, startHarness } from '../../../helpers/proxy-harness.js';

const kmsKey: FakeKmsKey = { keyId: HARNESS_KEY_ARN, privateKey: rsaKey() };

describe('expires_in against the ID token exp', () => {
  it.each([
    ['cache on, default', 120, {}],
    ['cache off, default', 120, { CACHE: 'off' }],
    ['cache on, SESSION_OUTLIVES_ID_TOKEN=true', 599, { SESSION_OUTLIVES_ID_TOKEN: 'true' }],
    ['cache off, SESSION_OUTLIVES_ID_TOKEN=true', 599, { CACHE: 'off', SESSION_OUTLIVES_ID_TOKEN: 'true' }],
  ])(
    '%s: an ID token with 120 s left gets expires_in %i, fresh and cached',
    async (_name, expected, env: Record<string, string>) => {
      // Prepare
      const h = await startHarness({ kmsKey, env });
      try {
        const idToken = await h.idToken({ exp: Math.floor(Date.now() / 1000) + 121 });

        // Act
        const fresh = await h.postToken({ subject_token: idToken });
        const again = await h.postToken({ subject_token: idToken });

        // Assess
        for (const res of [fresh, again]) {
          expect(res.status).toBe(200);
          expect(res.body.expires_in).toBeGreaterThanOrEqual(expected - 2);
          expect(res.body.expires_in).toBeLessThanOrEqual(expected);
        }
        expect(h.emulator.records()).toHaveLength(env.CACHE === 'off' ? 2 : 1);
      } finally {
        await h.close();
      }
    },
  );
});
