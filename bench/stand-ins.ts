/**
 * Local stand-ins for everything a deployed proxy calls, each on its own loopback port, over
 * HTTPS with the bench's self-signed certificate and, for contrast, over plain HTTP:
 * - KMS (the awsJson1_1 protocol the SDK speaks: `TrentService.Sign` really signs with the
 *   RSA-4096 key, RSASSA_PKCS1_V1_5_SHA_512 over a RAW message; `TrentService.GetPublicKey`);
 * - Secrets Manager (`secretsmanager.GetSecretValue`);
 * - DynamoDB (dynalite, with the cache table created);
 * - the NHS emulator (its `tls` option).
 * They run in their own process (`spawnStandIns`) so that the CPU a benchmark measures in the
 * proxy's process is the proxy's alone, as in Lambda where all of these are remote. Each server
 * counts the TCP connections, TLS handshakes (and resumptions) and requests it sees, so SDK
 * retries are counted where they land. A plain HTTP admin port mints ID tokens and reads counters.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { text } from 'node:stream/consumers';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { createCacheDynamoClient } from '../lambda/proxy/cache/index.js';
import { toPublicSigningJwk } from '../lambda/proxy/signer/public-jwk.js';

/** What the stand-ins are started with. */
export interface StandInsInput {
  /** PEM key and certificate of the HTTPS servers. */
  readonly key: string;
  readonly cert: string;
  /** The KMS key (PKCS#8 PEM); also stored in the secret, for the peer baseline. */
  readonly signingKeyPem: string;
  readonly keyId: string;
  readonly secretId: string;
  readonly apiKey: string;
  readonly clientSecret: string;
  readonly tableName: string;
  /** `kid` prefixes the proxy may sign with (its environment names). */
  readonly kidPrefixes: readonly string[];
  /** `kid` the peer baseline signs with. */
  readonly peerKid: string;
}

/** What a server saw. */
export interface ServerCounts {
  tcp: number;
  tls: number;
  resumed: number;
  requests: number;
  /** Requests by AWS operation (`X-Amz-Target`), retries included. */
  operations: Record<string, number>;
}

/** What `GET /counts` on the admin port answers. */
export interface StandInCounts {
  /** By `<service>_<scheme>`, e.g. `kms_https`. */
  readonly servers: Record<string, ServerCounts>;
  /** Token endpoint requests the emulators recorded, by scheme. */
  readonly nhs: Record<string, { requests: number; exchanges: number; failures: number }>;
}

/** Base URLs by service, for one scheme. */
export interface Endpoints {
  readonly kms: string;
  readonly secretsManager: string;
  readonly dynamodb: string;
  /** The emulator's token URL. */
  readonly tokenUrl: string;
  /** The emulator's CIS2 issuer: the proxy verifies ID tokens against its discovery and JWKS. */
  readonly cis2Issuer: string;
}

/** The running stand-ins, as the parent process sees them. */
export interface StandIns {
  readonly https: Endpoints;
  readonly http: Endpoints;
  /** Base URL of the admin port (plain HTTP). */
  readonly admin: string;
  close(): Promise<void>;
}

/** Seconds the stand-ins keep an idle connection: long, so counts measure the client's choices. */
export const STAND_IN_IDLE_S = 300;

type Json = Record<string, unknown>;

