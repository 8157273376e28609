/** Route lookup must only see the proxy's own routes, never Object.prototype's members. */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../lambda/platform/clock.js';
import { b64url } from '../../../lambda/platform/jws.js';
import { ERROR_CODES, ERROR_STATUS, ProxyError, type ProxyErrorCode } from '../../../lambda/proxy/errors.js';
import {
  API_GATEWAY_TIMEOUT_MS,
  createHandler,
  DEADLINE_MARGIN_MS,
  requestDeadline,
} from '../../../lambda/proxy/handler.js';
import { METRIC, memoryTelemetry } from '../../../lambda/proxy/telemetry.js';

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

describe('handler failure metrics', () => {
  // Written out, not derived from ERROR_CODES: the codes NHS's token endpoint fails with, and the
  // codes of the proxy's other calls (KMS, Secrets Manager, CIS2's keys, settings).
  const UPSTREAM: readonly ProxyErrorCode[] = [
    'client_rejected',
    'nhs_unavailable',
    'nhs_bad_response',
    'nhs_rate_limited',
    'nhs_timeout',
  ];
  const DEPENDENCY: readonly ProxyErrorCode[] = [
    'signer_unavailable',
    'signer_misconfigured',
    'secrets_unavailable',
    'config_error',
    'cis2_keys_unavailable',
  ];
  const ISSUER = 'http://127.0.0.1/cis2';
  const idToken = [
    b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'cis2' })),
    b64url(
      JSON.stringify({
        iss: ISSUER,
        sub: '787807429511',
        aud: 'client',
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    ),
    'c2ln',
  ].join('.');

  it.each(Object.keys(ERROR_CODES) as ProxyErrorCode[])(
    'counts a %s failure where it belongs',
    async (code) => {
      // Prepare
      const telemetry = memoryTelemetry();
      const failing = createHandler({
        environment: 'local',
        cis2Issuer: ISSUER,
        enforceIssuer: true,
        tokens: { getToken: () => Promise.reject(new ProxyError(code, 'failed')) },
        jwks: async () => [],
        telemetry,
        clock: systemClock,
      });

      // Act
      const res = await failing({
        httpMethod: 'POST',
        path: '/token',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject_token: idToken }),
        isBase64Encoded: false,
      });

      // Assess
      expect(JSON.parse(res.body), res.body).toMatchObject({ error: code });
      const { counters } = telemetry;
      expect(counters.get(METRIC.upstreamFailure)).toBe(UPSTREAM.includes(code) ? 1 : 0);
      expect(counters.get(METRIC.dependencyFailure)).toBe(DEPENDENCY.includes(code) ? 1 : 0);
      expect(counters.get(METRIC.requestFailed)).toBe(ERROR_STATUS[code] >= 500 ? 1 : 0);
      expect(counters.get(METRIC.clientError)).toBe(ERROR_STATUS[code] < 500 ? 1 : 0);
    },
  );
});
