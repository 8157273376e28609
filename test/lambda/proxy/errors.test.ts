/** The error code table: each code's status agrees with who it says must act. */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS, type ErrorCodeInfo, ProxyError } from '../../../lambda/proxy/errors.js';

const codes = Object.entries(ERROR_CODES) as [keyof typeof ERROR_CODES, ErrorCodeInfo][];

describe('ERROR_CODES', () => {
  it.each(codes)('%s: a 4xx exactly when the caller is to blame', (_code, info) => {
    expect(info.status < 500).toBe(info.blame === 'caller');
  });

  it.each(codes)('%s: a failed call is named only for a failure operators see (5xx)', (_code, info) => {
    if (info.failed) expect(info.status).toBeGreaterThanOrEqual(500);
  });

  it('derives ERROR_STATUS and a ProxyError status from the table', () => {
    for (const [code, info] of codes) {
      expect(ERROR_STATUS[code]).toBe(info.status);
      expect(new ProxyError(code, 'm').status).toBe(info.status);
    }
  });
});
