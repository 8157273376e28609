/**
 * The developer apps registered with the emulated platform, and their public keys. The platform
 * finds an app by the API key in the assertion's `sub`, then fetches the JWKS named by the app's
 * `jwks-resource-url` attribute and caches it per URL for an hour, without refetching on an
 * unknown `kid` (docs/nhs-platform.md §2 "JWKS hosting" and "Rotation"). This module reproduces that.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JWK } from 'jose';
import type { Clock } from '../lambda/platform/clock.js';

/**
 * A developer app. Give at most one public-key source; with none, assertions are rejected with
 * 403 `public_key error` as on a platform app without a `jwks-resource-url`.
 */
export interface AppRegistration {
  /** The API key (Apigee consumer key): the assertion's `iss`/`sub` and the refresh grant's `client_id`. */
  apiKey: string;
  /** The app secret, used only by the refresh grant. */
  clientSecret: string;
  /** A label for logs and the CLI banner. */
  name?: string;
  /** The JWKS itself, held in memory (never cached: replacing the registration replaces the keys). */
  jwks?: { keys: JWK[] };
  /** A JWKS file, read and cached like a URL so rotation drills behave as on the platform. */
  jwksFile?: string;
  /** A JWKS URL, fetched and cached as the platform does; must match {@link JWKS_URL_PATTERN}. */
  jwksUrl?: string;
}

/**
 * How the platform splits a `jwks-resource-url` into host and path (`setServiceCalloutUrl.js`);
 * a URL that does not match, such as a bare host, cannot be reached.
 */
export const JWKS_URL_PATTERN = /^(https?:\/\/[^/]+)(\/.*)$/;

/** The platform's JWKS callout timeout (`ServiceCallout.ClientCredentialsGrantGetJWKS.xml`). */
export const JWKS_FETCH_TIMEOUT_MS = 55_000;

/** Thrown when an app registration is unusable; the message names the app and the problem. */
export class AppRegistrationError extends Error {
  readonly code = 'ERR_EMULATOR_APP';
  constructor(message: string) {
    super(message);
    this.name = 'AppRegistrationError';
  }
}

/** Result of looking up an app's public keys, named after the platform outcome it leads to. */
export type JwksLookup =
  | { readonly kind: 'keys'; readonly keys: readonly JWK[] }
  | { readonly kind: 'unregistered' }
  | { readonly kind: 'unreachable' };

const UNREACHABLE: JwksLookup = { kind: 'unreachable' };

function keysOf(value: unknown): readonly JWK[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const keys = (value as { keys?: unknown }).keys;
  return Array.isArray(keys) ? (keys as JWK[]) : undefined;
}

/**
 * Checks an app registration before it is used.
 *
 * @throws {@link AppRegistrationError} naming the app and what is wrong.
 */
export function validateAppRegistration(app: AppRegistration): void {
  const label = app?.name ?? app?.apiKey ?? '(unnamed)';
  if (typeof app?.apiKey !== 'string' || app.apiKey === '')
    throw new AppRegistrationError(`app ${label}: apiKey must be a non-empty string`);
  if (typeof app.clientSecret !== 'string' || app.clientSecret === '')
    throw new AppRegistrationError(`app ${label}: clientSecret must be a non-empty string`);
  const sources = [app.jwks, app.jwksFile, app.jwksUrl].filter((source) => source !== undefined);
  if (sources.length > 1)
    throw new AppRegistrationError(`app ${label}: give at most one of jwks, jwksFile, jwksUrl`);
  if (app.jwks !== undefined && !keysOf(app.jwks))
    throw new AppRegistrationError(`app ${label}: jwks must be an object with a keys array`);
}

/** Options of an {@link AppRegistry}. */
export interface AppRegistryOptions {
  readonly clock: Clock;
  /** How long a fetched JWKS is reused, per URL or file. */
  readonly jwksCacheMs: number;
}

interface CachedJwks {
  readonly keys: readonly JWK[];
  readonly fetchedAt: number;
}

/** Registered apps by API key, with the platform's JWKS cache. */
export class AppRegistry {
  private readonly apps = new Map<string, AppRegistration>();
  private readonly cache = new Map<string, CachedJwks>();

  constructor(private readonly options: AppRegistryOptions) {}

  /**
   * Adds an app, replacing any app with the same API key. The JWKS cache is kept: the platform
   * caches by URL, not by app.
   *
   * @throws {@link AppRegistrationError} for an unusable registration.
   */
  register(app: AppRegistration): void {
    validateAppRegistration(app);
    this.apps.set(app.apiKey, { ...app });
  }

  /** The app with this API key, if registered. */
  get(apiKey: unknown): AppRegistration | undefined {
    return typeof apiKey === 'string' ? this.apps.get(apiKey) : undefined;
  }

  /** Every registered app, in registration order. */
  list(): readonly AppRegistration[] {
    return [...this.apps.values()];
  }

  /**
   * The app's public keys as the platform would see them now: from memory, or from the cache, or
   * freshly loaded. A failed load is not cached, so the next request tries again.
   */
  async jwksFor(app: AppRegistration): Promise<JwksLookup> {
    if (app.jwks) return { kind: 'keys', keys: app.jwks.keys };
    if (app.jwksUrl !== undefined) {
      if (!JWKS_URL_PATTERN.test(app.jwksUrl)) return UNREACHABLE;
      return this.cached(`url:${app.jwksUrl}`, () => fetchJwks(app.jwksUrl as string));
    }
    if (app.jwksFile !== undefined) {
      const path = resolve(app.jwksFile);
      return this.cached(`file:${path}`, () => readJwksFile(path));
    }
    return { kind: 'unregistered' };
  }

  private async cached(key: string, load: () => Promise<unknown>): Promise<JwksLookup> {
    const now = this.options.clock.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.fetchedAt < this.options.jwksCacheMs) return { kind: 'keys', keys: hit.keys };
    const keys = keysOf(await load().catch(() => undefined));
    if (!keys) return UNREACHABLE;
    this.cache.set(key, { keys, fetchedAt: now });
    return { kind: 'keys', keys };
  }
}

async function fetchJwks(url: string): Promise<unknown> {
  // The platform's callout identifies itself as APIM; some JWKS hosts log or filter on it.
  const response = await fetch(url, {
    headers: { 'User-Agent': 'APIM', Accept: 'application/json' },
    signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`JWKS fetch returned ${response.status}`);
  return response.json();
}

async function readJwksFile(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}
