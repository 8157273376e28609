/**
 * Serves the browser doctor page at `GET /doctor` in front of the proxy's handler, for `npm start`.
 * The page is built from source on the first request (so a fresh clone needs no build step and an
 * edited page is never served stale), then kept in memory.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Handler } from '../../lambda/proxy/handler.js';
import { buildDoctorPage, type DoctorPage } from './build.js';

/** The path the page is served at. */
export const DOCTOR_PATH = '/doctor';

/** Wraps `handler` so `GET /doctor` answers the doctor page; every other request goes to `handler`. */
export function withDoctorPage(
  handler: Handler,
  build: () => Promise<DoctorPage> = buildDoctorPage,
): Handler {
  let page: Promise<DoctorPage> | undefined;
  return async (event) => {
    if (event.path !== DOCTOR_PATH) return handler(event);
    if (event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD')
      return text(405, `${event.httpMethod} is not allowed on ${DOCTOR_PATH}; use GET.`, {
        allow: 'GET, HEAD',
      });
    try {
      page ??= build();
      const { html } = await page;
      return {
        statusCode: 200,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          // Only a header can forbid framing; the rest of the policy is in the page's own meta tag.
          'content-security-policy': "frame-ancestors 'none'",
        },
        body: event.httpMethod === 'HEAD' ? '' : html,
      };
    } catch (error) {
      page = undefined; // A failed build is retried on the next request.
      return text(500, `The doctor page could not be built: ${(error as Error).message}`);
    }
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode: status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}
