/**
 * An e-RS (NHS e-Referral Service) FHIR R4 stand-in: the one endpoint a caller needs right after
 * the token exchange, A030 "retrieve business functions" (`GET /referrals/FHIR/R4/PractitionerRole`),
 * behind the checks the e-RS API proxy makes before any backend sees the request. It proves an
 * access token from the emulated platform opens e-RS, and gives the caller the
 * `NHSD-eRS-Business-Function` and `NHSD-End-User-Organisation-ODS` values other endpoints need.
 *
 * Shapes come from NHSDigital/e-referrals-service-api (commit c2761d38, see docs/nhs-platform.md §6):
 * - the order of checks: `proxies/live/apiproxy/targets/ers-target.xml` (PreFlow `OauthV2.VerifyAccessToken`,
 *   then `FlowCallout.ApplyRateLimiting`, then in the user-restricted flow `RaiseFault.401InsufficientIal`
 *   when `x-ers-id-assurance-level` < 3, the token's `id_token-id-assurance-level` attribute);
 * - the error body: `AssignMessage.OperationOutcomeErrorResponse.xml` with the R4 variables of
 *   `AssignMessage.SetOperationOutcomeVariablesR4.xml` (profile, `NHSD-API-ErrorOrWarningCode`, `ACCESS_DENIED`);
 *   a bad token: issue code `login` (`AssignMessage.SetOperationOutcomeIssueCodeLogin.xml`) and the Apigee
 *   fault string, "invalid access token" for an unknown one (`tests/integration/test_headers.py`,
 *   `test_unknown_access_code`, which also expects `WWW-Authenticate` with `error="invalid_token"`);
 *   low identity assurance: 401 `forbidden` "We couldn't verify your identity…"
 *   (`AssignMessage.SetOperationOutcomeIssueIal.xml`); throttling: 429 `throttled` / `TOO_MANY_REQUESTS`
 *   without diagnostics (`AssignMessage.RatelimitOperationOutcomeResponse.xml`);
 * - the 200 body: `sandbox/src/mocks/r4/retrieveBusinessFunctions/responses/PractitionerRoleBundle.json`
 *   and `specification/components/r4/schemas/endpoints/a030-retrieve-business-functions.yaml`;
 * - `X-Request-ID`: the backend's `X_ERS_TRANSACTION_ID` on a backend answer (`AssignMessage.Swap.TransactionID.xml`,
 *   example `58621d65-d5ad-4c3a-959f-0438e355990e-1`); on a proxy-level error no backend was called, and the
 *   e-RS tests expect the caller's own `X-Request-ID` back (`test_unknown_access_code`).
 *
 * UNCONFIRMED: the diagnostics of an expired token ("Access Token expired" is Apigee's
 * `keymanagement.service.access_token_expired` fault string; no NHS test pins it) and of a missing one.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERS_BUSINESS_FUNCTION_SYSTEM } from '../client/ers-roles.js';
import type { Clock } from '../lambda/platform/clock.js';
import type { AccessTokenInfo } from './token-store.js';

/** Where e-RS FHIR lives under the platform's base URL. */
export const ERS_FHIR_BASE_PATH = '/referrals/FHIR';
/** A030, retrieve business functions. */
export const ERS_A030_PATH = `${ERS_FHIR_BASE_PATH}/R4/PractitionerRole`;

/** The media type of every e-RS R4 body. */
export const FHIR_JSON = 'application/fhir+json';

/** Coding systems of A030 answers and OperationOutcomes. */
export const ERS_SYSTEMS = {
  businessFunction: ERS_BUSINESS_FUNCTION_SYSTEM,
  odsCode: 'https://fhir.nhs.uk/Id/ods-organization-code',
  sdsUserId: 'https://fhir.nhs.uk/Id/sds-user-id',
  errorOrWarning: 'https://fhir.nhs.uk/CodeSystem/NHSD-API-ErrorOrWarningCode',
  operationOutcomeProfile: 'https://www.hl7.org/fhir/R4/operationoutcome.html',
} as const;

