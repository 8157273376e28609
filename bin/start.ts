/**
 * `npm start`: the whole proxy on loopback with embedded defaults and no AWS account. It starts
 * the bundled NHS + CIS2 emulator, the proxy with a local RSA-4096 key (generated on first run
 * into the git-ignored .local/), performs one demonstration exchange, and prints a curl to try.
 *
 * The emulated app's JWKS URL is the proxy's own /jwks.json: the emulator fetches the public keys
 * from it exactly as NHS fetches them from the registered `jwks-resource-url`.
 */

import { startEmulator } from '../emulator/index.js';
import { buildApp } from '../lambda/app.js';
import { systemClock } from '../lambda/clock.js';
import { DEFAULT_EMULATOR_PORT } from '../lambda/config/environments.js';
import { DEFAULT_LOCAL_KEY_FILE, loadRuntimeConfig } from '../lambda/config/runtime.js';
import { serveLocally } from '../lambda/local-server.js';
import { probeClientAuth } from '../lambda/probe/index.js';
import { buildProbeSetup } from '../lambda/probe/setup.js';
import { loadOrCreateKeyFile } from '../lambda/signer/local.js';
import { memoryTelemetry } from '../lambda/telemetry.js';
import { DOCTOR_PATH, withDoctorPage } from '../web/doctor/serve.js';
import { describeVerdict } from './commands/probe.js';
import { LOCAL_API_KEY, LOCAL_CLIENT_SECRET } from './local-defaults.js';

function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name} must be a TCP port number, got '${process.env[name]}'`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const proxyPort = port('PORT', 3000);
  const emulatorPort = port('EMULATOR_PORT', DEFAULT_EMULATOR_PORT);
  const keyFile = process.env.LOCAL_KEY_FILE || DEFAULT_LOCAL_KEY_FILE;
  const { created } = await loadOrCreateKeyFile(keyFile);
  console.log(
    created
      ? `generated a new local RSA-4096 signing key in ${keyFile}`
      : `using local signing key ${keyFile}`,
  );

  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const emulator = await startEmulator({
    port: emulatorPort,
    apps: [
      {
        apiKey: LOCAL_API_KEY,
        clientSecret: LOCAL_CLIENT_SECRET,
        name: 'local',
        jwksUrl: `${proxyUrl}/jwks.json`,
      },
    ],
    log: (line) => console.log(`[emulator] ${line}`),
  });
  const config = loadRuntimeConfig({
    ENVIRONMENT: 'local',
    API_KEY: LOCAL_API_KEY,
    CLIENT_SECRET: LOCAL_CLIENT_SECRET,
    ...process.env,
    EMULATOR_PORT: String(new URL(emulator.baseUrl).port),
    LOCAL_KEY_FILE: keyFile,
  });
  const app = await buildApp(config, {
    telemetry: memoryTelemetry((line) => console.log(`[proxy] ${line}`)),
  });
  const server = await serveLocally(withDoctorPage(app.handler), proxyPort);
  console.log(`NHS token endpoint emulator: ${emulator.tokenUrl}`);
  console.log(`CIS2 emulator issuer:        ${emulator.cis2Issuer}`);
  console.log(`proxy:                       ${server.url} (POST /token, GET /jwks.json, GET /health)`);
  console.log(`assertion doctor page:       ${server.url}${DOCTOR_PATH} (runs in your browser, offline)`);

  // Does the (emulated) platform accept our client authentication? docs/probe.md
  const { credentials } = await buildProbeSetup(config);
  const verdict = await probeClientAuth({
    signer: app.signer,
    jwks: app.jwks,
    credentials,
    clock: systemClock,
    tokenUrl: config.profile.tokenUrl,
  }).then(describeVerdict, (err: Error) => `no verdict: ${err.message}`);
  console.log(`client-auth probe: ${verdict}`);

  const demo = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-correlation-id': 'npm-start-demo' },
    body: JSON.stringify({ subject_token: await emulator.idToken() }),
  });
  const body = (await demo.json()) as Record<string, unknown>;
  console.log(
    demo.ok
      ? `demonstration exchange: ${demo.status} OK, token_type ${body.token_type}, expires_in ${body.expires_in} s (token not shown)`
      : `demonstration exchange FAILED: ${demo.status} ${body.error}: ${body.error_description}`,
  );
  console.log(`
Try it yourself: get an ID token from the CIS2 emulator, then exchange it:

  ID_TOKEN=$(curl -s -X POST ${emulator.baseUrl}/cis2/id-token -H 'content-type: application/json' -d '{}' | sed -E 's/.*"id_token":"([^"]+)".*/\\1/')
  curl -s -X POST ${server.url}/token -H 'content-type: application/json' -d "{\\"subject_token\\":\\"$ID_TOKEN\\"}"
`);
  console.log(`ready: proxy on ${server.url}, emulator on ${emulator.baseUrl} (Ctrl+C to stop)`);

  const stop = async () => {
    await Promise.all([server.close(), emulator.close()]);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
