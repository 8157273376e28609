import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { ProxyEvent } from '../../../lambda/proxy/handler.js';
import { buildDoctorPage } from '../../../web/doctor/build.js';
import { DOCTOR_PATH, withDoctorPage } from '../../../web/doctor/serve.js';

const event = (httpMethod: string, path: string): ProxyEvent => ({
  httpMethod,
  path,
  headers: {},
  body: null,
  isBase64Encoded: false,
});
const page = { html: '<!doctype html><title>doctor</title>', htmlBytes: 36, scriptBytes: 0 };

describe('GET /doctor in front of the proxy handler', () => {
  it('answers the page, built once, and passes every other path to the handler', async () => {
    const handler = vi.fn(async () => ({ statusCode: 204, body: '' }));
    const build = vi.fn(async () => page);
    const serve = withDoctorPage(handler, build);

    const first = await serve(event('GET', DOCTOR_PATH));
    await serve(event('GET', DOCTOR_PATH));
    expect(first).toMatchObject({ statusCode: 200, body: page.html });
    expect(first.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
    expect(build).toHaveBeenCalledTimes(1);
    expect(handler).not.toHaveBeenCalled();

    expect(await serve(event('POST', '/token'))).toEqual({ statusCode: 204, body: '' });
    expect(await serve(event('GET', `${DOCTOR_PATH}/x`))).toEqual({ statusCode: 204, body: '' });
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('refuses other methods, and retries a build that failed', async () => {
    const build = vi.fn().mockRejectedValueOnce(new Error('esbuild exploded')).mockResolvedValue(page);
    const serve = withDoctorPage(async () => ({ statusCode: 404, body: '' }), build);
    expect(await serve(event('POST', DOCTOR_PATH))).toMatchObject({
      statusCode: 405,
      headers: { allow: 'GET, HEAD' },
    });
    expect(await serve(event('GET', DOCTOR_PATH))).toMatchObject({
      statusCode: 500,
      body: 'The doctor page could not be built: esbuild exploded',
    });
    expect(await serve(event('GET', DOCTOR_PATH))).toMatchObject({ statusCode: 200, body: page.html });
  });
});

describe('the built page', () => {
  it('is one file: inline script and styles pinned by the policy, nothing loaded from elsewhere', async () => {
    const { html, htmlBytes } = await buildDoctorPage();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    expect(scripts.map((s) => s[1])).toEqual(['']);
    expect(styles).toHaveLength(1);
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1];
    expect(csp).toContain(`script-src ${hash(scripts[0]![2]!)};`);
    expect(csp).toContain(`style-src ${hash(styles[0]![1]!)};`);
    // No attribute loads anything: the only URL-bearing attribute is the empty data: icon.
    expect(html.match(/\s(?:src|href)="[^"]*"/g)).toEqual([' href="data:,"']);
    expect(html).toContain('Nothing leaves this machine.');
    expect(htmlBytes).toBe(Buffer.byteLength(html));
  });
});
