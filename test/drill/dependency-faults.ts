/**
 * Dependency fault drills: KMS (throttling, access denied, disabled key, key pending deletion, a
 * hung Sign call), Secrets Manager (unavailable, hung, secret missing a field) and the DynamoDB
 * shared cache tier (unavailable, throttled, corrupted items). Each must give the documented
 * status and code, count an alarm-worthy metric, keep serving what the cache holds, and recover.
 */

import { type AddressInfo, createServer, type Socket } from 'node:net';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DisabledException,
  KMSClient,
  KMSInvalidStateException,
  KMSServiceException,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  InternalServiceError,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createCacheDynamoClient } from '../../lambda/proxy/cache/index.js';
import type { ProxyErrorCode } from '../../lambda/proxy/errors.js';
import { METRIC, type MetricName } from '../../lambda/proxy/telemetry.js';
import { HARNESS_API_KEY, HARNESS_CLIENT_SECRET } from '../helpers/proxy-harness.js';
import {
  concludeDrill,
  type Drill,
  type DrillContext,
  skippedDrill,
  tokenLine,
  Verdict,
} from './invariants.js';
import { type DrillRig, type Exchange, runConcurrently, startRig, startSharedTable } from './rig.js';
import { freshSub } from './upstream-faults.js';

const FAKE_AWS = { region: 'eu-west-2', credentials: { accessKeyId: 'drill', secretAccessKey: 'drill' } };

/**
 * A KMS client whose calls can be made to fail or hang; otherwise the harness's KMS mock, which
 * stubs every KMSClient, answers. An own `send` shadows the mocked one only while a fault is on,
 * so the harness's mock keeps its record of real signatures.
 */
function faultableKms() {
  const client = new KMSClient(FAKE_AWS);
  let fault: ((command: unknown) => Promise<unknown>) | undefined;
  let raised = 0;
  // Looked up on every call: the harness installs its mock on the prototype after this is built.
  const mockedSend = (command: unknown): Promise<unknown> =>
    (KMSClient.prototype.send as (this: KMSClient, command: unknown) => Promise<unknown>).call(
      client,
      command,
    );
  Object.defineProperty(client, 'send', {
    value(command: unknown) {
      if (fault && command instanceof SignCommand) {
        raised += 1;
        return fault(command);
      }
      return mockedSend(command);
    },
  });
  return {
    client,
    fail(error: Error) {
      fault = () => Promise.reject(error);
    },
    hang(ms: number) {
      fault = (command) => new Promise((resolve) => setTimeout(resolve, ms)).then(() => mockedSend(command));
    },
    heal() {
      fault = undefined;
    },
    get raised() {
      return raised;
    },
  };
}

const kmsError = (name: string, message: string) =>
  new KMSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });

/** A KMS drill: what Sign fails with and what the caller must be told. */
interface KmsCase {
  readonly name: string;
  readonly injected: string;
  readonly error?: () => Error;
  /** Sign answers only after this long, instead of failing. */
  readonly hangMs?: number;
  readonly status: number;
  readonly code: ProxyErrorCode;
}

/** The KMS drills. */
export const KMS_CASES: readonly KmsCase[] = [
  {
    name: 'kms-throttled',
    injected: 'KMS Sign fails with ThrottlingException',
    error: () => kmsError('ThrottlingException', 'Rate exceeded'),
    status: 503,
    code: 'signer_unavailable',
  },
  {
    name: 'kms-access-denied',
    injected: 'KMS Sign fails with AccessDeniedException',
    error: () => kmsError('AccessDeniedException', 'not authorized to perform kms:Sign'),
    status: 500,
    code: 'signer_misconfigured',
  },
  {
    name: 'kms-key-disabled',
    injected: 'KMS Sign fails with DisabledException',
    error: () => new DisabledException({ $metadata: { httpStatusCode: 400 }, message: 'key is disabled' }),
    status: 500,
    code: 'signer_misconfigured',
  },
  {
    name: 'kms-key-pending-deletion',
    injected: 'KMS Sign fails with KMSInvalidStateException',
    error: () =>
      new KMSInvalidStateException({
        $metadata: { httpStatusCode: 400 },
        message: 'key is pending deletion',
      }),
    status: 500,
    code: 'signer_misconfigured',
  },
  {
    name: 'kms-hung',
    injected: 'KMS Sign answers only after 5 s (deadline 1.5 s)',
    hangMs: 5_000,
    status: 503,
    code: 'signer_unavailable',
  },
];

