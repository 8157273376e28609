/**
 * `npm start`'s demonstration, the whole way a caller goes: a CIS2 ID token from the emulator, the
 * proxy's `POST /token` through the SigV4 client (client/), then e-RS A030 with the access token.
 * Each step prints its status and identifiers; no token is ever printed.
 */
import { rolesOfBundle, TokenProxyClient, TokenProxyError } from '../client/index.js';
import { type Emulator, ERS_A030_PATH } from '../emulator/index.js';
import { decodeJws } from '../lambda/platform/jws.js';
import { LOCAL_SIGV4_DEFAULTS, type SigV4Policy } from '../lambda/proxy/local-sigv4.js';

/** What the demonstration talks to. */
export interface DemoTargets {
  readonly emulator: Emulator;
  readonly proxyUrl: string;
  /** The local server's SigV4 check, when on; the client signs with the same test credential either way. */
  readonly sigv4?: SigV4Policy;
}

/** What the demonstration found, for the caller to act on (and the tests to check). */
export interface DemoResult {
  readonly ok: boolean;
  readonly ersStatus?: number;
}

const CORRELATION_ID = 'npm-start-demo';

/** Runs the demonstration, writing one line per step to `print`. */
export async function runDemo(targets: DemoTargets, print: (line: string) => void): Promise<DemoResult> {
  const idToken = await targets.emulator.idToken();
  const claims = decodeJws(idToken).payload;
  print(
    `demo 1/3 CIS2 ID token: sub ${claims.sub}, id_assurance_level ${claims.id_assurance_level}, acr ${claims.acr} (token not shown)`,
  );

  const credential = targets.sigv4?.credential ?? LOCAL_SIGV4_DEFAULTS;
  const client = new TokenProxyClient({
    url: targets.proxyUrl,
    region: targets.sigv4?.region ?? LOCAL_SIGV4_DEFAULTS.region,
    credentials: {
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      sessionToken: 'sessionToken' in credential ? credential.sessionToken : undefined,
    },
  });
  let accessToken: string;
  try {
    const grant = await client.getToken(idToken, { correlationId: CORRELATION_ID });
    accessToken = grant.accessToken;
    const signed = targets.sigv4 ? 'SigV4 checked' : 'SigV4 signed, not checked (LOCAL_SIGV4 off)';
    print(
      `demo 2/3 proxy POST /token: 200, correlation_id ${grant.correlationId}, expires ${grant.expiresAt.toISOString()}, ${signed} (token not shown)`,
    );
  } catch (error) {
    if (!(error instanceof TokenProxyError)) throw error;
    print(
      `demo 2/3 proxy POST /token FAILED: ${error.status} ${error.error}: ${error.message} (correlation_id ${error.correlation_id}, message_id ${error.message_id ?? 'none'})`,
    );
    return { ok: false };
  }

  const response = await fetch(`${targets.emulator.baseUrl}${ERS_A030_PATH}`, {
    headers: { authorization: `Bearer ${accessToken}`, 'x-correlation-id': CORRELATION_ID },
  });
  const bundle: unknown = await response.json();
  const ids = `X-Correlation-ID ${response.headers.get('x-correlation-id')}, X-Request-ID ${response.headers.get('x-request-id') ?? 'none'}`;
  if (!response.ok) {
    const issue = (bundle as { issue?: { code?: string; diagnostics?: string }[] }).issue?.[0];
    print(
      `demo 3/3 e-RS A030 GET ${ERS_A030_PATH} FAILED: ${response.status} ${issue?.code}: ${issue?.diagnostics ?? ''} (${ids})`,
    );
    return { ok: false, ersStatus: response.status };
  }
  const roles = rolesOfBundle(bundle)
    .map((role) => `${role.ods}/${role.businessFunction}`)
    .join(', ');
  print(`demo 3/3 e-RS A030 GET ${ERS_A030_PATH}: ${response.status}, ${ids}`);
  print(`         NHSD-End-User-Organisation-ODS / NHSD-eRS-Business-Function choices: ${roles}`);
  return { ok: true, ersStatus: response.status };
}

/** The curl commands a developer can paste to go the same way by hand. */
export function demoCurls(targets: DemoTargets): string {
  const { emulator, proxyUrl, sigv4 } = targets;
  const sign = sigv4
    ? ` --aws-sigv4 'aws:amz:${sigv4.region}:execute-api' --user '${sigv4.credential.accessKeyId}:${sigv4.credential.secretAccessKey}'`
    : '';
  return `
Try it yourself: get an ID token from the CIS2 emulator, exchange it at the proxy, then call e-RS A030:

  ID_TOKEN=$(curl -s -X POST ${emulator.baseUrl}/cis2/id-token -H 'content-type: application/json' -d '{}' | sed -E 's/.*"id_token":"([^"]+)".*/\\1/')
  ACCESS_TOKEN=$(curl -s -X POST ${proxyUrl}/token${sign} -H 'content-type: application/json' -d "{\\"subject_token\\":\\"$ID_TOKEN\\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -s -i ${emulator.baseUrl}${ERS_A030_PATH} -H "Authorization: Bearer $ACCESS_TOKEN" -H 'X-Correlation-ID: try-it-1'
${sigv4 ? '' : `\n  (LOCAL_SIGV4=1 npm start makes the proxy check SigV4 as API Gateway does; the commands then sign with curl --aws-sigv4.)\n`}`;
}
