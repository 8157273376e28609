/**
 * The emulator's HTTP server on loopback: the platform token endpoint, the CIS2 stand-in, and an
 * admin API under `/__emulator/` for fault injection and the request record.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, systemClock } from '../lambda/platform/clock.js';
import { emulatorCis2Issuer } from '../lambda/platform/environments.js';
import { isJsonObject } from '../lambda/platform/json.js';
import {
  type JsonObject,
  JWKS_CACHE_S,
  PLATFORM_ERRORS,
  type PlatformError,
} from '../lambda/platform/rules.js';
import { type AppRegistration, AppRegistry } from './apps.js';
import { Cis2Provider, generateCis2SigningKey, IdTokenRequestError } from './cis2.js';
import { ERS_A030_PATH, ErsStandIn, type ErsStandInOptions } from './ers.js';
import { FaultQueue, type FaultSpec, FaultSpecError, parseFaultSpec, writeFault } from './faults.js';
import { JtiLedger } from './jti-ledger.js';
import { createMessageIdFactory } from './message-id.js';
import { handleTokenRequest, type TokenRequestTrace, traceTokenRequest } from './token-endpoint.js';
import { type AccessTokenInfo, TokenStore } from './token-store.js';

/** Path of the platform token endpoint; `tokenUrl` is the base URL plus this. */
export const TOKEN_PATH = '/oauth2/token';
/**
 * Path of the token endpoint of NHS's mock-auth proxies (`internal-dev-mock`, `int-mock`,
 * `sandbox-mock`), where `pytest-nhsd-apim` posts by default; `mockTokenUrl` is the base URL plus this.
 */
export const MOCK_TOKEN_PATH = '/oauth2-mock/token';
/** Path of the ID token minting endpoint (not part of real CIS2, which needs a smartcard login). */
export const ID_TOKEN_PATH = '/cis2/id-token';
/** Prefix of the admin API; no real client uses it. */
export const ADMIN_PREFIX = '/__emulator';

/** The Content-Type `Flow.PostTokenInvalidMediaType` compares with, as an exact string (docs/nhs-platform.md §1). */
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * Whether a Content-Type passes the media type check. Strict (the default) is the platform's
 * condition read literally: the exact string. With `acceptParameters`, the form media type in any
 * letter case followed by parameters (`;charset=UTF-8`) passes too, for clients that cannot change
 * their header; whether the platform accepts that is UNCONFIRMED (docs/nhs-platform.md §1).
 */
function isFormContentType(header: string | undefined, acceptParameters = false): boolean {
  if (header === FORM_CONTENT_TYPE) return true;
  if (!acceptParameters || header === undefined) return false;
  const [mediaType = '', ...parameters] = header.split(';');
  return mediaType.trim().toLowerCase() === FORM_CONTENT_TYPE && parameters.every((p) => p.includes('='));
}
/** Bodies beyond this are refused; real token requests are a few KB. */
const MAX_BODY_BYTES = 1_048_576;

/** One token endpoint request as the emulator saw it. Never holds a whole token. */
export interface RequestRecord {
  /** 1-based order of arrival. */
  seq: number;
  /** Arrival time by the emulator's clock, in milliseconds since the epoch. */
  at: number;
  grantType?: string;
  /** The client assertion's `jti`. */
  jti?: string;
  /** The client assertion's `kid`. */
  kid?: string;
  /** The assertion's `sub`, or the refresh grant's `client_id`. */
  apiKey?: string;
  /** The ID token's `sub` (the CIS2 user), never the token. */
  subject?: string;
  /** HTTP status sent; 0 when the connection was dropped. */
  status: number;
  error?: string;
  errorDescription?: string;
  messageId?: string;
  /** The injected fault that shaped this response, if any. */
  fault?: FaultSpec['kind'];
}

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Apps registered at start. */
  apps?: AppRegistration[];
  /** How long a fetched JWKS is reused, per URL or file; default one hour, as on the platform. */
  jwksCacheMs?: number;
  /** Access token lifetime, reported as `expires_in`; default 599. */
  accessTokenTtlS?: number;
  /** Total refresh lifetime from first issue, reported as `refresh_token_expires_in`; default 43199. */
  refreshTokenTtlS?: number;
  /** Time source for every expiry decision; default the wall clock. */
  clock?: Clock;
  /**
   * Accept `application/x-www-form-urlencoded` with media-type parameters (`;charset=UTF-8`) instead
   * of answering 415; default `false`, the platform's condition read literally (see {@link isFormContentType}).
   */
  acceptContentTypeParameters?: boolean;
  /** Receives one line per request (never a whole token); default silent. */
  log?: (line: string) => void;
  /** The e-RS stand-in's users' roles (emulator/ers.ts); default the e-RS sandbox's example roles. */
  ersRolesFor?: ErsStandInOptions['rolesFor'];
  /** Serves HTTPS with this PEM key and certificate instead of HTTP (benchmarks measure TLS as deployed). */
  tls?: { key: string; cert: string };
}

