/** The DynamoDB tier against dynalite: item layout, expiry in code, the lease condition, corrupt items. */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCacheKey } from '../../../../lambda/proxy/cache/cache-key.js';
import { DynamoTier } from '../../../../lambda/proxy/cache/dynamo-tier.js';
import { type CachedSession, CacheTierError } from '../../../../lambda/proxy/cache/session.js';
import { type DynaliteTable, startDynalite } from '../../../helpers/dynalite.js';

const T0 = 1_800_000_000_000;
const scope = { environment: 'local', apiKey: 'k' };
let n = 0;
const freshKey = () => deriveCacheKey(`id.token.${++n}`, scope);
const session = (rev = 'rev-1'): CachedSession => ({
  accessToken: 'access-token-value',
  tokenType: 'Bearer',
  accessExpiresAt: T0 + 599_000,
  refreshToken: 'refresh-token-value',
  refreshExpiresAt: T0 + 43_199_000,
  subjectExpiresAt: T0 + 3_600_000,
  rev,
});

describe('DynamoTier', () => {
  let table: DynaliteTable;
  let tier: DynamoTier;
  let other: DynamoTier;

  beforeAll(async () => {
    table = await startDynalite();
    tier = new DynamoTier({ client: table.client, tableName: table.tableName, leaseMs: 5_000, owner: 'a' });
    other = new DynamoTier({ client: table.client, tableName: table.tableName, leaseMs: 5_000, owner: 'b' });
  });
  afterAll(() => table.stop());

  it('reads back what it wrote, until the TTL instant, which it enforces itself', async () => {
    const key = freshKey();
    await tier.put(key, session());
    expect(await other.get(key, T0)).toEqual(session());
    expect(await other.get(key, T0 + 3_599_999)).toBeDefined();
    expect(await other.get(key, T0 + 3_600_000)).toBeUndefined();
    expect(await other.get(freshKey(), T0)).toBeUndefined();
  });

  it('grants one lease per revision until it expires; its owner may take it again; a new revision is free', async () => {
    // Prepare
    const key = freshKey();
    await tier.put(key, session('rev-1'));

    // Act + Assess
    expect(await tier.lease(key, session('rev-1'), T0)).toBe(true);
    expect(await other.lease(key, session('rev-1'), T0 + 1_000)).toBe(false);
    expect(await tier.lease(key, session('rev-1'), T0 + 1_000)).toBe(true);
    expect(await other.lease(key, session('rev-1'), T0 + 6_001)).toBe(true);
    expect(await tier.lease(key, session('stale-rev'), T0 + 20_000)).toBe(false);
    await tier.put(key, session('rev-2'));
    expect(await other.lease(key, session('rev-2'), T0 + 6_002)).toBe(true);
    expect(await other.lease(freshKey(), session('rev-1'), T0)).toBe(false);
  });

  it('treats an item without a readable expiry as expired', async () => {
    // Prepare
    const key = freshKey();
    await tier.put(key, session());
    const [item] = (await table.scan()).filter((i) => i.pk?.S === key.id);
    const { expiresAt: _dropped, ...withoutExpiry } = item ?? {};
    await table.client.send(new PutItemCommand({ TableName: table.tableName, Item: withoutExpiry }));

    // Act + Assess
    expect(await tier.get(key, T0)).toBeUndefined();
  });

  it.each([
    ['a ciphertext that does not authenticate', { ct: { B: new Uint8Array(64).fill(7) } }],
    ['a revision that differs from the sealed one', { rev: { S: 'swapped' } }],
    ['an unknown layout version', { v: { N: '99' } }],
  ])('reports %s as CorruptEntry', async (_name, damage) => {
    // Prepare
    const key = freshKey();
    await tier.put(key, session());
    const [item] = (await table.scan()).filter((i) => i.pk?.S === key.id);
    await table.client.send(new PutItemCommand({ TableName: table.tableName, Item: { ...item, ...damage } }));

    // Act
    const read = tier.get(key, T0);

    // Assess
    await expect(read).rejects.toBeInstanceOf(CacheTierError);
    await expect(read).rejects.toMatchObject({ operation: 'get', reason: 'CorruptEntry' });
  });
});
