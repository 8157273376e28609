/**
 * `npm start`'s demonstration (bin/start-demo.ts) the whole way, with the proxy checking SigV4 as
 * API Gateway does: CIS2 ID token → proxy → access token → e-RS A030 → 200, no token printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCurls, runDemo } from '../../bin/start-demo.js';
import { type LocalServer, serveLocally } from '../../lambda/proxy/local-server.js';
import { localSigV4FromEnv } from '../../lambda/proxy/local-sigv4.js';
import { inspect } from '../helpers/leak-guard.js';
import {
  HARNESS_API_KEY,
  HARNESS_CLIENT_SECRET,
  type Harness,
  startHarness,
} from '../helpers/proxy-harness.js';

describe('npm start demonstration', () => {
  const sigv4 = localSigV4FromEnv({ LOCAL_SIGV4: '1' });
  let harness: Harness;
  let signed: LocalServer;

  beforeAll(async () => {
    harness = await startHarness();
    signed = await serveLocally(harness.app.handler, 0, '127.0.0.1', { sigv4 });
    // As in npm start, NHS reads the JWKS from the SigV4-checked server: that route must stay public.
    harness.emulator.registerApp({
      apiKey: HARNESS_API_KEY,
      clientSecret: HARNESS_CLIENT_SECRET,
      jwksUrl: `${signed.url}/jwks.json`,
    });
  });
  afterAll(async () => {
    await signed?.close();
    await harness?.close();
  });

  it('goes from the ID token through the proxy to e-RS A030 and prints each step, never a token', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const result = await runDemo({ emulator: harness.emulator, proxyUrl: signed.url, sigv4 }, (line) =>
      lines.push(line),
    );

    // Assess
    expect(result).toEqual({ ok: true, ersStatus: 200 });
    expect(lines[0]).toMatch(/^demo 1\/3 CIS2 ID token: sub \d+, id_assurance_level 3/);
    expect(lines[1]).toMatch(
      /^demo 2\/3 proxy POST \/token: 200, correlation_id npm-start-demo, .*SigV4 checked/,
    );
    expect(lines[2]).toMatch(
      /^demo 3\/3 e-RS A030 GET \/referrals\/FHIR\/R4\/PractitionerRole: 200, X-Correlation-ID npm-start-demo, X-Request-ID \S+-1$/,
    );
    expect(lines[3]).toContain('R69/SERVICE_PROVIDER_CLINICIAN');
    expect(harness.emulator.ers.records().at(-1)).toMatchObject({
      status: 200,
      correlationId: 'npm-start-demo',
    });
    const issued = harness.emulator.records().at(-1);
    expect(issued?.status).toBe(200);
    // Every token the harness saw is registered with the leak guard; none may be in the output.
    inspect(...lines);
  });

  it('says which step failed and with what, when e-RS refuses', async () => {
    // Prepare
    const lines: string[] = [];
    harness.emulator.ers.throttle(1);

    // Act
    const result = await runDemo({ emulator: harness.emulator, proxyUrl: signed.url, sigv4 }, (line) =>
      lines.push(line),
    );

    // Assess
    expect(result).toEqual({ ok: false, ersStatus: 429 });
    expect(lines.at(-1)).toMatch(/^demo 3\/3 e-RS A030 .* FAILED: 429 throttled/);
  });

  it('answers GET /jwks.json unsigned but nothing else when SigV4 is on', async () => {
    // Act
    const jwks = await fetch(`${signed.url}/jwks.json`);
    const health = await fetch(`${signed.url}/health`);

    // Assess
    expect([jwks.status, health.status]).toEqual([200, 403]);
    expect(await health.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('prints curls that include the e-RS call, signing with curl --aws-sigv4 when SigV4 is on', () => {
    // Act
    const on = demoCurls({ emulator: harness.emulator, proxyUrl: signed.url, sigv4 });
    const off = demoCurls({ emulator: harness.emulator, proxyUrl: signed.url });

    // Assess
    expect(on).toContain(
      `curl -s -i ${harness.emulator.baseUrl}/referrals/FHIR/R4/PractitionerRole -H "Authorization: Bearer $ACCESS_TOKEN"`,
    );
    expect(on).toContain("--aws-sigv4 'aws:amz:eu-west-2:execute-api'");
    expect(off).not.toContain("--aws-sigv4 'aws");
  });
});