/** A running emulator. */
export interface Emulator {
  /** `http://<host>:<port>`, or `https://` with the `tls` option. */
  readonly baseUrl: string;
  /** `${baseUrl}/oauth2/token`: where to POST, and the `aud` assertions must carry. */
  readonly tokenUrl: string;
  /** `${baseUrl}/oauth2-mock/token`: the same endpoint as NHS's mock-auth proxies serve it; `aud` must be this URL. */
  readonly mockTokenUrl: string;
  /** The CIS2 issuer of emulated ID tokens. */
  readonly cis2Issuer: string;
  /**
   * Adds an app, replacing one with the same API key.
   *
   * @throws {@link AppRegistrationError} for an unusable registration.
   */
  registerApp(app: AppRegistration): void;
  /** Mints a CIS2 ID token, exactly as `POST /cis2/id-token` with these overrides would. */
  idToken(claims?: Record<string, unknown | null>): Promise<string>;
  /**
   * Makes the next `count` (default 1) token requests fail with `fault`.
   *
   * @throws {@link FaultSpecError} for an invalid fault or count.
   */
  injectFaults(fault: FaultSpec, count?: number): void;
  /** Cancels queued faults. */
  clearFaults(): void;
  /** Token requests so far, oldest first. */
  records(): readonly RequestRecord[];
  /** Forgets the token requests recorded so far. */
  clearRecords(): void;
  /** Which user and app an issued access token belongs to, and whether it is still active. */
  introspect(accessToken: string): AccessTokenInfo | undefined;
  /** The e-RS A030 stand-in at `${baseUrl}/referrals/FHIR/R4/PractitionerRole` (throttling, records). */
  readonly ers: ErsStandIn;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Thrown for a request body the emulator cannot use. */
class BadRequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'BadRequestError';
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError('request body too large', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJsonObject(req: IncomingMessage): Promise<JsonObject> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('body must be JSON');
  }
  if (!isJsonObject(value)) throw new BadRequestError('body must be a JSON object');
  return value;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Starts an emulator; resolves once it is listening. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  const host = options.host ?? '127.0.0.1';
  const apps = new AppRegistry({ clock, jwksCacheMs: options.jwksCacheMs ?? JWKS_CACHE_S * 1000 });
  for (const app of options.apps ?? []) apps.register(app);
  const tokens = new TokenStore(clock, {
    accessTokenTtlS: options.accessTokenTtlS ?? 599,
    refreshTokenTtlS: options.refreshTokenTtlS ?? 43_199,
  });
  const jtis = new JtiLedger(clock);
  const faults = new FaultQueue();
  const nextMessageId = createMessageIdFactory();
  const signingKey = await generateCis2SigningKey();
  const recorded: RequestRecord[] = [];
  let seq = 0;

  const record = (method: string, path: string, entry: Omit<RequestRecord, 'seq'>): void => {
    seq += 1;
    recorded.push({ seq, ...entry });
    const fields = [
      method,
      path,
      String(entry.status),
      entry.fault && `fault=${entry.fault}`,
      entry.errorDescription && JSON.stringify(entry.errorDescription),
      entry.messageId && `message_id=${entry.messageId}`,
      entry.jti && `jti=${entry.jti}`,
      entry.kid && `kid=${entry.kid}`,
    ];
    log(fields.filter(Boolean).join(' '));
  };

  const sendPlatformError = (res: ServerResponse, error: PlatformError): string => {
    const messageId = nextMessageId();
    sendJson(res, error.status, {
      error: error.error,
      error_description: error.error_description,
      message_id: messageId,
    });
    return messageId;
  };

  const server = options.tls ? createTlsServer(options.tls) : createServer();
  const scheme = options.tls ? 'https' : 'http';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const tokenUrl = `${baseUrl}${TOKEN_PATH}`;
  const cis2 = new Cis2Provider(emulatorCis2Issuer(baseUrl), signingKey, clock);
  const deps = { apps, jtis, tokens, cis2, clock };
  const ers = new ErsStandIn({
    introspect: (token) => tokens.introspect(token),
    clock,
    baseUrl,
    rolesFor: options.ersRolesFor,
  });

  /**
   * The token endpoint. An injected fault comes first, as a gateway or throttle in front of the
   * platform would; then the method and media type checks; then the platform flows.
   */
  const handleToken = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const at = clock.now();
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const form = isFormContentType(req.headers['content-type'], options.acceptContentTypeParameters)
      ? new URLSearchParams(body)
      : undefined;
    const trace: TokenRequestTrace = form ? traceTokenRequest(form) : {};
    const fault = faults.take();
    const done = (status: number, error?: PlatformError, messageId?: string): void =>
      record(method, path, {
        at,
        ...trace,
        status,
        error: error?.error,
        errorDescription: error?.error_description,
        messageId,
        fault: fault?.kind,
      });

