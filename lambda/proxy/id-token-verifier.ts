/**
 * Local verification of the CIS2 ID token's signature, before anything is signed or sent. The
 * platform counts a token request against the app's quota before it looks at the subject token
 * (docs/nhs-platform.md §4 evaluation order, §7), so without this check a forged token costs a KMS
 * signature and an NHS call, and a flood of them locks every clinician out.
 *
 * Keys come from the configured issuer's OpenID Connect discovery document (`jwks_uri`), as the
 * CIS2 documentation asks ("You should do this at runtime … cache … up to an hour",
 * docs/nhs-platform.md §5), and are refetched early when a token names an unknown `kid`, at most
 * once a minute, as the platform itself refetches CIS2's JWKS on an unknown `kid`.
 *
 * When the keys cannot be fetched, the verifier keeps using the last keys it had for up to 24 h
 * (the platform's own CIS2 JWKS cache, §7); with no usable keys it fails closed (503
 * `cis2_keys_unavailable`): passing an unverifiable token on would reopen the quota to anyone
 * able to break our path to CIS2, and NHS must verify it against the same CIS2 keys anyway.
 */
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Clock } from '../platform/clock.js';
import { isJsonObject } from '../platform/json.js';
import { SUBJECT_TOKEN_ALGS } from '../platform/rules.js';
import { BodyTooLargeError, readBoundedText } from './bounded-body.js';
import { LruMap } from './cache/lru.js';
import { ProxyError } from './errors.js';

/** Settings of an {@link IdTokenVerifier}. */
export interface IdTokenVerifierOptions {
  /** The CIS2 issuer whose keys sign the ID tokens this environment accepts. */
  readonly issuer: string;
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
  /** How long fetched keys are used before they are fetched again (default 1 h). */
  readonly keysMaxAgeMs?: number;
  /** How long the last keys stay usable while a refetch fails (default 24 h). */
  readonly staleKeysMaxAgeMs?: number;
  /** Least time between two fetches (an unknown `kid`, a failed fetch); default 1 min. */
  readonly refetchCooldownMs?: number;
  /** Bound on each discovery or JWKS fetch (default 3 s; shortened by the request's deadline). */
  readonly fetchTimeoutMs?: number;
  /** How many refused tokens, and how many accepted ones, are remembered (default 10,000 each). */
  readonly refusedMemoSize?: number;
}

/** Largest discovery document or JWKS we read. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** Why a token was refused, as the caller is told. */
export type Refusal = 'signature' | 'unknown_key';

interface KeySet {
  readonly verify: ReturnType<typeof createLocalJWKSet>;
  readonly kids: ReadonlySet<string>;
  readonly fetchedAt: number;
}

/** Verifies ID token signatures against the issuer's published keys; see the module comment. */
export class IdTokenVerifier {
  private keys?: KeySet;
  private loading?: Promise<KeySet | undefined>;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private readonly refused: LruMap<string, number>;
  /** Tokens whose signature verified, by hash: a user's every request then costs one hash. */
  private readonly accepted: LruMap<string, number>;
  private readonly fetch: typeof fetch;
  private readonly keysMaxAgeMs: number;
  private readonly staleKeysMaxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly fetchTimeoutMs: number;

  constructor(private readonly options: IdTokenVerifierOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.keysMaxAgeMs = options.keysMaxAgeMs ?? 3_600_000;
    this.staleKeysMaxAgeMs = options.staleKeysMaxAgeMs ?? 86_400_000;
    this.cooldownMs = options.refetchCooldownMs ?? 60_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 3_000;
    this.refused = new LruMap(options.refusedMemoSize ?? 10_000);
    this.accepted = new LruMap(options.refusedMemoSize ?? 10_000);
  }

