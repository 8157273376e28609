/**
 * A DynamoDB-compatible server on loopback (dynalite, in process, in-memory store) with the
 * cache table created, for integration tests, drills and benchmarks of the shared cache tier.
 * dynalite has no TTL and no transactions; the cache needs neither (expiry is enforced in code).
 */
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  CreateTableCommand,
  type DynamoDBClient,
  type DynamoDBClientConfig,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createCacheDynamoClient } from '../../lambda/proxy/cache/index.js';

/** A running dynalite with one cache table. */
export interface DynaliteTable {
  readonly endpoint: string;
  readonly tableName: string;
  /** A client configured as the proxy's cache client (short timeouts, 2 attempts). */
  readonly client: DynamoDBClient;
  /** A new client for this table, configured as the proxy's cache client. */
  newClient(): DynamoDBClient;
  /** Every item in the table, as stored. */
  scan(): Promise<Record<string, AttributeValue>[]>;
  /** Stops the server and drops open connections; clients then fail fast with ECONNREFUSED. */
  stop(): Promise<void>;
}

const TEST_CREDENTIALS = { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' };

/** Starts dynalite on 127.0.0.1 and creates the cache table as the CDK stack defines it (`pk` string). */
export async function startDynalite(tableName = 'token-cache'): Promise<DynaliteTable> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config: DynamoDBClientConfig = { endpoint, region: 'eu-west-2', credentials: TEST_CREDENTIALS };
  const newClient = () => createCacheDynamoClient(config);
  const client = newClient();
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  let stopped = false;
  return {
    endpoint,
    tableName,
    client,
    newClient,
    async scan() {
      return (await client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets of the SDK would otherwise hold close() open.
      server.closeAllConnections();
      await closed;
    },
  };
}