    if (fault?.kind === 'delay') await sleep(fault.ms, undefined, { ref: false });
    else if (fault) {
      const sent = writeFault(res, fault, nextMessageId);
      return done(sent.status, sent.error, sent.messageId);
    }
    if (method !== 'POST') {
      sendText(res, 405, '', { Allow: 'POST' });
      return done(405);
    }
    if (!form) {
      const error = PLATFORM_ERRORS.contentType;
      return done(error.status, error, sendPlatformError(res, error));
    }
    // Apigee's proxy.url: the URL as the client addressed it, query string included.
    const postedUrl = `${scheme}://${req.headers.host ?? `${host}:${port}`}${req.url}`;
    const outcome = await handleTokenRequest(deps, form, postedUrl, trace);
    if (outcome.ok) {
      sendJson(res, 200, outcome.body);
      return done(200);
    }
    const error = PLATFORM_ERRORS[outcome.error];
    return done(error.status, error, sendPlatformError(res, error));
  };

  const adminFaults: Handler = async (req, res) => {
    const body = await readJsonObject(req);
    const count = body.count ?? 1;
    if (typeof count !== 'number') throw new BadRequestError('count must be a number');
    faults.inject(parseFaultSpec(body.fault), count);
    res.writeHead(204).end();
  };

  const adminIntrospect: Handler = async (req, res) => {
    const { access_token: accessToken } = await readJsonObject(req);
    if (typeof accessToken !== 'string') throw new BadRequestError('access_token must be a string');
    sendJson(res, 200, tokens.introspect(accessToken) ?? { active: false });
  };

  const mintIdToken: Handler = async (req, res) => {
    sendJson(res, 200, { id_token: cis2.idToken(await readJsonObject(req)) });
  };

  const issuerPath = new URL(cis2.issuer).pathname;
  const routes: Record<string, Record<string, Handler>> = {
    [`${issuerPath}/.well-known/openid-configuration`]: {
      GET: (_, res) => sendJson(res, 200, cis2.discovery()),
    },
    [new URL(cis2.jwksUri).pathname]: { GET: (_, res) => sendJson(res, 200, cis2.jwks()) },
    [ID_TOKEN_PATH]: { POST: mintIdToken },
    [`${ADMIN_PREFIX}/faults`]: {
      POST: adminFaults,
      DELETE: (_, res) => {
        faults.clear();
        res.writeHead(204).end();
      },
    },
    [`${ADMIN_PREFIX}/requests`]: {
      GET: (_, res) => sendJson(res, 200, { requests: recorded }),
      DELETE: (_, res) => {
        recorded.length = 0;
        res.writeHead(204).end();
      },
    },
    [`${ADMIN_PREFIX}/introspect`]: { POST: adminIntrospect },
    [ERS_A030_PATH]: {
      GET: (req, res) => {
        ers.handle(req, res);
        log(`GET ${ERS_A030_PATH} ${res.statusCode}`);
      },
    },
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', baseUrl).pathname;
    const dispatch = async (): Promise<void> => {
      if (path === TOKEN_PATH || path === MOCK_TOKEN_PATH) return handleToken(req, res, path);
      const byMethod = routes[path];
      if (!byMethod) return sendText(res, 404, 'Not Found');
      const handler = byMethod[req.method ?? 'GET'];
      if (!handler) return sendText(res, 405, '', { Allow: Object.keys(byMethod).join(', ') });
      return handler(req, res);
    };
    dispatch().catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof BadRequestError) {
        sendJson(res, error.status, { error: 'invalid_request', error_description: error.message });
      } else if (error instanceof FaultSpecError || error instanceof IdTokenRequestError) {
        sendJson(res, 400, { error: 'invalid_request', error_description: error.message });
      } else {
        log(
          `${req.method} ${path} 500 emulator error: ${error instanceof Error ? error.message : String(error)}`,
        );
        sendPlatformError(res, PLATFORM_ERRORS.unknownError);
      }
    });
  });

  return {
    baseUrl,
    tokenUrl,
    mockTokenUrl: `${baseUrl}${MOCK_TOKEN_PATH}`,
    cis2Issuer: cis2.issuer,
    registerApp: (app) => apps.register(app),
    idToken: async (claims) => cis2.idToken(claims),
    injectFaults: (fault, count) => faults.inject(fault, count),
    clearFaults: () => faults.clear(),
    records: () => [...recorded],
    clearRecords: () => {
      recorded.length = 0;
    },
    introspect: (accessToken) => tokens.introspect(accessToken),
    ers,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