function listen(server: Server, counts: ServerCounts, tls: boolean): Promise<string> {
  server.on('connection', () => counts.tcp++);
  server.on('secureConnection', (socket: TLSSocket) => {
    counts.tls++;
    if (socket.isSessionReused()) counts.resumed++;
  });
  server.on('request', () => counts.requests++);
  // Node's default (5 s, advertised as `Keep-Alive: timeout=5`) would decide the reuse counts.
  // Real endpoints' idle timeouts are theirs; with 0 the stand-ins neither close idle connections
  // nor advertise a timeout, so what is counted is what the SDK and fetch themselves do.
  server.keepAliveTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`);
    });
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  type = 'application/x-amz-json-1.1',
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** An AWS JSON-protocol service: the `X-Amz-Target` header names the operation. */
function awsJsonHandler(
  operations: Record<string, (input: Json) => Json | Promise<Json>>,
  counts: ServerCounts,
) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    counts.operations[target] = (counts.operations[target] ?? 0) + 1;
    const operation = operations[target];
    let input: Json;
    try {
      input = JSON.parse(await text(req)) as Json;
    } catch {
      return sendJson(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
    }
    if (!operation) return sendJson(res, 400, { __type: 'UnknownOperationException', message: target });
    try {
      sendJson(res, 200, await operation(input));
    } catch (err) {
      sendJson(res, 400, { __type: (err as Error).name, message: (err as Error).message });
    }
  };
}

const failure = (name: string, message: string) => Object.assign(new Error(message), { name });

function kmsOperations(keyId: string, privateKey: KeyObject) {
  const checkKey = (input: Json) => {
    if (input.KeyId !== keyId) throw failure('NotFoundException', `key ${String(input.KeyId)} not found`);
  };
  const publicKey = createPublicKey(privateKey);
  return {
    'TrentService.Sign': async (input: Json) => {
      checkKey(input);
      if (input.SigningAlgorithm !== 'RSASSA_PKCS1_V1_5_SHA_512' || input.MessageType !== 'RAW')
        throw failure('InvalidKeyUsageException', 'unsupported signing request');
      const message = Buffer.from(String(input.Message), 'base64');
      // Signed on libuv's thread pool, so a burst of signatures uses every core and the other
      // stand-ins in this process keep answering meanwhile.
      const signature = await promisify(sign)('sha512', message, privateKey);
      return {
        KeyId: keyId,
        SigningAlgorithm: input.SigningAlgorithm,
        Signature: signature.toString('base64'),
      };
    },
    'TrentService.GetPublicKey': (input: Json) => {
      checkKey(input);
      return {
        KeyId: keyId,
        KeySpec: `RSA_${publicKey.asymmetricKeyDetails?.modulusLength}`,
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_512'],
        PublicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      };
    },
  };
}

function secretsOperations(input: StandInsInput) {
  const secretString = JSON.stringify({
    api_key: input.apiKey,
    client_secret: input.clientSecret,
    private_key: input.signingKeyPem,
  });
  return {
    'secretsmanager.GetSecretValue': (request: Json) => {
      if (request.SecretId !== input.secretId)
        throw failure('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return {
        ARN: input.secretId,
        Name: 'cis2-token-proxy',
        SecretString: secretString,
        VersionId: '00000000-0000-0000-0000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_700_000_000,
      };
    },
  };
}

async function startDynamo(input: StandInsInput, tls: boolean, counts: ServerCounts) {
  const server = dynalite({
    createTableMs: 0,
    ...(tls ? { ssl: true, key: input.key, cert: input.cert, ca: input.cert } : {}),
  }) as Server;
  const endpoint = await listen(server, counts, tls);
  // This process trusts the bench CA (NODE_EXTRA_CA_CERTS), so the table is created over HTTPS too.
  const client = createCacheDynamoClient({
    endpoint,
    region: 'eu-west-2',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: input.tableName,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  client.destroy();
  counts.tcp = counts.tls = counts.resumed = counts.requests = 0;
  server.on('request', (req: IncomingMessage) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    counts.operations[target] = (counts.operations[target] ?? 0) + 1;
  });
  return { server, endpoint };
}

/** Starts every stand-in in this process. */
async function startStandInsHere(input: StandInsInput) {
  const privateKey = createPrivateKey(input.signingKeyPem);
  const published = createPublicKey(privateKey);
  const jwks = {
    keys: [
      ...(await Promise.all(input.kidPrefixes.map((prefix) => toPublicSigningJwk(published, prefix)))),
      { ...published.export({ format: 'jwk' }), kid: input.peerKid, alg: 'RS512', use: 'sig' },
    ],
  };
  const counts: Record<string, ServerCounts> = {};
  const servers: Server[] = [];
  const emulators: Record<string, Emulator> = {};
  const endpoints: Record<string, Endpoints> = {};
  for (const tls of [true, false]) {
    const scheme = tls ? 'https' : 'http';
    const make = (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
      tls ? createHttpsServer({ key: input.key, cert: input.cert }, handler) : createHttpServer(handler);
    const count = (name: string) => {
      counts[`${name}_${scheme}`] = { tcp: 0, tls: 0, resumed: 0, requests: 0, operations: {} };
      return counts[`${name}_${scheme}`] as ServerCounts;
    };
    const kmsCounts = count('kms');
    const secretsCounts = count('secretsmanager');
    const kms = make(awsJsonHandler(kmsOperations(input.keyId, privateKey), kmsCounts));
    const secrets = make(awsJsonHandler(secretsOperations(input), secretsCounts));
    const dynamo = await startDynamo(input, tls, count('dynamodb'));
    const emulator = await startEmulator(tls ? { tls: { key: input.key, cert: input.cert } } : {});
    emulator.registerApp({ apiKey: input.apiKey, clientSecret: input.clientSecret, jwks: jwks as never });
    servers.push(kms, secrets, dynamo.server);
    emulators[scheme] = emulator;
    endpoints[scheme] = {
      kms: await listen(kms, kmsCounts, tls),
      secretsManager: await listen(secrets, secretsCounts, tls),
      dynamodb: dynamo.endpoint,
      tokenUrl: emulator.tokenUrl,
      cis2Issuer: emulator.cis2Issuer,
    };
  }
  const admin = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      if (url.pathname === '/id-tokens') {
        const emulator = emulators[url.searchParams.get('scheme') ?? 'https'] as Emulator;
        const prefix = url.searchParams.get('prefix') ?? 'user';
        const n = Number(url.searchParams.get('count') ?? '1');
        const tokens = await Promise.all(
          Array.from({ length: n }, (_, i) => emulator.idToken({ sub: `${prefix}-${i}` })),
        );
        return sendJson(res, 200, { tokens }, 'application/json');
      }
      if (url.pathname === '/counts') {
        const nhs = Object.fromEntries(
          Object.entries(emulators).map(([scheme, e]) => [
            scheme,
            {
              requests: e.records().length,
              exchanges: e.records().filter((r) => r.grantType?.endsWith('token-exchange')).length,
              failures: e.records().filter((r) => r.status !== 200).length,
            },
          ]),
        );
        return sendJson(res, 200, { servers: counts, nhs } satisfies StandInCounts, 'application/json');
      }
      sendJson(res, 404, { error: 'not found' }, 'application/json');
    } catch (err) {
      sendJson(res, 500, { error: (err as Error).message }, 'application/json');
    }
  });
  const adminUrl = await listen(admin, { tcp: 0, tls: 0, resumed: 0, requests: 0, operations: {} }, false);
  return {
    https: endpoints.https as Endpoints,
    http: endpoints.http as Endpoints,
    admin: adminUrl,
  };
}

/** Starts the stand-ins in a child process; resolves once they listen. */
export async function spawnStandIns(input: StandInsInput, caFile: string): Promise<StandIns> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/stand-ins.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: caFile,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  child.stdin.end(JSON.stringify(input));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`stand-ins exited with ${code}`)));
  });
  const ready = JSON.parse(line) as Omit<StandIns, 'close'>;
  return {
    ...ready,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Reads an admin route of the stand-ins. */
export async function adminGet<T>(standIns: Pick<StandIns, 'admin'>, path: string): Promise<T> {
  const response = await fetch(`${standIns.admin}${path}`);
  if (!response.ok) throw new Error(`stand-ins ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ready = await startStandInsHere(JSON.parse(await text(process.stdin)) as StandInsInput);
  console.log(JSON.stringify(ready));
  process.on('SIGTERM', () => process.exit(0));
}
