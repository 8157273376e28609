import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SECRET_PLACEHOLDER } from '../names.js';
import type { RuntimeConfig } from './config.js';
import { ProxyError, withTimeout } from './errors.js';
import type { AppCredentials } from './token-endpoint/types.js';

/** Secrets Manager errors that mean the secret itself is wrong, not that the service is down. */
const PERMANENT_SECRET_ERRORS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
]);

/**
 * Parses the secret's JSON `{"api_key": "...", "client_secret": "..."}`.
 *
 * @throws {@link ProxyError} `config_error` naming the missing field (never echoing the value).
 */
export function parseCredentialsSecret(secretId: string, text: string | undefined): AppCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new ProxyError(
      'config_error',
      `secret ${secretId} is not JSON; expected {"api_key": ..., "client_secret": ...}`,
    );
  }
  const record = (value ?? {}) as Record<string, unknown>;
  for (const field of ['api_key', 'client_secret']) {
    if (typeof record[field] !== 'string' || !record[field]) {
      throw new ProxyError('config_error', `secret ${secretId} has no non-empty string field '${field}'`);
    }
    // Refused rather than sent: a placeholder would earn NHS rejections until the container
    // recycled, and a config_error is not kept, so setting the secret takes effect at once.
    if (record[field] === SECRET_PLACEHOLDER) {
      throw new ProxyError(
        'config_error',
        `secret ${secretId} still holds the placeholder in '${field}': put the NHS app's values in it`,
      );
    }
  }
  return { apiKey: record.api_key as string, clientSecret: record.client_secret as string };
}

export { SECRET_PLACEHOLDER } from '../names.js';

/** How long one GetSecretValue may take; Secrets Manager answers in tens of milliseconds. */
export const SECRETS_TIMEOUT_MS = 3_000;

/**
 * Reads the app credentials from Secrets Manager once per container and keeps them; a failed
 * read is not kept, so the next request tries again. A read that does not answer within
 * `timeoutMs` fails as `secrets_unavailable`: kept pending, it would hang every later request of
 * the container too.
 */
export function secretsManagerCredentials(
  client: SecretsManagerClient,
  secretId: string,
  timeoutMs = SECRETS_TIMEOUT_MS,
): () => Promise<AppCredentials> {
  let cached: Promise<AppCredentials> | undefined;
  const load = async (): Promise<AppCredentials> => {
    let secretString: string | undefined;
    try {
      const read = client.send(new GetSecretValueCommand({ SecretId: secretId }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      secretString = (
        await withTimeout(
          read,
          timeoutMs,
          () =>
            new ProxyError(
              'secrets_unavailable',
              `Secrets Manager did not answer within ${timeoutMs} ms; retry later`,
            ),
        )
      ).SecretString;
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      const name = err instanceof Error ? err.name : 'UnknownError';
      throw PERMANENT_SECRET_ERRORS.has(name)
        ? new ProxyError(
            'config_error',
            `secret ${secretId} cannot be read (${name}): check it exists and this function may read it`,
            { cause: err },
          )
        : new ProxyError('secrets_unavailable', `Secrets Manager is unavailable (${name}); retry later`, {
            cause: err,
          });
    }
    return parseCredentialsSecret(secretId, secretString);
  };
  return () => {
    cached ??= load().catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
    return cached;
  };
}

/** Credentials given directly (local runs and tests). */
export function staticCredentials(credentials: AppCredentials): () => Promise<AppCredentials> {
  const value = Promise.resolve(credentials);
  return () => value;
}

/**
 * The app's NHS credentials as configured: the Secrets Manager secret (with `secretsManager` or a
 * default client), or the static local ones. The proxy and the probe both take theirs from here.
 */
export function buildCredentials(
  config: Pick<RuntimeConfig, 'credentials'>,
  overrides: { readonly secretsManager?: SecretsManagerClient } = {},
): () => Promise<AppCredentials> {
  if (config.credentials.kind === 'static') return staticCredentials(config.credentials);
  return secretsManagerCredentials(
    overrides.secretsManager ?? new SecretsManagerClient({}),
    config.credentials.secretId,
  );
}
