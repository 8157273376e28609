/**
 * The two-tier token cache: per-container memory, an optional shared DynamoDB table, and the
 * policy that puts them in front of the token endpoint. See docs/token-cache.md.
 */
export { type CacheKey, CacheKeyDeriver, deriveCacheKey, type KeyScope } from './cache-key.js';
export { CachingTokenService, type CachingTokenServiceOptions } from './caching-token-service.js';
export {
  createCacheDynamoClient,
  DEFAULT_CACHE_TIMEOUT_MS,
  DynamoTier,
  type DynamoTierOptions,
  ITEM_VERSION,
} from './dynamo-tier.js';
export { LruMap } from './lru.js';
export { MemoryTier } from './memory-tier.js';
export { open, SealedEntryError, seal } from './sealed.js';
export {
  type CachedSession,
  type CacheOperation,
  type CacheTier,
  CacheTierError,
  type LocalCacheTier,
  type SharedCacheTier,
  usefulUntil,
} from './session.js';
export { SingleFlight } from './single-flight.js';
