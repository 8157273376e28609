/** Keep-alive to NHS: idle connections outlive the 4 s after which Node's global fetch drops them. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepAliveFetch } from '../../../lambda/proxy/nhs-http.js';

let connections = 0;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{}');
});
server.on('connection', () => {
  connections += 1;
});
// No `Keep-Alive: timeout=` hint (Node sends none with 0, and keeps idle sockets): the client
// decides how long to keep them, as against a server that gives no hint.
server.keepAliveTimeout = 0;
let url = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keepAliveFetch', () => {
  it('reuses one connection for requests 5 s apart, where the global fetch opens two', async () => {
    // Act
    connections = 0;
    const f = keepAliveFetch();
    await (await f(url, { method: 'POST', body: 'a=1' })).text();
    await pause(5_000);
    await (await f(url, { method: 'POST', body: 'a=1' })).text();
    const kept = connections;

    connections = 0;
    await (await fetch(url, { method: 'POST', body: 'a=1' })).text();
    await pause(5_000);
    await (await fetch(url, { method: 'POST', body: 'a=1' })).text();
    const global = connections;

    // Assess
    expect(kept).toBe(1);
    expect(global).toBe(2);
  }, 20_000);
});
