/**
 * `npm start`: the whole proxy on loopback with embedded defaults and no AWS account. It starts
 * the bundled NHS + CIS2 + e-RS emulator, the proxy with a local RSA-4096 key (generated on first run
 * into the git-ignored .local/), runs the demonstration (ID token → proxy → e-RS A030, bin/start-demo.ts),
 * and prints curls to try. `LOCAL_SIGV4=1` makes the proxy check SigV4 with a test credential.
 *
 * The emulated app's JWKS URL is the proxy's own /jwks.json: the emulator fetches the public keys
 * from it exactly as NHS fetches them from the registered `jwks-resource-url`.
 */

import { startEmulator } from '../emulator/index.js';
import { systemClock } from '../lambda/platform/clock.js';
import { DEFAULT_EMULATOR_PORT } from '../lambda/platform/environments.js';
import { probeClientAuth } from '../lambda/probe/index.js';
import { buildProbeSetup } from '../lambda/probe/setup.js';
import { buildApp } from '../lambda/proxy/app.js';
import { DEFAULT_LOCAL_KEY_FILE, loadRuntimeConfig } from '../lambda/proxy/config.js';
import { serveLocally } from '../lambda/proxy/local-server.js';
import { localSigV4FromEnv } from '../lambda/proxy/local-sigv4.js';
import { loadOrCreateKeyFile } from '../lambda/proxy/signer/local.js';
import { memoryTelemetry } from '../lambda/proxy/telemetry.js';
import { DOCTOR_PATH, withDoctorPage } from '../web/doctor/serve.js';
import { describeVerdict } from './commands/probe.js';
import { LOCAL_API_KEY, LOCAL_CLIENT_SECRET } from './local-defaults.js';
import { demoCurls, runDemo } from './start-demo.js';

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
  const sigv4 = localSigV4FromEnv(process.env);
  const server = await serveLocally(withDoctorPage(app.handler), proxyPort, '127.0.0.1', { sigv4 });
  console.log(`NHS token endpoint emulator: ${emulator.tokenUrl}`);
  console.log(`CIS2 emulator issuer:        ${emulator.cis2Issuer}`);
  console.log(`proxy:                       ${server.url} (POST /token, GET /jwks.json, GET /health)`);
  console.log(`assertion doctor page:       ${server.url}${DOCTOR_PATH} (runs in your browser, offline)`);
  console.log(`e-RS A030 stand-in:          ${emulator.baseUrl}/referrals/FHIR/R4/PractitionerRole`);

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

  const targets = { emulator, proxyUrl: server.url, sigv4 };
  await runDemo(targets, (line) => console.log(line));
  console.log(demoCurls(targets));
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
