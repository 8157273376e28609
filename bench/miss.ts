/**
 * Miss overhead: a full token exchange through the real handler against the emulator with the
 * KMS mock, minus the time measured inside the signer and around the HTTP round trip: our own
 * work per exchange. The peer does the same exchange with oauth4webapi's generic token endpoint
 * request and a client-auth function that signs the same way, timed the same way.
 */
import * as oauth from 'oauth4webapi';
import { systemClock } from '../lambda/platform/clock.js';
import { URN } from '../lambda/platform/rules.js';
import { signClientAssertion } from '../lambda/proxy/assertion.js';
import { KmsSigner } from '../lambda/proxy/signer/kms.js';
import { type FakeKmsKey, rsaKey } from '../test/helpers/kms.js';
import { HARNESS_API_KEY, HARNESS_KEY_ARN, startHarness } from '../test/helpers/proxy-harness.js';
import { benchTelemetry, tokenEvent } from './common.js';
import { round, type Summary, summarise } from './stats.js';

/** Result of the miss benchmark. */
export interface MissResult {
  readonly ours: { total: Summary; overhead: Summary; kms: Summary; upstream: Summary };
  readonly peer: { total: Summary; overhead: Summary };
}

/** Runs both sides `iterations` times after `warmup`, interleaved so drift hits both equally. */
export async function benchMiss(kmsKey: FakeKmsKey, iterations = 300, warmup = 50): Promise<MissResult> {
  const telemetry = benchTelemetry();
  const h = await startHarness({
    env: { CACHE: 'off' },
    kmsKey,
    overrides: { telemetry, fetch: globalThis.fetch },
  });
  try {
    const idToken = await h.emulator.idToken();
    const event = tokenEvent(idToken);
    const signer = new KmsSigner({ client: h.kmsClient, keyId: h.kmsKey.keyId, kidPrefix: 'local' });
    const as: oauth.AuthorizationServer = { issuer: h.emulator.baseUrl, token_endpoint: h.emulator.tokenUrl };
    const client: oauth.Client = { client_id: HARNESS_API_KEY };
    let peerKms = 0;
    let peerHttp = 0;
    const clientAuth: oauth.ClientAuth = async (_as, _client, body) => {
      const signed = await signClientAssertion(signer, systemClock, {
        apiKey: HARNESS_API_KEY,
        tokenUrl: h.emulator.tokenUrl,
      });
      peerKms += signed.signMs;
      body.set('client_assertion_type', URN.clientAssertionType);
      body.set('client_assertion', signed.assertion);
    };
    // oauth4webapi sends `;charset=UTF-8`. The emulator answers that with 415 because NHS's proxy
    // compares the Content-Type exactly, but the evidence is mixed (NHS's own tutorials send
    // `;charset=UTF-8`; issue #11), so the peer sends the bare type and can succeed either way.
    const peerFetch = async (url: string, init: RequestInit) => {
      const headers = new Headers(init.headers);
      headers.set('content-type', 'application/x-www-form-urlencoded');
      const t = performance.now();
      const response = await fetch(url, { ...init, headers });
      const text = await response.text();
      peerHttp += performance.now() - t;
      return new Response(text, { status: response.status, headers: response.headers });
    };
    const peerOnce = async () => {
      const response = await oauth.genericTokenEndpointRequest(
        as,
        client,
        clientAuth,
        URN.tokenExchange,
        {
          subject_token_type: URN.idToken,
          subject_token: idToken,
        },
        { [oauth.customFetch]: peerFetch as never, [oauth.allowInsecureRequests]: true },
      );
      return oauth.processGenericTokenEndpointResponse(as, client, response);
    };

    const ours = {
      total: [] as number[],
      overhead: [] as number[],
      kms: [] as number[],
      upstream: [] as number[],
    };
    const peer = { total: [] as number[], overhead: [] as number[] };
    for (let i = 0; i < warmup + iterations; i++) {
      let t = performance.now();
      const res = await h.app.handler(event);
      const total = performance.now() - t;
      if (res.statusCode !== 200) throw new Error(`exchange failed: ${res.statusCode} ${res.body}`);
      const { kms_ms: kms, upstream_ms: upstream } = telemetry.last.fields as {
        kms_ms: number;
        upstream_ms: number;
      };

      peerKms = 0;
      peerHttp = 0;
      t = performance.now();
      await peerOnce();
      const peerTotal = performance.now() - t;
      if (i < warmup) continue;
      ours.total.push(total);
      ours.kms.push(kms);
      ours.upstream.push(upstream);
      ours.overhead.push(total - kms - upstream);
      peer.total.push(peerTotal);
      peer.overhead.push(peerTotal - peerKms - peerHttp);
    }
    return {
      ours: {
        total: summarise(ours.total),
        overhead: summarise(ours.overhead),
        kms: summarise(ours.kms),
        upstream: summarise(ours.upstream),
      },
      peer: { total: summarise(peer.total), overhead: summarise(peer.overhead) },
    };
  } finally {
    await h.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchMiss({ keyId: HARNESS_KEY_ARN, privateKey: rsaKey(4096) }, 100, 20);
  console.log(
    JSON.stringify({
      ours: r.ours.overhead,
      peer: r.peer.overhead,
      ratio: round(r.ours.overhead.p50 / r.peer.overhead.p50),
    }),
  );
}
