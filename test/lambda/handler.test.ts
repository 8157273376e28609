/** Route lookup must only see the proxy's own routes, never Object.prototype's members. */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lambda/clock.js';
import { createHandler } from '../../lambda/handler.js';
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
