/**
 * The assertion doctor: offline diagnosis, prediction and repair of NHS API platform client
 * assertions. See docs/doctor.md.
 */
export { type DiagnoseInput, type Diagnosis, diagnose, type PredictedResponse } from './diagnose.js';
export { bySeverity, FINDINGS, type Finding, type FindingCode, type Severity } from './findings.js';
export { type FormatOptions, formatDiagnosis } from './format.js';
export { type JwksKey, type JwksReading, readJwks } from './jwks.js';
export { MAX_REPAIR_CANDIDATES, type Repair, type RepairChange } from './repair.js';
export { TARGET_ENVIRONMENTS, tokenUrlOf } from './target.js';
