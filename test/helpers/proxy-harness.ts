/**
 * The whole proxy on loopback for integration tests, drills and benchmarks: the NHS emulator,
 * a KMS mock that really signs, the composed app served over HTTP, and in-memory telemetry.
 * The emulated app fetches its JWKS from the proxy's own /jwks.json, as NHS does from the
 * registered URL, so every accepted assertion proves that route serves the right key.
 */
import { type Emulator, type EmulatorOptions, startEmulator } from '../../emulator/index.js';
import { type App, type AppOverrides, buildApp } from '../../lambda/proxy/app.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../../lambda/proxy/config.js';
import { type LocalServer, serveLocally } from '../../lambda/proxy/local-server.js';
import { memoryTelemetry } from '../../lambda/proxy/telemetry.js';
import type { TokenClientOptions } from '../../lambda/proxy/token-endpoint/client.js';
import { type FakeKmsKey, mockKms, rsaKey } from './kms.js';
import { inspect, registerSecret } from './leak-guard.js';
import { peekText } from './peek.js';

export const HARNESS_API_KEY = 'harness-api-key-0001';
export const HARNESS_CLIENT_SECRET = 'harness-client-secret-do-not-log';
export const HARNESS_KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/harness';

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  /** Extra runtime environment variables (e.g. CACHE, CACHE_TABLE). */
  readonly env?: Record<string, string>;
  readonly emulator?: EmulatorOptions;
  readonly overrides?: AppOverrides;
  readonly client?: Partial<TokenClientOptions>;
  /** Register the app with this JWKS instead of the proxy's own /jwks.json (to make NHS reject us). */
  readonly registeredJwks?: { keys: object[] };
  /** Reuse a KMS key (4096-bit generation is slow); default a fresh 2048-bit key. */
  readonly kmsKey?: FakeKmsKey;
}

/** A response from the proxy, body parsed. */
export interface ProxyResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** A running proxy with everything around it. */
export interface Harness {
  readonly emulator: Emulator;
  readonly app: App;
  /** The runtime configuration the app was built from; build a second instance with it. */
  readonly config: RuntimeConfig;
  readonly server: LocalServer;
  readonly kms: ReturnType<typeof mockKms>['kms'];
  /** A KMS client answered by the mock, for signing outside the proxy. */
  readonly kmsClient: ReturnType<typeof mockKms>['client'];
  readonly kmsKey: FakeKmsKey;
  readonly telemetry: ReturnType<typeof memoryTelemetry>;
  /** Every client assertion the proxy sent, in order (secrets: registered with the leak guard). */
  readonly assertions: string[];
  /** `POST /token` with a JSON body; registers the token it gets back as a secret. */
  postToken(body: unknown, headers?: Record<string, string>): Promise<ProxyResponse>;
  /** A CIS2 ID token from the emulator, registered as a secret. */
  idToken(claims?: Record<string, unknown | null>): Promise<string>;
  close(): Promise<void>;
}

/** Captures the form fields the proxy sends, so tests can verify assertions for real. */
function recordingFetch(assertions: string[]): typeof fetch {
  return async (input, init) => {
    const form = new URLSearchParams(String(init?.body ?? ''));
    const assertion = form.get('client_assertion');
    if (assertion) {
      assertions.push(assertion);
      registerSecret(assertion);
    }
    registerSecret(form.get('subject_token') ?? undefined, form.get('refresh_token') ?? undefined);
    const response = await fetch(input, init);
    peekText(response, (text) => {
      const match = /"(?:access_token|refresh_token)"\s*:\s*"([^"]+)"/g;
      for (const m of text.matchAll(match)) registerSecret(m[1]);
    });
    return response;
  };
}

/** Starts the emulator, the KMS mock and the proxy. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const kmsKey = options.kmsKey ?? { keyId: HARNESS_KEY_ARN, privateKey: rsaKey() };
  const { kms, client } = mockKms([kmsKey]);
  registerSecret(HARNESS_CLIENT_SECRET);
  const emulator = await startEmulator(options.emulator);
  const telemetry = memoryTelemetry();
  const assertions: string[] = [];
  const config = loadRuntimeConfig({
    ENVIRONMENT: 'local',
    EMULATOR_PORT: new URL(emulator.baseUrl).port,
    SIGNING_KEY_ID: kmsKey.keyId,
    API_KEY: HARNESS_API_KEY,
    CLIENT_SECRET: HARNESS_CLIENT_SECRET,
    // Off unless asked for: tests and benchmarks make more exchanges a minute than the platform's
    // 300 would allow, and measure the proxy, not the budget (test/lambda/proxy/nhs-budget.test.ts and
    // the quota drills turn it on).
    NHS_BUDGET_PER_MINUTE: '0',
    ...options.env,
  });
  const app = await buildApp(
    config,
    {
      kms: client,
      telemetry,
      fetch: recordingFetch(assertions),
      ...options.overrides,
    },
    {
      retry: { baseBackoffMs: 5, maxBackoffMs: 20, attemptTimeoutMs: 2_000, deadlineMs: 8_000 },
      ...options.client,
    },
  );
  const server = await serveLocally(app.handler);
  emulator.registerApp({
    apiKey: HARNESS_API_KEY,
    clientSecret: HARNESS_CLIENT_SECRET,
    ...(options.registeredJwks
      ? { jwks: options.registeredJwks as never }
      : { jwksUrl: `${server.url}/jwks.json` }),
  });
  return {
    emulator,
    app,
    config,
    server,
    kms,
    kmsClient: client,
    kmsKey,
    telemetry,
    assertions,
    async postToken(body, headers = {}) {
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const parsed = (await response.json()) as Record<string, unknown>;
      if (typeof parsed.access_token === 'string') registerSecret(parsed.access_token);
      else inspect(parsed);
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async idToken(claims) {
      const token = await emulator.idToken(claims);
      registerSecret(token);
      return token;
    },
    async close() {
      inspect(...telemetry.lines);
      kms.restore();
      await Promise.all([server.close(), emulator.close()]);
    },
  };
}