/** Sends `count` requests, each from a new user with a fresh ID token, `concurrency` at a time. */
async function newUsers(rig: DrillRig, count: number, concurrency = 20): Promise<Exchange[]> {
  return runConcurrently(Array.from({ length: count }), concurrency, async () => {
    const sub = freshSub('7');
    return rig.post(await rig.idToken(sub), { expectSub: sub });
  });
}

/** Checks that `metric` was counted at least `atLeast` times (an alarm would fire). */
function expectMetric(rig: DrillRig, verdict: Verdict, metric: MetricName, atLeast: number): void {
  const counted = rig.telemetry.counters.get(metric);
  verdict.check(counted >= atLeast, `${metric} counted ${counted}, expected at least ${atLeast}`);
  verdict.note(`${metric}=${counted}`);
}

function expectAll(verdict: Verdict, answers: readonly Exchange[], status: number, code?: string): void {
  for (const ex of answers) {
    verdict.check(
      ex.status === status && (code === undefined || ex.body?.error === code),
      `request #${ex.seq}: ${ex.status} ${String(ex.body?.error)}, expected ${status} ${code ?? ''}`,
    );
  }
}

function kmsDrill(c: KmsCase): Drill {
  const drill: Drill = {
    name: c.name,
    family: 'dependency',
    injected: c.injected,
    async run({ size, forward }: DrillContext) {
      const startedAt = performance.now();
      const kms = faultableKms();
      const rig = await startRig({ size, forward, env: { CACHE: 'on' }, overrides: { kms: kms.client } });
      try {
        const verdict = new Verdict();
        const n = size === 'full' ? 60 : 4;
        // Prepare: users whose sessions the cache holds must not notice the outage.
        const warmSub = freshSub('7');
        const warmToken = await rig.idToken(warmSub);
        await rig.post(warmToken, { expectSub: warmSub });
        const upstreamBefore = rig.upstreamCalls;

        // Act
        if (c.error) kms.fail(c.error());
        else kms.hang(c.hangMs as number);
        rig.onRestore(() => kms.heal());
        const failed = await newUsers(rig, n);
        const warm = await rig.post(warmToken, { expectSub: warmSub });

        // Assess
        expectAll(verdict, failed, c.status, c.code);
        verdict.check(warm.status === 200, `a cached session failed during the KMS fault (${warm.status})`);
        verdict.check(rig.upstreamCalls === upstreamBefore, 'NHS was called without a signed assertion');
        expectMetric(rig, verdict, METRIC.dependencyFailure, n);
        expectMetric(rig, verdict, METRIC.requestFailed, n);
        verdict.dependencyFaults += kms.raised;
        return await concludeDrill(rig, drill, verdict, {
          did: `${c.status} ${c.code} without calling NHS, DependencyFailure counted, cached sessions still served`,
          startedAt,
        });
      } finally {
        await rig.close();
      }
    },
  };
  return drill;
}

const mockSecrets = (client: SecretsManagerClient) => mockClient(client);

/** A Secrets Manager drill on a cold container (credentials are read once, then kept). */
interface SecretsCase {
  readonly name: string;
  readonly injected: string;
  readonly fault: (mock: ReturnType<typeof mockSecrets>) => void;
  readonly status: number;
  readonly code: ProxyErrorCode;
  /** Overall deadline, when the drill needs another than the rig's. */
  readonly deadlineMs?: number;
}

const goodSecret = JSON.stringify({ api_key: HARNESS_API_KEY, client_secret: HARNESS_CLIENT_SECRET });

