/**
 * Cache keys. Both the lookup key and the encryption key of a session are derived with
 * HKDF-SHA256 from the exact bytes of the caller's ID token, so holding that token is the only
 * way to find a session or read it: a claim (`sub`, `sid`) is public to anyone who has seen one
 * of the user's tokens, and keying on it would hand the session to them. The environment and the
 * API key are bound in too, so one table can never serve a token across environments or apps.
 */
import { hkdfSync } from 'node:crypto';
import { LruMap } from './lru.js';

/** Fixed HKDF salt: separates this protocol's derivations from any other use of an ID token. */
export const CACHE_KEY_SALT = 'cis2-token-proxy/cache/v1';
/** HKDF info label of the lookup key (the table's `pk`). */
export const LOOKUP_KEY_LABEL = 'cis2-token-proxy/cache-key/v1';
/** HKDF info label of the AES-256-GCM key; distinct, so the `pk` reveals nothing about it. */
export const ENCRYPTION_KEY_LABEL = 'cis2-token-proxy/cache-enc/v1';

/** What every key is bound to besides the ID token. */
export interface KeyScope {
  /** The environment name (`int`, `prod`...); environment names never contain `|`. */
  readonly environment: string;
  /** The NHS app's API key. */
  readonly apiKey: string;
}

/** The two keys of one ID token's session. */
export interface CacheKey {
  /** Lookup key, base64url: the memory tier's key and the table's `pk`. */
  readonly id: string;
  /** Lookup key bytes, bound into every ciphertext as additional authenticated data. */
  readonly lookup: Buffer;
  /** 32-byte AES-256-GCM key of the stored session. */
  readonly encryption: Buffer;
}

function hkdf(subjectToken: string, label: string, scope: KeyScope): Buffer {
  const info = `${label}|${scope.environment}|${scope.apiKey}`;
  return Buffer.from(hkdfSync('sha256', Buffer.from(subjectToken, 'utf8'), CACHE_KEY_SALT, info, 32));
}

/** Derives the keys of the session of `subjectToken` within `scope`. */
export function deriveCacheKey(subjectToken: string, scope: KeyScope): CacheKey {
  const lookup = hkdf(subjectToken, LOOKUP_KEY_LABEL, scope);
  return {
    id: lookup.toString('base64url'),
    lookup,
    encryption: hkdf(subjectToken, ENCRYPTION_KEY_LABEL, scope),
  };
}

/**
 * {@link deriveCacheKey} with the results of recent ID tokens remembered: two HKDF runs cost about
 * 25 µs, a map lookup well under one, and a memory hit should cost nothing but the lookup. The
 * memo holds ID tokens in process memory, as the memory tier holds the access tokens themselves.
 */
export class CacheKeyDeriver {
  private readonly memo: LruMap<string, CacheKey>;

  constructor(
    private readonly scope: KeyScope,
    capacity: number,
  ) {
    this.memo = new LruMap(capacity);
  }

  /** The keys of `subjectToken`'s session. */
  derive(subjectToken: string): CacheKey {
    let key = this.memo.get(subjectToken);
    if (!key) {
      key = deriveCacheKey(subjectToken, this.scope);
      this.memo.set(subjectToken, key);
    }
    return key;
  }
}
