/**
 * The shared tier: one DynamoDB item per session, so every Lambda container reuses a user's
 * tokens. Items hold only the lookup key, a revision id, the sealed session and timestamps (see
 * docs/token-cache.md for the layout); a shared hit is exactly one consistent GetItem.
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CacheKey } from './cache-key.js';
import { open, SealedEntryError, seal } from './sealed.js';
import {
  type CachedSession,
  type CacheOperation,
  CacheTierError,
  type SharedCacheTier,
  usefulUntil,
} from './session.js';

/** Version of the item layout and of the sealed format (`v`). */
export const ITEM_VERSION = 1;

/** Default per-attempt budget of a cache call: the cache must never cost more than it saves. */
export const DEFAULT_CACHE_TIMEOUT_MS = 500;

/**
 * A DynamoDB client for the cache: short timeouts and a single retry, because a slow or
 * throttled table should be skipped (the request carries on upstream), not waited for.
 */
export function createCacheDynamoClient(
  config: DynamoDBClientConfig = {},
  timeoutMs = DEFAULT_CACHE_TIMEOUT_MS,
): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
    ...config,
  });
}

/** Settings of a {@link DynamoTier}. */
export interface DynamoTierOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** How long a refresh lease lasts; it should cover one refresh call. */
  readonly leaseMs: number;
  /** Identifies this container as a lease holder; default a random UUID. */
  readonly owner?: string;
}

/** Sessions in a DynamoDB table keyed by `pk` (string), with TTL on `expiresAt`. */
export class DynamoTier implements SharedCacheTier {
  private readonly owner: string;

  constructor(private readonly options: DynamoTierOptions) {
    this.owner = options.owner ?? randomUUID();
  }

  async get(key: CacheKey, now: number): Promise<CachedSession | undefined> {
    const { Item: item } = await this.send('get', () =>
      this.options.client.send(
        new GetItemCommand({
          TableName: this.options.tableName,
          Key: { pk: { S: key.id } },
          // A lease waiter polls for the holder's write; an eventually consistent read could miss it.
          ConsistentRead: true,
          ProjectionExpression: 'v, rev, ct, expiresAt, leaseOwner',
        }),
      ),
    );
    // TTL deletion is lazy (up to days late), so expiry is enforced here as well; an item
    // without a readable expiry counts as expired.
    const expiresAtMs = Number(item?.expiresAt?.N) * 1000;
    if (!item || !(expiresAtMs > now)) return undefined;
    // A claim marker (see claimExchange): the first exchange is under way, no session yet. Only
    // an item shaped exactly so: anything else without a session is corrupt, and reported.
    if (item.v === undefined && item.ct === undefined && item.leaseOwner?.S !== undefined) return undefined;
    return this.openItem(item, key);
  }

  async put(key: CacheKey, session: CachedSession): Promise<void> {
    await this.send('put', () =>
      this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          // A whole new item: a new revision, and no lease, since no one can hold one on it yet.
          Item: {
            pk: { S: key.id },
            v: { N: String(ITEM_VERSION) },
            rev: { S: session.rev },
            ct: { B: seal(session, key) },
            expiresAt: { N: String(Math.ceil(usefulUntil(session) / 1000)) },
          },
        }),
      ),
    );
  }

  async lease(key: CacheKey, session: CachedSession, now: number): Promise<boolean> {
    try {
      await this.send('lease', () =>
        this.options.client.send(
          new UpdateItemCommand({
            TableName: this.options.tableName,
            Key: { pk: { S: key.id } },
            UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
            // Our own unexpired lease can be taken again: single flight means our previous
            // refresh of this revision has finished (it failed, or it would have replaced the item).
            ConditionExpression:
              'rev = :rev AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)',
            ExpressionAttributeValues: {
              ':owner': { S: this.owner },
              ':until': { N: String(now + this.options.leaseMs) },
              ':rev': { S: session.rev },
              ':now': { N: String(now) },
            },
          }),
        ),
      );
      return true;
    } catch (err) {
      if (err instanceof CacheTierError && err.reason === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async claimExchange(key: CacheKey, now: number): Promise<boolean> {
    try {
      await this.send('claim', () =>
        this.options.client.send(
          new PutItemCommand({
            TableName: this.options.tableName,
            // A marker without a session: readers see a miss, and wait or exchange themselves.
            Item: {
              pk: { S: key.id },
              leaseOwner: { S: this.owner },
              leaseUntil: { N: String(now + this.options.leaseMs) },
              expiresAt: { N: String(Math.ceil((now + this.options.leaseMs) / 1000)) },
            },
            // Free when there is no item, the item has expired, or it is an expired (or our own)
            // claim; never over a live session.
            ConditionExpression:
              'attribute_not_exists(pk) OR expiresAt < :nowS OR (attribute_not_exists(ct) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner))',
            ExpressionAttributeValues: {
              ':now': { N: String(now) },
              ':nowS': { N: String(Math.floor(now / 1000)) },
              ':owner': { S: this.owner },
            },
          }),
        ),
      );
      return true;
    } catch (err) {
      if (err instanceof CacheTierError && err.reason === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  private openItem(item: Record<string, AttributeValue>, key: CacheKey): CachedSession {
    const sealed = item.ct?.B;
    if (item.v?.N !== String(ITEM_VERSION) || !sealed) {
      throw new CacheTierError('get', 'CorruptEntry');
    }
    try {
      const session = open(sealed, key);
      // The plaintext `rev` drives the lease condition; it must be the sealed one.
      if (session.rev !== item.rev?.S) throw new SealedEntryError('revision does not match the sealed one');
      return session;
    } catch (err) {
      throw new CacheTierError('get', 'CorruptEntry', { cause: err });
    }
  }

  private async send<T>(operation: CacheOperation, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new CacheTierError(operation, errorName(err), { cause: err });
    }
  }
}

/** The AWS error name, or for a plain network error its code (`ECONNREFUSED`): never its message. */
function errorName(err: unknown): string {
  if (!(err instanceof Error)) return 'UnknownError';
  const code = (err as NodeJS.ErrnoException).code;
  return err.name === 'Error' && typeof code === 'string' ? code : err.name;
}
