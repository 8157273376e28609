/**
 * Reading e-RS A030 ("retrieve business functions", `GET /referrals/FHIR/R4/PractitionerRole`): the
 * organisations and roles a user may act as, which become the `NHSD-End-User-Organisation-ODS` and
 * `NHSD-eRS-Business-Function` headers of their other e-RS calls (docs/calling.md §4; NHSDigital/
 * e-referrals-service-api `specification/components/r4/schemas/endpoints/a030-retrieve-business-functions.yaml`).
 */

/** Coding system of e-RS business functions in A030's `PractitionerRole.code`. */
export const ERS_BUSINESS_FUNCTION_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/eRS-BusinessFunction-1';

/** One role a user may act in: the values of the two e-RS headers. */
export interface ErsRoleChoice {
  /** `NHSD-End-User-Organisation-ODS`. */
  readonly ods: string;
  /** `NHSD-eRS-Business-Function`. */
  readonly businessFunction: string;
}

/** The (organisation, business function) pairs an A030 Bundle offers, in the Bundle's order. */
export function rolesOfBundle(bundle: unknown): ErsRoleChoice[] {
  const entries = (bundle as { entry?: { resource?: Record<string, unknown> }[] } | undefined)?.entry ?? [];
  return entries.flatMap(({ resource }) => {
    const ods = (resource?.organization as { identifier?: { value?: string } } | undefined)?.identifier
      ?.value;
    const codes = (resource?.code as { coding?: { system?: string; code?: string }[] }[] | undefined) ?? [];
    if (!ods) return [];
    return codes.flatMap(({ coding }) =>
      (coding ?? [])
        .filter((c) => c.system === ERS_BUSINESS_FUNCTION_SYSTEM && typeof c.code === 'string')
        .map((c) => ({ ods, businessFunction: c.code as string })),
    );
  });
}
