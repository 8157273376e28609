/**
 * Serves a handler over plain HTTP on loopback, translating requests into API Gateway proxy
 * events, so `npm start`, integration tests and benchmarks drive the same code Lambda runs.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Handler, ProxyEvent } from './handler.js';
import { requiresSigV4, type SigV4Policy, verifySigV4 } from './local-sigv4.js';
import { MAX_BODY_BYTES } from './request.js';

/** A running local server. */
export interface LocalServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    chunks.push(chunk);
    // Keep the chunk that crosses the limit, so the handler sees an oversize body and answers 413
    // (dropping it could leave exactly MAX_BODY_BYTES of truncated JSON: a misleading 400).
    if (size > MAX_BODY_BYTES) break;
  }
  return Buffer.concat(chunks)
    .subarray(0, MAX_BODY_BYTES + 1)
    .toString('utf8');
}

/** Converts a Node request into the API Gateway event the handler expects. */
export async function toProxyEvent(req: IncomingMessage): Promise<ProxyEvent> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const body = await readBody(req);
  return {
    httpMethod: req.method ?? 'GET',
    path: new URL(req.url ?? '/', 'http://localhost').pathname,
    headers,
    body: body.length > 0 ? body : null,
    isBase64Encoded: false,
  };
}

/** Options of {@link serveLocally}. */
export interface LocalServerOptions {
  /** Refuse requests not SigV4-signed for this policy, as API Gateway's AWS_IAM does (lambda/proxy/local-sigv4.ts). */
  readonly sigv4?: SigV4Policy;
}

/**
 * Starts serving `handler` on `host:port` (port 0 picks a free one).
 */
export async function serveLocally(
  handler: Handler,
  port = 0,
  host = '127.0.0.1',
  options: LocalServerOptions = {},
): Promise<LocalServer> {
  const server = createServer(async (req, res) => {
    try {
      const event = await toProxyEvent(req);
      // Checked over the body as read (capped at MAX_BODY_BYTES + 1), so a signed oversize body gets 403 here.
      const target = req.url ?? '/';
      const refusal =
        options.sigv4 &&
        requiresSigV4(event.httpMethod, event.path) &&
        verifySigV4(
          { method: event.httpMethod, target, headers: event.headers, body: event.body ?? '' },
          options.sigv4,
        );
      if (refusal) {
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': refusal.errorType });
        res.end(JSON.stringify({ message: refusal.message }));
        return;
      }
      const result = await handler(event);
      res.writeHead(result.statusCode, result.headers as Record<string, string>);
      res.end(result.body);
    } catch {
      // The handler never throws by design; this only guards the socket.
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal_error', error_description: 'local server failure' }));
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
