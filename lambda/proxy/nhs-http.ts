/**
 * The HTTP client of calls to NHS: one connection pool per container that keeps idle sockets for
 * a minute. Node's global fetch drops an idle socket after 4 s (undici's default keep-alive), so
 * token requests more than 4 s apart each paid DNS, TCP and TLS again; a Lambda container is
 * frozen between invocations, and a minute covers the gaps of a steadily used one. The server
 * may ask for less with its own `Keep-Alive: timeout=` hint, which undici honours.
 *
 * Node 20's fetch takes no agent settings without the `undici` package, so this uses that
 * package's fetch and Agent together (mixing its Agent with Node's bundled fetch is unsupported).
 */
import { Agent, fetch as undiciFetch } from 'undici';

/** How long an idle connection to NHS is kept. */
export const NHS_KEEP_ALIVE_MS = 60_000;

/** A fetch whose connections to NHS are kept alive for {@link NHS_KEEP_ALIVE_MS}. */
export function keepAliveFetch(keepAliveMs = NHS_KEEP_ALIVE_MS): typeof fetch {
  const agent = new Agent({ keepAliveTimeout: keepAliveMs, keepAliveMaxTimeout: keepAliveMs });
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    })) as unknown as typeof fetch;
}
