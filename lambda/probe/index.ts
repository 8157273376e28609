/**
 * Does NHS accept our client authentication? The probe (one request) and the canary that runs it
 * for every published key on a schedule. See docs/probe.md.
 */
export {
  PROBE_ACCEPTED_ANSWER,
  PROBE_SUBJECT_TOKEN,
  PROBE_TIMEOUT_MS,
  type ProbeOptions,
  ProbeUnusableError,
  type ProbeUnusableReason,
  type ProbeVerdict,
  probeClientAuth,
} from './probe.js';
