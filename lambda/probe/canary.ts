/**
 * The client-authentication canary: probes every published key in turn and reports, per key,
 * whether NHS accepts it. Scheduled in the stack (lib/canary.ts); invoked by hand it returns the
 * verdicts, which `cli rotate check --verdicts` reads.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CANARY_KEY_DIMENSION, CANARY_METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../names.js';
import type { Clock } from '../platform/clock.js';
import { redact } from '../proxy/telemetry.js';
import { ProbeUnusableError, type ProbeVerdict, probeClientAuth } from './probe.js';
import type { ProbeSetup } from './setup.js';

// Metric names and the key dimension live in lambda/names.ts, shared with lib/canary.ts. The
// dimensions are `service`, `environment` and `key` (the KMS key as configured): the `kid` is
// derived from the public key at run time, so the stack cannot name it, and it goes in the log line.
export { CANARY_KEY_DIMENSION, CANARY_METRIC } from '../names.js';

/** The canary's verdict on one key. */
export type CanaryVerdict = ProbeVerdict & { readonly keyId: string; readonly signing: boolean };

/** The outcome of one probe that reached no verdict. */
export interface CanaryFailure {
  readonly keyId: string;
  readonly signing: boolean;
  readonly reason: string;
  readonly message: string;
  readonly message_id: string | null;
}

/** What one canary run found; also the function's return value. */
export interface CanaryRun {
  readonly verdicts: readonly CanaryVerdict[];
  readonly failures: readonly CanaryFailure[];
}

/** Where the canary reports each key's outcome. */
export interface CanaryReporter {
  verdict(verdict: CanaryVerdict): void;
  failure(failure: CanaryFailure): void;
}

/** What a canary needs. */
export interface CanaryDeps {
  readonly setup: ProbeSetup;
  /** The environment's token URL (the `aud` and where the probes go). */
  readonly tokenUrl: string;
  readonly clock: Clock;
  readonly reporter: CanaryReporter;
  readonly fetch?: typeof fetch;
}

/**
 * Builds the canary run. Keys are probed one after another, not at once: each probe is a request
 * of the app's rate limit, which the proxy's own traffic shares.
 */
export function createCanary(deps: CanaryDeps): () => Promise<CanaryRun> {
  return async () => {
    const verdicts: CanaryVerdict[] = [];
    const failures: CanaryFailure[] = [];
    for (const key of deps.setup.keys) {
      const about = { keyId: key.keyId, signing: key.signing };
      try {
        const verdict = await probeClientAuth({
          signer: key.signer,
          clock: deps.clock,
          credentials: deps.setup.credentials,
          tokenUrl: deps.tokenUrl,
          jwks: deps.setup.jwks,
          fetch: deps.fetch,
        });
        verdicts.push({ ...about, ...verdict });
        deps.reporter.verdict({ ...about, ...verdict });
      } catch (error) {
        if (!(error instanceof ProbeUnusableError)) throw error;
        const failure = {
          ...about,
          reason: error.reason,
          message: error.message,
          message_id: error.messageId ?? null,
        };
        failures.push(failure);
        deps.reporter.failure(failure);
      }
    }
    return { verdicts, failures };
  };
}

/**
 * The production reporter: one `client_auth_probe` log line per key (kid, NHS's answer and
 * `message_id`, findings) and one EMF data point with the `key` dimension. Each data point is its
 * own EMF document, since each key has its own dimension value.
 */
export function powertoolsCanaryReporter(environment: string): CanaryReporter {
  const logger = new Logger({ serviceName: SERVICE_NAME, persistentKeys: { environment } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { environment },
  });
  const count = (name: string, keyId: string, kid?: string) => {
    const single = metrics.singleMetric();
    single.addDimension(CANARY_KEY_DIMENSION, keyId);
    if (kid) single.addMetadata('kid', kid);
    single.addMetric(name, MetricUnit.Count, 1);
  };
  return {
    verdict(verdict) {
      count(verdict.accepted ? CANARY_METRIC.accepted : CANARY_METRIC.refused, verdict.keyId, verdict.kid);
      const fields = redact({ ...verdict, findings: verdict.findings.join(',') }) as Record<string, unknown>;
      if (verdict.accepted) logger.info('client_auth_probe', fields);
      else logger.error('client_auth_probe', fields);
    },
    failure(failure) {
      count(CANARY_METRIC.probeFailed, failure.keyId);
      logger.warn('client_auth_probe', redact({ ...failure, accepted: null }) as Record<string, unknown>);
    },
  };
}
