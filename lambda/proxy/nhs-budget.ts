/**
 * The NHS budget the proxy keeps itself: calls to the token endpoint stay under the app's rate
 * (default the platform's 300 in any rolling minute, docs/nhs-platform.md §7), refreshes of
 * existing sessions go before new exchanges (a share is kept for them), and no single caller (IAM
 * principal) may take more than its share, so one caller cannot starve the rest. Beyond the budget
 * the caller gets 429 `rate_limited` with `Retry-After`, and NHS sees nothing.
 *
 * With the shared tier on, the count is one DynamoDB counter per 6 s window shared by every
 * container; otherwise each container keeps an exact rolling minute of its own share of the rate.
 */
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../platform/clock.js';
import { LruMap } from './cache/lru.js';

/** What a call is for: refreshes of sessions users already have go first. */
export type CallKind = 'refresh' | 'exchange';

/** The budget's answer. */
export type BudgetDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'budget' | 'caller_share'; readonly retryAfterMs: number };

/** Something that decides whether one more NHS call may be made now. */
export interface NhsBudget {
  take(kind: CallKind, caller: string): Promise<BudgetDecision>;
}

/** How the budget is shared out. */
export interface BudgetPolicy {
  /** NHS calls allowed in any rolling minute (for this budget's scope). */
  readonly perMinute: number;
  /** Share of the rate kept for refreshes: exchanges may use only the rest (0..1). */
  readonly refreshReserve: number;
  /** Most of the rate one caller may use (0..1]. */
  readonly callerShare: number;
}

const MINUTE_MS = 60_000;

/** The cap for a kind of call, never below one call (or the budget could not be used at all). */
function capFor(policy: BudgetPolicy, total: number, kind: CallKind): number {
  const cap = kind === 'refresh' ? total : Math.floor(total * (1 - policy.refreshReserve));
  return Math.max(1, cap);
}

/** The caller's key in the budget: the principal, or one shared bucket for unauthenticated calls. */
export function callerKey(caller: string | undefined): string {
  return caller ?? 'anonymous';
}

/** An exact rolling minute per container: the timestamps of the calls it made. */
export class MemoryBudget implements NhsBudget {
  private readonly calls: number[] = [];
  private readonly byCaller = new LruMap<string, number[]>(1_000);

  constructor(
    private readonly policy: BudgetPolicy,
    private readonly clock: Clock,
  ) {}

  async take(kind: CallKind, caller: string): Promise<BudgetDecision> {
    const now = this.clock.now();
    prune(this.calls, now);
    const cap = capFor(this.policy, this.policy.perMinute, kind);
    if (this.calls.length >= cap)
      return { allowed: false, reason: 'budget', retryAfterMs: freedAt(this.calls, cap) - now };
    const mine = this.byCaller.get(caller) ?? [];
    prune(mine, now);
    const callerCap = Math.max(1, Math.floor(this.policy.perMinute * this.policy.callerShare));
    if (mine.length >= callerCap)
      return { allowed: false, reason: 'caller_share', retryAfterMs: freedAt(mine, callerCap) - now };
    this.calls.push(now);
    mine.push(now);
    this.byCaller.set(caller, mine);
    return { allowed: true };
  }
}

function prune(times: number[], now: number): void {
  let drop = 0;
  while (drop < times.length && (times[drop] as number) <= now - MINUTE_MS) drop++;
  if (drop) times.splice(0, drop);
}

/** When enough of `times` leave the minute for one more call under `cap`. */
function freedAt(times: readonly number[], cap: number): number {
  return (times[times.length - cap] as number) + MINUTE_MS;
}

/** Length of one shared counter's window. */
export const SHARED_WINDOW_MS = 6_000;

/**
 * Windows a rolling minute can touch: ten whole ones and parts of two, but at most eleven hold
 * calls made within any 60 s, so a window's cap is the rate over eleven.
 */
const WINDOWS_PER_ROLLING_MINUTE = 11;

/** Settings of a {@link DynamoBudget}. */
export interface DynamoBudgetOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly policy: BudgetPolicy;
  readonly clock: Clock;
  /** Used, per container, when the table cannot answer. */
  readonly fallback: NhsBudget;
  /** Told the error name when the table failed and the fallback decided. */
  readonly onTableError?: (name: string) => void;
}

/**
 * One counter item per 6 s window in the cache table (`pk = nhs-budget#<window>`), shared by
 * every container: a conditional `UpdateItem` adds the call to the window's total and to the
 * caller's count only if both stay under their caps, so the check and the count are one atomic
 * step. Items expire through the table's TTL (`expiresAt`).
 */
export class DynamoBudget implements NhsBudget {
  constructor(private readonly options: DynamoBudgetOptions) {}

  async take(kind: CallKind, caller: string): Promise<BudgetDecision> {
    const { policy, clock } = this.options;
    const now = clock.now();
    const window = Math.floor(now / SHARED_WINDOW_MS);
    const windowCap = Math.max(1, Math.floor(policy.perMinute / WINDOWS_PER_ROLLING_MINUTE));
    const cap = capFor(policy, windowCap, kind);
    const callerCap = Math.max(1, Math.floor(windowCap * policy.callerShare));
    const retryAfterMs = (window + 1) * SHARED_WINDOW_MS - now;
    const key = { pk: { S: `nhs-budget#${window}` } };
    const callerAttribute = `c_${createHash('sha256').update(caller).digest('base64url').slice(0, 16)}`;
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: key,
          UpdateExpression: 'SET expiresAt = :ttl ADD #total :one, #caller :one',
          ConditionExpression:
            '(attribute_not_exists(#total) OR #total < :cap) AND (attribute_not_exists(#caller) OR #caller < :callerCap)',
          ExpressionAttributeNames: { '#total': 'total', '#caller': callerAttribute },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':cap': { N: String(cap) },
            ':callerCap': { N: String(callerCap) },
            ':ttl': { N: String(Math.ceil(((window + 1) * SHARED_WINDOW_MS + MINUTE_MS) / 1000)) },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { allowed: true };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        // DynamoDB returns the item with the failure; a store that does not (dynalite) is asked.
        const item = err.Item ?? (await this.read(key).catch(() => undefined));
        const total = Number(item?.total?.N ?? 0);
        const callerCount = Number(item?.[callerAttribute]?.N ?? 0);
        const callerOver = total < cap && callerCount >= callerCap;
        return { allowed: false, reason: callerOver ? 'caller_share' : 'budget', retryAfterMs };
      }
      // A table that cannot count must not stop every token request: each container falls back
      // to its own share of the rate.
      this.options.onTableError?.(err instanceof Error ? err.name : 'UnknownError');
      return this.options.fallback.take(kind, caller);
    }
  }

  private async read(
    key: Record<string, AttributeValue>,
  ): Promise<Record<string, AttributeValue> | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }
}