/** The Secrets Manager drills. */
export const SECRETS_CASES: readonly SecretsCase[] = [
  {
    name: 'secrets-unavailable',
    injected: 'Secrets Manager GetSecretValue fails with InternalServiceError',
    fault: (mock) =>
      mock
        .on(GetSecretValueCommand)
        .rejects(new InternalServiceError({ $metadata: { httpStatusCode: 500 }, message: 'internal error' })),
    status: 503,
    code: 'secrets_unavailable',
  },
  {
    name: 'secrets-hung',
    injected: 'Secrets Manager GetSecretValue answers only after 5 s',
    fault: (mock) =>
      mock
        .on(GetSecretValueCommand)
        .callsFake(
          () => new Promise((resolve) => setTimeout(() => resolve({ SecretString: goodSecret }), 5_000)),
        ),
    status: 503,
    code: 'secrets_unavailable',
    // Each request gives up at its deadline, but the container's one pending read lives to its own
    // 3 s bound and later requests join it; the deadline outlasts it so the recovery probe meets a
    // fresh read rather than the dying one.
    deadlineMs: 4_000,
  },
  {
    name: 'secret-missing-field',
    injected: 'the secret lacks client_secret',
    fault: (mock) =>
      mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ api_key: HARNESS_API_KEY }) }),
    status: 500,
    code: 'config_error',
  },
  {
    name: 'secret-not-json',
    injected: 'the secret is not JSON',
    fault: (mock) => mock.on(GetSecretValueCommand).resolves({ SecretString: `api_key=${HARNESS_API_KEY}` }),
    status: 500,
    code: 'config_error',
  },
];

function secretsDrill(c: SecretsCase): Drill {
  const drill: Drill = {
    name: c.name,
    family: 'dependency',
    injected: c.injected,
    async run({ size, forward }: DrillContext) {
      const startedAt = performance.now();
      const client = new SecretsManagerClient(FAKE_AWS);
      const mock = mockSecrets(client);
      const rig = await startRig({
        size,
        forward,
        env: { CACHE: 'on', SECRET_ID: 'drill/nhs-app' },
        overrides: { secretsManager: client },
        retry: c.deadlineMs === undefined ? undefined : { deadlineMs: c.deadlineMs },
      });
      try {
        const verdict = new Verdict();
        const n = size === 'full' ? 40 : 3;
        // Prepare
        c.fault(mock);
        rig.onRestore(() => {
          mock.reset();
          mock.on(GetSecretValueCommand).resolves({ SecretString: goodSecret });
        });

        // Act
        const failed = await newUsers(rig, n);

        // Assess
        expectAll(verdict, failed, c.status, c.code);
        verdict.check(rig.upstreamCalls === 0, 'NHS was called without credentials');
        expectMetric(rig, verdict, METRIC.dependencyFailure, n);
        verdict.dependencyFaults += mock.commandCalls(GetSecretValueCommand).length;
        return await concludeDrill(rig, drill, verdict, {
          did: `${c.status} ${c.code} without calling NHS, DependencyFailure counted, next read after repair succeeds`,
          startedAt,
        });
      } finally {
        await rig.close();
        mock.restore();
      }
    },
  };
  return drill;
}

/** A DynamoDB drill: warm the table, break it, keep serving, recover. */
interface DynamoCase {
  readonly name: string;
  readonly injected: string;
  /** Breaks the tier; returns how to count the faults raised. */
  readonly breakTier: (tier: DynamoFixture) => Promise<() => number>;
}

/** A running shared tier for one drill. */
interface DynamoFixture {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The table's own admin client, never broken. */
  readonly admin: DynamoDBClient;
  scan(): Promise<Record<string, AttributeValue>[]>;
  stop(): Promise<void>;
}

/** Item corruptions a table can suffer (bit rot, a bad deploy writing another layout, tampering). */
const CORRUPTIONS: readonly ((
  item: Record<string, AttributeValue>,
  i: number,
) => Record<string, AttributeValue>)[] = [
  (item) => ({ ...item, ct: { B: new Uint8Array((item.ct as { B: Uint8Array }).B.map((b) => b ^ 0x5a)) } }),
  (item) => ({ ...item, ct: { S: 'not-a-sealed-session' } }),
  (item) => ({ ...item, v: { N: '99' } }),
  (item) => ({ ...item, rev: { S: 'another-revision' } }),
  (item) => ({ pk: item.pk as AttributeValue, expiresAt: item.expiresAt as AttributeValue }),
  (item, i) => ({ ...item, ct: { B: new Uint8Array(i % 7) } }),
];

