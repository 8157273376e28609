/**
 * The NHS budget: the rolling minute per container, the refresh reserve, the caller's share, and
 * the shared counter on dynalite (its conditional update and its fallback when the table fails).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lambda/platform/clock.js';
import { DynamoBudget, MemoryBudget, SHARED_WINDOW_MS } from '../../../lambda/proxy/nhs-budget.js';
import { type DynaliteTable, startDynalite } from '../../helpers/dynalite.js';

const policy = { perMinute: 10, refreshReserve: 0.2, callerShare: 0.5 };

async function takeMany(
  budget: MemoryBudget | DynamoBudget,
  n: number,
  kind: 'refresh' | 'exchange',
  caller: string,
) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await budget.take(kind, caller));
  return out;
}

describe('MemoryBudget', () => {
  it('keeps a rolling minute: beyond the cap, refuses with the wait until a call leaves it', async () => {
    // Prepare
    const clock = new ManualClock(0);
    const budget = new MemoryBudget({ ...policy, callerShare: 1 }, clock);

    // Act
    const first = await takeMany(budget, 8, 'exchange', 'a');
    clock.advance(10_000);
    const over = await budget.take('exchange', 'a');
    clock.advance(50_000);
    const after = await budget.take('exchange', 'a');

    // Assess: exchanges may use 80 % of 10; the first left the minute at 60 s.
    expect(first.every((d) => d.allowed)).toBe(true);
    expect(over).toEqual({ allowed: false, reason: 'budget', retryAfterMs: 50_000 });
    expect(after.allowed).toBe(true);
  });

  it('keeps the reserve for refreshes: exchanges are refused while refreshes still go', async () => {
    const budget = new MemoryBudget({ ...policy, callerShare: 1 }, new ManualClock(0));
    await takeMany(budget, 8, 'exchange', 'a');
    expect((await budget.take('exchange', 'a')).allowed).toBe(false);
    expect((await budget.take('refresh', 'a')).allowed).toBe(true);
    expect((await budget.take('refresh', 'a')).allowed).toBe(true);
    expect((await budget.take('refresh', 'a')).allowed).toBe(false);
  });

  it('refuses a caller past its share while another caller is served', async () => {
    const budget = new MemoryBudget(policy, new ManualClock(0));
    const greedy = await takeMany(budget, 6, 'exchange', 'greedy');
    expect(greedy.filter((d) => d.allowed)).toHaveLength(5);
    expect(greedy.at(-1)).toMatchObject({ allowed: false, reason: 'caller_share' });
    expect((await budget.take('exchange', 'other')).allowed).toBe(true);
  });
});

describe('DynamoBudget', () => {
  let table: DynaliteTable;
  beforeAll(async () => {
    table = await startDynalite('budget-test');
  });
  afterAll(() => table.stop());

  const broken = () => {
    throw new Error('fallback not expected');
  };

  it('shares one counter per window between containers: the window cap holds across them', async () => {
    // Prepare: 110 per minute is 10 per 6 s window; two containers, one clock.
    const clock = new ManualClock(SHARED_WINDOW_MS * 1_000);
    const shared = { perMinute: 110, refreshReserve: 0, callerShare: 1 };
    const make = () =>
      new DynamoBudget({
        client: table.newClient(),
        tableName: table.tableName,
        policy: shared,
        clock,
        fallback: { take: broken },
      });
    const [a, b] = [make(), make()];

    // Act
    const answers = await Promise.all([takeMany(a, 8, 'exchange', 'x'), takeMany(b, 8, 'exchange', 'x')]);
    clock.advance(SHARED_WINDOW_MS);
    const nextWindow = await a.take('exchange', 'x');

    // Assess
    expect(answers.flat().filter((d) => d.allowed)).toHaveLength(10);
    expect(answers.flat().find((d) => !d.allowed)).toMatchObject({ reason: 'budget' });
    expect(nextWindow.allowed).toBe(true);
  });

  it("names the caller's share when the caller, not the app, is over", async () => {
    const clock = new ManualClock(SHARED_WINDOW_MS * 2_000);
    const budget = new DynamoBudget({
      client: table.newClient(),
      tableName: table.tableName,
      policy: { perMinute: 110, refreshReserve: 0, callerShare: 0.3 },
      clock,
      fallback: { take: broken },
    });
    const greedy = await takeMany(budget, 4, 'exchange', 'greedy');
    expect(greedy.filter((d) => d.allowed)).toHaveLength(3);
    expect(greedy.at(-1)).toMatchObject({ allowed: false, reason: 'caller_share' });
    expect((await budget.take('exchange', 'other')).allowed).toBe(true);
  });

  it("falls back to the container's own share when the table cannot answer", async () => {
    const errors: string[] = [];
    const clock = new ManualClock(0);
    const budget = new DynamoBudget({
      client: new DynamoDBClient({
        endpoint: 'http://127.0.0.1:9',
        region: 'eu-west-2',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        maxAttempts: 1,
      }),
      tableName: 'absent',
      policy,
      clock,
      fallback: new MemoryBudget({ ...policy, perMinute: 1 }, clock),
      onTableError: (name) => errors.push(name),
    });
    expect((await budget.take('exchange', 'a')).allowed).toBe(true);
    expect((await budget.take('exchange', 'a')).allowed).toBe(false);
    expect(errors).toHaveLength(2);
  });
});
