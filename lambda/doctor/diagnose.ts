/**
 * The assertion doctor: names every fault in a client assertion (and the JWKS it is checked
 * against) and predicts the platform's answer, offline. Used by the `doctor` CLI command and by
 * the proxy, which logs the finding codes when the token endpoint rejects an assertion it sent.
 */
import { systemClock } from '../platform/clock.js';
import { PLATFORM_ERRORS, type PlatformError, type PlatformErrorName } from '../platform/rules.js';
import {
  apiKeyFindings,
  audFindings,
  claimFindings,
  kidEnvironmentFindings,
  verifyJwtExpFindings,
} from './claims.js';
import { FINDINGS, type Finding, finding } from './findings.js';
import { normaliseInput } from './input.js';
import { readJwks } from './jwks.js';
import { type Repair, type RepairOutcome, repairAssertion } from './repair.js';
import { signatureFindings } from './signature.js';
import { analyseStructure } from './structure.js';
import { environmentOfTokenUrl, resolveTarget } from './target.js';

/** What to diagnose. */
export interface DiagnoseInput {
  /** The assertion, or text containing it (quotes, `Bearer `, line breaks, a form body). */
  readonly assertion: string;
  /** The app's JWKS as parsed JSON or raw text; without it kid and signature cannot be checked. */
  readonly jwks?: unknown;
  /** The exact URL the assertion is POSTed to (also the required `aud`). */
  readonly tokenUrl?: string;
  /** The app's API key, which `iss` and `sub` must equal. */
  readonly apiKey?: string;
  /** The moment to judge time claims at; default now. */
  readonly nowMs?: number;
  /** The target environment's name: gives the token URL when `tokenUrl` is absent, and is used for kid-name warnings. */
  readonly environment?: string;
}

/** The platform's predicted answer: status, `error` and the exact `error_description`. */
export type PredictedResponse = Pick<PlatformError, 'status' | 'error' | 'error_description'>;

/** The result of {@link diagnose}. */
export interface Diagnosis {
  /** `reject` when some check the doctor could run fails; `accept` when none is known to fail. */
  readonly verdict: 'accept' | 'reject';
  /** The platform's answer for the first failing check in its own order, or `null`. */
  readonly predicted: PredictedResponse | null;
  /** Findings in the platform's check order (use `bySeverity` to list errors first). */
  readonly findings: Finding[];
  /** The repair of typographic substitutions, or `null` when there were none. */
  readonly repair: Repair | null;
}

/** The platform error a finding stands for, if it is one of the platform's checks. */
const rejection = (f: Finding): PlatformErrorName | undefined => FINDINGS[f.code].rejects;

/**
 * Diagnoses a client assertion as the platform would check it, in the platform's order: form,
 * structure, header and claims, API key, kid and signature against the JWKS, audience. Also
 * reports JWKS hygiene, paste artefacts and, where characters were substituted, a repair.
 *
 * The prediction is the first failing check the doctor could run. Without a JWKS the kid and
 * signature cannot be checked, and without a target (`tokenUrl` or `environment`) the exact
 * `aud` cannot, so an `accept` then means only that nothing is known to be wrong.
 *
 * Messages never contain the assertion or its signature; `repair.assertion` does and must only
 * be shown on explicit request, never logged.
 */
export async function diagnose(input: DiagnoseInput): Promise<Diagnosis> {
  const nowMs = input.nowMs ?? systemClock.now();
  const pasted = normaliseInput(input.assertion);
  const token = pasted.assertion;
  const jwks = input.jwks === undefined ? undefined : readJwks(input.jwks);
  const keys = jwks?.keys;
  const findings: Finding[] = [...pasted.findings];
  let repair: RepairOutcome | undefined;

  if (token !== '') {
    const structure = analyseStructure(token);
    findings.push(...structure.findings);
    repair = structure.decoded ? undefined : await repairAssertion(token, structure.offending, keys);
    // Parts that do not decode as given are checked as repaired, when a candidate decodes.
    const header = structure.header ?? repair?.decoded?.header;
    const claims = structure.payload ?? repair?.decoded?.payload;
    const target = resolveTarget(input.tokenUrl, input.environment);

    if (header && claims) {
      findings.push(...claimFindings(header, claims, nowMs));
      findings.push(...apiKeyFindings(claims, input.apiKey, target));
    }
    if (header && keys) {
      const verifiedRepair = repair?.repair.signatureVerified ? repair.decoded : undefined;
      findings.push(
        ...(await signatureFindings(header, structure.decoded ?? verifiedRepair, keys, !structure.decoded)),
      );
    } else if (!keys)
      findings.push(
        finding(
          'SIGNATURE_NOT_CHECKED',
          'No usable JWKS was given: the kid and signature were not checked; the prediction is a best guess.',
        ),
      );
    // VerifyJWT checks the time claims and then aud, after the signature (order within it UNCONFIRMED).
    if (claims) findings.push(...verifyJwtExpFindings(claims, nowMs));
    if (claims) findings.push(...audFindings(claims.aud, target, input.apiKey !== undefined));
    if (header) {
      const environment =
        target.environment ??
        (typeof claims?.aud === 'string' ? environmentOfTokenUrl(claims.aud) : undefined);
      findings.push(...kidEnvironmentFindings(header.kid, environment));
    }
  }
  findings.push(...(jwks?.findings ?? []), ...(repair?.findings ?? []));

  const first = findings.map(rejection).find((name) => name !== undefined);
  const predicted = first ? PLATFORM_ERRORS[first] : undefined;
  return {
    verdict: predicted ? 'reject' : 'accept',
    predicted: predicted
      ? { status: predicted.status, error: predicted.error, error_description: predicted.error_description }
      : null,
    findings,
    repair: repair?.repair ?? null,
  };
}