/** The DynamoDB drills. */
export const DYNAMO_CASES: readonly DynamoCase[] = [
  {
    name: 'dynamo-unavailable',
    injected: 'the DynamoDB endpoint goes away mid-run (dynalite stopped)',
    async breakTier(tier) {
      await tier.stop();
      return () => 0;
    },
  },
  {
    name: 'dynamo-throttled',
    injected: 'every cache table call fails with ProvisionedThroughputExceededException',
    async breakTier(tier) {
      const mock = mockClient(tier.client);
      const throttled = () =>
        new ProvisionedThroughputExceededException({
          $metadata: { httpStatusCode: 400 },
          message: 'throttled',
        });
      mock.on(GetItemCommand).rejects(throttled());
      mock.on(PutItemCommand).rejects(throttled());
      mock.on(UpdateItemCommand).rejects(throttled());
      return () => mock.calls().length;
    },
  },
  {
    name: 'dynamo-corrupted-item',
    injected: 'every cached item rewritten with garbage (flipped ciphertext, wrong types, unknown version…)',
    async breakTier(tier) {
      const items = await tier.scan();
      await Promise.all(
        items.map((item, i) =>
          tier.admin.send(
            new PutItemCommand({
              TableName: tier.tableName,
              Item: (CORRUPTIONS[i % CORRUPTIONS.length] as (typeof CORRUPTIONS)[0])(item, i),
            }),
          ),
        ),
      );
      return () => items.length;
    },
  },
];

function dynamoDrill(c: DynamoCase): Drill {
  const drill: Drill = {
    name: c.name,
    family: 'dependency',
    injected: c.injected,
    async run({ size, forward }: DrillContext) {
      const startedAt = performance.now();
      const table = await startSharedTable();
      if ('unavailable' in table)
        return skippedDrill(drill, `no shared cache tier to break (${table.unavailable})`);
      const client = table.newClient();
      const fixture: DynamoFixture = {
        client,
        tableName: table.tableName,
        admin: table.client,
        scan: () => table.scan(),
        stop: () => table.stop(),
      };
      // A memory tier of one session: every other request of a user is answered by the table.
      const rig = await startRig({
        size,
        forward,
        env: { CACHE: 'on', CACHE_TABLE: table.tableName, MEMORY_CACHE_SIZE: '1' },
        overrides: { dynamo: client },
      });
      try {
        const verdict = new Verdict();
        const users = size === 'full' ? 30 : 4;
        // Prepare: each user's session is in the table; all but the last are gone from memory.
        const tokens = await Promise.all(
          Array.from({ length: users }, async () => {
            const sub = freshSub('6');
            return { sub, token: await rig.idToken(sub) };
          }),
        );
        for (const { sub, token } of tokens) await rig.post(token, { expectSub: sub });
        const upstreamWarm = rig.upstreamCalls;
        const cacheErrorsBefore = rig.telemetry.counters.get(METRIC.cacheError);

        // Act
        const raised = await c.breakTier(fixture);
        const during = await runConcurrently(tokens, 4, ({ sub, token }) =>
          rig.post(token, { expectSub: sub }),
        );
        // With memory for one session, a user asking twice in a row is served from memory the
        // second time, while the table is broken.
        const last = tokens.at(-1) as { sub: string; token: string };
        const first = await rig.post(last.token, { expectSub: last.sub });
        const again = await rig.post(last.token, { expectSub: last.sub });

        // Assess
        expectAll(verdict, [...during, first, again], 200);
        verdict.check(
          tokenLine(rig, again)?.fields.cache === 'memory',
          `the table fault did not degrade to memory (cache ${String(tokenLine(rig, again)?.fields.cache)})`,
        );
        const cacheErrors = rig.telemetry.counters.get(METRIC.cacheError) - cacheErrorsBefore;
        verdict.check(cacheErrors > 0, 'CacheError was not counted');
        verdict.note(`CacheError=${cacheErrors}`);
        verdict.note(`upstream calls to refill: ${rig.upstreamCalls - upstreamWarm}`);
        verdict.dependencyFaults += Math.max(raised(), cacheErrors);
        return await concludeDrill(rig, drill, verdict, {
          did: 'served every request (memory, then NHS), CacheError counted, no 5xx',
          startedAt,
          // A broken table may cost its timeouts (2 × 500 ms) on the read and on the write.
          deadlineSlackMs: 2_500,
        });
      } finally {
        await rig.close();
        await table.stop();
      }
    },
  };
  return drill;
}