  /** The discovery document's URL: the issuer plus the OIDC well-known path. */
  get discoveryUrl(): string {
    return `${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  }

  /**
   * Checks `token`'s signature against the issuer's keys.
   *
   * @param expiresAt - the token's `exp` in ms: a token with a bad signature is remembered, and
   *   refused without verifying again, until then.
   * @param deadlineAt - `performance.now()` by which any key fetch must be done.
   * @throws {@link ProxyError} `subject_token_unverified` (401) for a bad signature or unknown
   *   key, `cis2_keys_unavailable` (503) when no keys could be had.
   */
  async verify(token: string, expiresAt: number, deadlineAt?: number): Promise<void> {
    const hash = createHash('sha256').update(token).digest('base64url');
    const now = this.options.clock.now();
    const refusedUntil = this.refused.get(hash);
    if (refusedUntil !== undefined && refusedUntil > now) throw refusal('signature', true);
    if ((this.accepted.get(hash) ?? 0) > now) return;
    let keys = await this.usableKeys(deadlineAt);
    let outcome = await check(token, keys);
    if (outcome === 'unknown_key' && now - this.lastFetchAt >= this.cooldownMs) {
      // A new kid may be a key CIS2 has just rotated in: look once, then judge.
      keys = (await this.load(deadlineAt)) ?? keys;
      outcome = await check(token, keys);
    }
    if (outcome === 'ok') {
      this.accepted.set(hash, expiresAt);
      return;
    }
    // Only a bad signature is remembered: an unknown kid may be a key CIS2 rotated in during our
    // cooldown, and the next look after it must still be able to accept that token.
    if (outcome === 'signature') this.refused.set(hash, expiresAt);
    throw refusal(outcome, false);
  }

  /** Keys young enough to use, fetching them when there are none or they are old. */
  private async usableKeys(deadlineAt: number | undefined): Promise<KeySet> {
    const now = this.options.clock.now();
    const held = this.keys;
    if (held && now - held.fetchedAt < this.keysMaxAgeMs) return held;
    const canFetch = now - this.lastFetchAt >= (held ? this.cooldownMs : Math.min(this.cooldownMs, 5_000));
    // A fetch already under way (another request's) is joined, whatever the cooldown says.
    const fetched = this.loading || canFetch ? await this.load(deadlineAt) : undefined;
    if (fetched) return fetched;
    if (held && now - held.fetchedAt < this.staleKeysMaxAgeMs) return held;
    throw new ProxyError(
      'cis2_keys_unavailable',
      "the CIS2 issuer's signing keys could not be fetched, so the ID token cannot be verified; retry shortly",
      { retryAfterS: 5 },
    );
  }

  /** Fetches discovery then the JWKS, once at a time; `undefined` (never a throw) on failure. */
  private load(deadlineAt: number | undefined): Promise<KeySet | undefined> {
    this.loading ??= this.fetchKeys(deadlineAt)
      .then((keys) => {
        this.keys = keys;
        return keys;
      })
      .catch(() => undefined)
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async fetchKeys(deadlineAt: number | undefined): Promise<KeySet> {
    this.lastFetchAt = this.options.clock.now();
    const discovery = await this.getJson(this.discoveryUrl, deadlineAt);
    const jwksUri = discovery.jwks_uri;
    if (typeof jwksUri !== 'string' || !isAllowedKeyUrl(jwksUri, this.options.issuer))
      throw new Error('discovery document has no usable jwks_uri');
    const jwks = await this.getJson(jwksUri, deadlineAt);
    if (!Array.isArray(jwks.keys)) throw new Error('JWKS has no keys array');
    const set = jwks as unknown as JSONWebKeySet;
    return {
      verify: createLocalJWKSet(set),
      kids: new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')),
      fetchedAt: this.options.clock.now(),
    };
  }

  private async getJson(url: string, deadlineAt: number | undefined): Promise<Record<string, unknown>> {
    const left = deadlineAt === undefined ? this.fetchTimeoutMs : deadlineAt - performance.now();
    const timeoutMs = Math.max(1, Math.floor(Math.min(this.fetchTimeoutMs, left)));
    const controller = new AbortController();
    // A timer in scope, not AbortSignal.timeout (see token-endpoint/attempt.ts).
    const timer = setTimeout(
      () => controller.abort(new DOMException('timed out', 'TimeoutError')),
      timeoutMs,
    );
    try {
      const response = await this.fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: controller.signal,
      });
      const text = await readBoundedText(response, MAX_DOCUMENT_BYTES, controller.signal);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const parsed: unknown = JSON.parse(text);
      if (!isJsonObject(parsed)) throw new Error('not a JSON object');
      return parsed;
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw new Error('document too large');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Whether a `jwks_uri` may be fetched: HTTPS, or plain HTTP only on loopback (the emulator). */
function isAllowedKeyUrl(url: string, issuer: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'https:') return true;
    return (
      u.protocol === 'http:' &&
      ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) &&
      new URL(issuer).hostname === u.hostname
    );
  } catch {
    return false;
  }
}

async function check(token: string, keys: KeySet): Promise<'ok' | Refusal> {
  try {
    await compactVerify(token, keys.verify, { algorithms: [...SUBJECT_TOKEN_ALGS] });
    return 'ok';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return code === 'ERR_JWKS_NO_MATCHING_KEY' ? 'unknown_key' : 'signature';
  }
}

function refusal(reason: Refusal, again: boolean): ProxyError {
  const why =
    reason === 'unknown_key'
      ? 'subject_token is signed with a key the CIS2 issuer does not publish (unknown kid)'
      : "subject_token's signature does not verify with the CIS2 issuer's published keys";
  return new ProxyError(
    'subject_token_unverified',
    `${why}${again ? ' (refused before)' : ''}; send the ID token CIS2 issued for this environment`,
  );
}