/** The e-RS roles (business functions) a user holds at one organisation. */
export interface ErsRole {
  /** The organisation's ODS code: the `NHSD-End-User-Organisation-ODS` value. */
  readonly ods: string;
  /** Business functions there: `NHSD-eRS-Business-Function` values. */
  readonly businessFunctions: readonly string[];
}

/** Roles of the e-RS sandbox's A030 example user (`PractitionerRoleBundle.json`). */
export const DEFAULT_ERS_ROLES: readonly ErsRole[] = [
  {
    ods: 'R69',
    businessFunctions: ['SERVICE_DEFINER', 'SERVICE_PROVIDER_CLINICIAN', 'SERVICE_PROVIDER_ADMIN'],
  },
  { ods: 'R68', businessFunctions: ['REFERRING_CLINICIAN'] },
];

/** The diagnostics e-RS sends when the user's identity assurance is below IAL3. */
export const ERS_IAL_DIAGNOSTICS =
  "We couldn't verify your identity. Contact your local Registration Authority or IT department for help.";

/** Diagnostics of a refused access token, by reason. */
export const ERS_TOKEN_DIAGNOSTICS = {
  missing: 'Invalid access token',
  unknown: 'Invalid access token',
  expired: 'Access Token expired',
} as const;

/** Dependencies of {@link ErsStandIn}. */
export interface ErsStandInOptions {
  /** What the emulated platform knows about an access token (emulator/token-store.ts). */
  readonly introspect: (accessToken: string) => AccessTokenInfo | undefined;
  readonly clock: Clock;
  /** The emulator's base URL, for `fullUrl` and the `self` link. */
  readonly baseUrl: string;
  /** The roles of a CIS2 user (`sub`); default {@link DEFAULT_ERS_ROLES} for everyone. */
  readonly rolesFor?: (sub: string) => readonly ErsRole[];
  /** A new e-RS transaction id; default `<uuid>-1`, the shape of e-RS's example. */
  readonly transactionId?: () => string;
}

/** One A030 call as the stand-in saw it (identifiers only, never the token). */
export interface ErsRequestRecord {
  readonly at: number;
  readonly status: number;
  readonly correlationId?: string;
  readonly requestId?: string;
  /** The CIS2 user of the token, when the token was known. */
  readonly sub?: string;
  /** The OperationOutcome issue code of a refusal. */
  readonly issue?: string;
}

type Outcome = { status: number; issue: string; diagnostics?: string; detailsCode: string };

const TOKEN_PATTERN = /^Bearer ([^\s]+)$/;

/** The e-RS A030 stand-in; mount {@link handle} at {@link ERS_A030_PATH} for GET. */
export class ErsStandIn {
  private throttled = 0;
  private readonly recorded: ErsRequestRecord[] = [];

  constructor(private readonly options: ErsStandInOptions) {}

