/**
 * A second proxy next to a {@link Harness}: the same emulator and KMS key, the harness's runtime
 * configuration changed as a test says (another deployment's settings: a budget, a CIS2 issuer,
 * verification off), served over HTTP. Its telemetry lines join the harness's, so the leak guard
 * inspects them when the harness closes.
 */
import { type App, type AppOverrides, buildApp } from '../../lambda/proxy/app.js';
import type { RuntimeConfig } from '../../lambda/proxy/config.js';
import { type LocalServer, type LocalServerOptions, serveLocally } from '../../lambda/proxy/local-server.js';
import type { TokenClientOptions } from '../../lambda/proxy/token-endpoint/client.js';
import type { Harness } from './proxy-harness.js';

/** Options of {@link startVariant}. */
export interface VariantOptions {
  /** The configuration of this proxy, from the harness's. */
  readonly change?: (config: RuntimeConfig) => RuntimeConfig;
  /** Seams to replace (pass the harness's clock when it has one). */
  readonly overrides?: AppOverrides;
  readonly client?: Partial<TokenClientOptions>;
  /** How the local server serves it (e.g. with SigV4 checked). */
  readonly server?: LocalServerOptions;
}

/** A running variant proxy. */
export interface Variant {
  readonly app: App;
  readonly server: LocalServer;
}

/** Builds and serves a variant of `harness`'s proxy; close its server when done. */
export async function startVariant(harness: Harness, options: VariantOptions = {}): Promise<Variant> {
  const config = options.change ? options.change(harness.config) : harness.config;
  const app = await buildApp(
    config,
    { kms: harness.kmsClient, telemetry: harness.telemetry, ...options.overrides },
    options.client,
  );
  const server = await serveLocally(app.handler, 0, '127.0.0.1', options.server);
  return { app, server };
}
