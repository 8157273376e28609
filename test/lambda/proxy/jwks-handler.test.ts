import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJwksHandler, logJwksFailure } from '../../../lambda/proxy/jwks-handler.js';

describe('public JWKS handler', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers 503 and reports the cause when the public keys cannot be read', async () => {
    // Prepare
    const cause = Object.assign(new Error('kms:GetPublicKey denied on key/abc'), {
      name: 'AccessDeniedException',
    });
    const reported: unknown[] = [];
    const handler = createJwksHandler(
      () => Promise.reject(cause),
      (e) => reported.push(e),
    );

    // Act
    const response = await handler({ httpMethod: 'GET' });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'signer_unavailable' });
    expect(reported).toEqual([cause]);
  });

  it('reports nothing when the keys are served', async () => {
    const report = vi.fn();
    const handler = createJwksHandler(() => Promise.resolve([]), report);
    const response = await handler({ httpMethod: 'GET' });
    expect(response.statusCode).toBe(200);
    expect(report).not.toHaveBeenCalled();
  });

  it('logs one jwks_unavailable JSON line with the error name and message by default', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => lines.push(line));
    logJwksFailure(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        level: 'ERROR',
        message: 'jwks_unavailable',
        error_name: 'ThrottlingException',
        error_message: 'throttled',
      },
    ]);
  });
});
