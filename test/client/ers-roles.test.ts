/** Reading e-RS A030 Bundles into the header values a caller chooses from. */
import { describe, expect, it } from 'vitest';
import { ERS_BUSINESS_FUNCTION_SYSTEM, rolesOfBundle } from '../../client/index.js';

const role = (ods: string | undefined, codings: { system: string; code?: string }[]) => ({
  resource: {
    resourceType: 'PractitionerRole',
    ...(ods === undefined
      ? {}
      : {
          organization: {
            identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ods },
          },
        }),
    code: [{ coding: codings }],
  },
});

describe('rolesOfBundle', () => {
  it('lists each organisation with each of its e-RS business functions, in order', () => {
    // Prepare
    const bundle = {
      resourceType: 'Bundle',
      entry: [
        role('R69', [
          { system: ERS_BUSINESS_FUNCTION_SYSTEM, code: 'SERVICE_PROVIDER_CLINICIAN' },
          { system: 'https://example.org/other', code: 'NOT_AN_ERS_ROLE' },
        ]),
        role(undefined, [{ system: ERS_BUSINESS_FUNCTION_SYSTEM, code: 'NO_ORGANISATION' }]),
        role('R68', [
          { system: ERS_BUSINESS_FUNCTION_SYSTEM, code: 'REFERRING_CLINICIAN' },
          { system: ERS_BUSINESS_FUNCTION_SYSTEM },
        ]),
      ],
    };

    // Act
    const roles = rolesOfBundle(bundle);

    // Assess
    expect(roles).toEqual([
      { ods: 'R69', businessFunction: 'SERVICE_PROVIDER_CLINICIAN' },
      { ods: 'R68', businessFunction: 'REFERRING_CLINICIAN' },
    ]);
  });

  it.each([undefined, null, {}, { entry: [] }, { resourceType: 'OperationOutcome', issue: [] }])(
    'finds no roles in %j',
    (bundle) => {
      expect(rolesOfBundle(bundle)).toEqual([]);
    },
  );
});
