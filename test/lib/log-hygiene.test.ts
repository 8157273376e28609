/**
 * The function log groups carry a CloudWatch Logs data-protection policy that masks what the runtime
 * must never log, and its expressions stay within what CloudWatch accepts.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LOG_DATA_IDENTIFIERS } from '../../lib/proxy-function.js';
import { buildStack, logicalId } from './helpers.js';

/** The characters CloudWatch Logs allows in a custom data identifier's regex. */
const ALLOWED = /^[A-Za-z0-9_#=@/;, \-^$?[\]{}|\\*+.]+$/;

describe('log hygiene', () => {
  const { stack, template } = buildStack('int');
  const resources = template.toJSON().Resources;

  it('both function log groups mask with every identifier', () => {
    for (const fn of [stack.tokenFunction, stack.publicJwks.handler]) {
      const policy = resources[logicalId(fn.logGroup)].Properties.DataProtectionPolicy;
      expect(policy.Configuration.CustomDataIdentifier).toEqual(
        Object.entries(LOG_DATA_IDENTIFIERS).map(([Name, Regex]) => ({ Name, Regex })),
      );
      const masking = policy.Statement.find((st: { Operation: object }) => 'Deidentify' in st.Operation);
      expect(masking).toMatchObject({
        DataIdentifier: Object.keys(LOG_DATA_IDENTIFIERS),
        Operation: { Deidentify: { MaskConfig: {} } },
      });
    }
  });

  it('expressions use only the characters CloudWatch allows, within 200 characters', () => {
    for (const regex of Object.values(LOG_DATA_IDENTIFIERS)) {
      expect(regex.length).toBeLessThanOrEqual(200);
      expect(regex).toMatch(ALLOWED);
    }
  });

  it.each([
    ['JwtShapedString', 'subject_token=eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl'],
    ['ClientSecretValue', 'client_secret=Zx8dQ2pLm4Nv7Rt1&grant_type=refresh_token'],
    ['ClientSecretValue', '{"client_secret":"Zx8dQ2pLm4Nv7Rt1"}'],
    ['AccessTokenValue', '{"access_token":"Sx2sZ1yZ6KqVdL4fW9eT3aB0cD7g"}'],
    ['RefreshTokenValue', 'refresh_token=It2mLx9Yp0QsRr3Vh8Kd6Jf4'],
  ])('%s masks %s', (name, line) => {
    expect(new RegExp(LOG_DATA_IDENTIFIERS[name]!).test(line)).toBe(true);
  });

  it('leaves the ordinary fields of a token_request line alone', () => {
    const line =
      '{"message":"token_request","outcome":"success","kid":"a1b2c3","jti":"0d3c2b1a-1111-4222-8333-944455556666","sub":"555042709107"}';
    for (const regex of Object.values(LOG_DATA_IDENTIFIERS)) expect(new RegExp(regex).test(line)).toBe(false);
  });

  it('the cache table keeps point-in-time recovery for one day only', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 1 },
        }),
      ],
    });
  });
});
