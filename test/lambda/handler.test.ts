/** Route lookup must only see the proxy's own routes, never Object.prototype's members. */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lambda/clock.js';
import {
  API_GATEWAY_TIMEOUT_MS,
  createHandler,
  DEADLINE_MARGIN_MS,
  requestDeadline,
} from '../../lambda/handler.js';
import { memoryTelemetry } from '../../lambda/telemetry.js';

const handler = createHandler({
  environment: 'local',
  cis2Issuer: 'http://127.0.0.1/cis2',
  enforceIssuer: true,
  tokens: { getToken: () => Promise.reject(new Error('not reached')) },
  jwks: async () => [],
  telemetry: memoryTelemetry(),
  clock: systemClock,
});

describe('handler routes', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'answers path %s with a JSON 404 and string headers only',
    async (path) => {
      // Act
      const res = await handler({
        httpMethod: 'POST',
        path,
        headers: {},
        body: null,
        isBase64Encoded: false,
      });

      // Assess
      expect(res.statusCode).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'not_found' });
      for (const value of Object.values(res.headers ?? {})) expect(typeof value).toBe('string');
    },
  );
});

describe('handler unknown routes', () => {
  it('does not echo the caller-supplied path, whatever it holds', async () => {
    const pasted = `/token/${'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'}`;
    const res = await handler({
      httpMethod: 'GET',
      path: pasted,
      headers: {},
      body: null,
      isBase64Encoded: false,
    });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('eyJ');
  });
});

describe('requestDeadline', () => {
  it('is the configured budget when the Lambda has time to spare', () => {
    expect(requestDeadline(1_000, 20_000, { getRemainingTimeInMillis: () => 25_000 })).toBe(21_000);
  });

  it("ends before the Lambda's remaining time, less the margin", () => {
    expect(requestDeadline(1_000, 20_000, { getRemainingTimeInMillis: () => 6_000 })).toBe(
      1_000 + 6_000 - DEADLINE_MARGIN_MS,
    );
  });

  it("never runs past API Gateway's 29 s, whatever the budget and the Lambda timeout", () => {
    expect(requestDeadline(0, 60_000, { getRemainingTimeInMillis: () => 900_000 })).toBe(
      API_GATEWAY_TIMEOUT_MS - DEADLINE_MARGIN_MS,
    );
    expect(requestDeadline(0, 60_000)).toBe(API_GATEWAY_TIMEOUT_MS - DEADLINE_MARGIN_MS);
  });
});
