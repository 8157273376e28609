/** The reading of NHS refusals into who must act, on its own (the client's tests drive it through fetch). */
import { describe, expect, it } from 'vitest';
import { PLATFORM_ERRORS } from '../../../../lambda/platform/rules.js';
import { classifyRejection } from '../../../../lambda/proxy/token-endpoint/response.js';

describe('classifyRejection of a failed signature', () => {
  const { status, error, error_description } = PLATFORM_ERRORS.signatureInvalid;
  const upstream = { status, error, error_description };

  it('blames the ID token only on a token exchange', () => {
    expect(classifyRejection('token-exchange', upstream, 'm-1')).toMatchObject({
      code: 'subject_token_rejected',
      status: 401,
    });
  });

  it.each(['refresh_token', 'client_credentials'] as const)(
    'still blames our client authentication on %s, where there is no ID token',
    (grant) => {
      // Act
      const err = classifyRejection(grant, upstream, 'm-1');

      // Assess
      expect(err).toMatchObject({ code: 'client_rejected', status: 500, messageId: 'm-1', upstream });
    },
  );
});