  /** Answers the next `count` calls with e-RS's 429, as its spike arrest and quota do. */
  throttle(count = 1): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
    this.throttled = count;
  }

  /** A030 calls so far, oldest first. */
  records(): readonly ErsRequestRecord[] {
    return [...this.recorded];
  }

  /** Handles `GET /referrals/FHIR/R4/PractitionerRole`. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const { clock } = this.options;
    const correlationId = single(req.headers['x-correlation-id']);
    const callerRequestId = single(req.headers['x-request-id']);
    const echo: Record<string, string> = correlationId ? { 'X-Correlation-ID': correlationId } : {};
    const refuse = (outcome: Outcome, sub?: string, extra: Record<string, string> = {}): void => {
      // No backend call, so no transaction id: the caller's X-Request-ID comes back (test_unknown_access_code).
      const headers = { ...echo, ...(callerRequestId ? { 'X-Request-ID': callerRequestId } : {}), ...extra };
      send(res, outcome.status, operationOutcome(outcome, clock.now()), headers);
      this.record({
        status: outcome.status,
        correlationId,
        requestId: callerRequestId,
        sub,
        issue: outcome.issue,
      });
    };

    const token = TOKEN_PATTERN.exec(single(req.headers.authorization) ?? '')?.[1];
    const info = token === undefined ? undefined : this.options.introspect(token);
    if (!info?.active) {
      const reason = token === undefined ? 'missing' : info ? 'expired' : 'unknown';
      refuse(
        {
          status: 401,
          issue: 'login',
          diagnostics: ERS_TOKEN_DIAGNOSTICS[reason],
          detailsCode: 'ACCESS_DENIED',
        },
        info?.sub,
        { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      );
      return;
    }
    if (this.throttled > 0) {
      this.throttled -= 1;
      refuse({ status: 429, issue: 'throttled', detailsCode: 'TOO_MANY_REQUESTS' }, info.sub);
      return;
    }
    // The proxy compares the attribute with LesserThan 3. A token without it is application-restricted:
    // real e-RS sends it down its app-restricted flow, and how A030 (a user endpoint) then answers is
    // UNCONFIRMED; the stand-in refuses it like low assurance, so it can never pass for a user's token.
    if (!(typeof info.idAssuranceLevel === 'number' && info.idAssuranceLevel >= 3)) {
      refuse(
        { status: 401, issue: 'forbidden', diagnostics: ERS_IAL_DIAGNOSTICS, detailsCode: 'ACCESS_DENIED' },
        info.sub,
      );
      return;
    }
    const requestId = (this.options.transactionId ?? (() => `${randomUUID()}-1`))();
    const roles = (this.options.rolesFor ?? (() => DEFAULT_ERS_ROLES))(info.sub);
    send(res, 200, practitionerRoleBundle(this.options.baseUrl, info.sub, roles, clock.now()), {
      ...echo,
      'X-Request-ID': requestId,
    });
    this.record({ status: 200, correlationId, requestId, sub: info.sub });
  }

  private record(entry: Omit<ErsRequestRecord, 'at'>): void {
    this.recorded.push({ at: this.options.clock.now(), ...entry });
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An R4 OperationOutcome as `AssignMessage.OperationOutcomeErrorResponse.xml` writes it. */
export function operationOutcome(outcome: Omit<Outcome, 'status'>, nowMs: number): Record<string, unknown> {
  return {
    resourceType: 'OperationOutcome',
    meta: { lastUpdated: new Date(nowMs).toISOString(), profile: [ERS_SYSTEMS.operationOutcomeProfile] },
    issue: [
      {
        severity: 'error',
        code: outcome.issue,
        details: { coding: [{ system: ERS_SYSTEMS.errorOrWarning, code: outcome.detailsCode }] },
        ...(outcome.diagnostics === undefined ? {} : { diagnostics: outcome.diagnostics }),
      },
    ],
  };
}

/** The A030 searchset: one PractitionerRole per organisation, its business functions as `code`. */
export function practitionerRoleBundle(
  baseUrl: string,
  sub: string,
  roles: readonly ErsRole[],
  nowMs: number,
): Record<string, unknown> {
  const lastUpdated = new Date(nowMs).toISOString();
  const fhirBase = `${baseUrl}${ERS_FHIR_BASE_PATH}`;
  return {
    id: randomUUID(),
    meta: { lastUpdated },
    resourceType: 'Bundle',
    type: 'searchset',
    total: roles.length,
    timestamp: lastUpdated,
    link: [{ relation: 'self', url: `${fhirBase}/R4/PractitionerRole` }],
    entry: roles.map((role) => {
      const id = `PractitionerRole-${role.ods}-${sub}`;
      return {
        fullUrl: `${fhirBase}/R4/PractitionerRole/${id}`,
        resource: {
          id,
          meta: { lastUpdated },
          resourceType: 'PractitionerRole',
          practitioner: { identifier: { system: ERS_SYSTEMS.sdsUserId, value: sub } },
          organization: { identifier: { system: ERS_SYSTEMS.odsCode, value: role.ods } },
          code: role.businessFunctions.map((code) => ({
            coding: [{ system: ERS_SYSTEMS.businessFunction, code }],
          })),
        },
        search: { mode: 'match' },
      };
    }),
  };
}