/** The dependency fault family, in report order. */
/** A TCP server that accepts connections and never answers: a DynamoDB endpoint at its slowest. */
async function blackhole(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The Lambda's remaining time in the drill: short, so the drill takes seconds, not 25. */
const SLOWEST_REMAINING_MS = 6_000;

/**
 * Every dependency at its slowest at once, under the production retry policy (20 s deadline):
 * Secrets Manager answers after 2.5 s, DynamoDB never answers (each call ends at its 500 ms
 * bound), KMS signs after 1.5 s, NHS answers after a minute. The request must end with our typed
 * error before the Lambda's remaining time runs out, not as the gateway's 502.
 */
export const slowestEverythingDrill: Drill = {
  name: 'every-dependency-slowest',
  family: 'dependency',
  injected: `Secrets Manager 2.5 s, DynamoDB black-holed, KMS 1.5 s, NHS 60 s; ${SLOWEST_REMAINING_MS} ms of Lambda time left`,
  async run({ size, forward }: DrillContext) {
    const startedAt = performance.now();
    const secrets = new SecretsManagerClient(FAKE_AWS);
    const secretsMock = mockSecrets(secrets);
    const kms = faultableKms();
    const hole = await blackhole();
    const rig = await startRig({
      size,
      forward,
      env: { CACHE: 'on', CACHE_TABLE: 'blackholed', SECRET_ID: 'drill/nhs-app' },
      overrides: {
        secretsManager: secrets,
        kms: kms.client,
        dynamo: createCacheDynamoClient({ ...FAKE_AWS, endpoint: hole.url }),
      },
      // Production's policy: only the Lambda's remaining time can keep the request short.
      retry: { maxAttempts: 3, attemptTimeoutMs: 8_000, deadlineMs: 20_000 },
    });
    try {
      const verdict = new Verdict();
      secretsMock
        .on(GetSecretValueCommand)
        .callsFake(
          () => new Promise((resolve) => setTimeout(() => resolve({ SecretString: goodSecret }), 2_500)),
        );
      kms.hang(1_500);
      rig.inject({ kind: 'delay', ms: 60_000 }, 10);
      rig.onRestore(async () => {
        kms.heal();
        secretsMock.reset();
        secretsMock.on(GetSecretValueCommand).resolves({ SecretString: goodSecret });
      });
      const context = { getRemainingTimeInMillis: () => SLOWEST_REMAINING_MS };

      // Act
      const sub = freshSub('3');
      const ex = await rig.post(await rig.idToken(sub), { expectSub: sub, context });

      // Assess
      const typed = ['signer_unavailable', 'secrets_unavailable', 'nhs_timeout'];
      verdict.check(
        typed.includes(String(ex.body?.error)) && ex.status >= 500,
        `slowest: answered ${ex.status} ${String(ex.body?.error)}, not a typed dependency error`,
      );
      verdict.check(
        ex.ms < SLOWEST_REMAINING_MS - 500,
        `slowest: answered after ${Math.round(ex.ms)} ms, with ${SLOWEST_REMAINING_MS} ms of Lambda time left`,
      );
      verdict.note(`answered ${ex.status} ${String(ex.body?.error)} after ${Math.round(ex.ms)} ms`);
      verdict.dependencyFaults += 1;
      return await concludeDrill(rig, slowestEverythingDrill, verdict, {
        did: `answered ${ex.status} ${String(ex.body?.error)} after ${Math.round(ex.ms)} ms, inside the Lambda's remaining ${SLOWEST_REMAINING_MS} ms`,
        startedAt,
        // The recovery probe still meets the black-holed table: two 500 ms bounds per call.
        deadlineSlackMs: 3_000,
      });
    } finally {
      await rig.close();
      secretsMock.restore();
      await hole.close();
    }
  },
};

export const DEPENDENCY_DRILLS: readonly Drill[] = [
  ...KMS_CASES.map(kmsDrill),
  ...SECRETS_CASES.map(secretsDrill),
  ...DYNAMO_CASES.map(dynamoDrill),
  slowestEverythingDrill,
];
