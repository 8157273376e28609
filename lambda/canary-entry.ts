/**
 * AWS Lambda entry of the client-authentication canary (lib/canary.ts). Its own bundle and role:
 * it may sign with every published key and read the secret, and does nothing else. Configuration
 * is read as the token function reads it (ENVIRONMENT, SIGNING_KEY_ID, PUBLISHED_KEY_IDS, SECRET_ID).
 */
import { systemClock } from './platform/clock.js';
import { type CanaryRun, createCanary, powertoolsCanaryReporter } from './probe/canary.js';
import { buildProbeSetup } from './probe/setup.js';
import { loadRuntimeConfig } from './proxy/config.js';

const config = loadRuntimeConfig(process.env);
const run = createCanary({
  setup: await buildProbeSetup(config),
  tokenUrl: config.profile.tokenUrl,
  clock: systemClock,
  reporter: powertoolsCanaryReporter(config.profile.name),
});

/** Probes every published key; scheduled by EventBridge, or invoked by hand for the verdicts. */
export const handler = (): Promise<CanaryRun> => run();
