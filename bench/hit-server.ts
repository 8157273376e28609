/**
 * A child process for the throughput benchmark: the proxy served over HTTP on loopback with the
 * emulator, the KMS mock and production telemetry to a null sink, one user's token already
 * cached. Reads the RSA-4096 key (PKCS#8 PEM) on stdin; prints `{url, body}` once ready.
 */
import { createPrivateKey } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { HARNESS_KEY_ARN, startHarness } from '../test/helpers/proxy-harness.js';
import { benchTelemetry } from './common.js';

const h = await startHarness({
  env: { CACHE: 'on' },
  kmsKey: { keyId: HARNESS_KEY_ARN, privateKey: createPrivateKey(await text(process.stdin)) },
  overrides: { telemetry: benchTelemetry(), fetch: globalThis.fetch },
});
const body = JSON.stringify({ subject_token: await h.emulator.idToken() });
const first = await fetch(`${h.server.url}/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
});
if (first.status !== 200) throw new Error(`priming exchange failed: ${first.status}`);
console.log(JSON.stringify({ url: `${h.server.url}/token`, body }));
process.on('SIGTERM', () => h.close().then(() => process.exit(0)));
