import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  KMSServiceException,
  SignCommand,
  type SignCommandOutput,
  SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { ProxyError, withTimeout } from '../errors.js';
import { toPublicSigningJwk } from './public-jwk.js';
import type { PublicSigningJwk, Signer } from './signer.js';

/** KMS error names that mean "try again later" rather than "an operator must act". */
const TRANSIENT_KMS_ERRORS = new Set([
  'ThrottlingException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'ServiceUnavailableException',
  'RequestLimitExceeded',
  'TimeoutError',
]);

/**
 * Maps a KMS failure to a typed error: throttling and outages are transient (503), access denied,
 * a disabled key or a wrong key type need an operator (500). Network errors count as transient.
 */
export function kmsError(err: unknown, operation: string): ProxyError {
  const name = err instanceof Error ? err.name : 'UnknownError';
  const transient =
    TRANSIENT_KMS_ERRORS.has(name) ||
    !(err instanceof KMSServiceException) ||
    (err.$metadata?.httpStatusCode ?? 0) >= 500;
  return transient
    ? new ProxyError('signer_unavailable', `KMS ${operation} failed transiently (${name}); retry later`, {
        cause: err,
      })
    : new ProxyError(
        'signer_misconfigured',
        `KMS ${operation} was refused (${name}): check the key is enabled, RSA_4096 SIGN_VERIFY, and that this function may use it`,
        { cause: err },
      );
}

/** Options of a {@link KmsSigner}. */
export interface KmsSignerOptions {
  readonly client: KMSClient;
  /** Key ARN or key id of an RSA SIGN_VERIFY key (the configuration refuses aliases). */
  readonly keyId: string;
  /** Prefix of the derived `kid`, usually the environment name. */
  readonly kidPrefix: string;
  /** How long one KMS call may take before it fails as `signer_unavailable`; default {@link KMS_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** The key spec the environment demands (NHS expects RSA_4096 in `int` and `prod`); any RSA if unset. */
  readonly requiredKeySpec?: string;
}

/** Default bound of one KMS call; Sign answers in milliseconds when KMS is healthy. */
export const KMS_TIMEOUT_MS = 3_000;

/**
 * Signs with an RSA key held in AWS KMS: the private key never leaves the HSM. The signature is
 * computed by KMS over the raw signing input (MessageType RAW: KMS hashes with SHA-512 itself),
 * which is byte for byte a JWS RS512 signature.
 */
export class KmsSigner implements Signer {
  private jwk?: Promise<PublicSigningJwk>;

  constructor(private readonly options: KmsSignerOptions) {}

  keyId(): Promise<string> {
    return this.publicJwk().then((jwk) => jwk.kid);
  }

  /** Reads the public key once per container; a failed read is retried on the next call. */
  publicJwk(): Promise<PublicSigningJwk> {
    this.jwk ??= this.loadPublicJwk().catch((err: unknown) => {
      this.jwk = undefined;
      throw err;
    });
    return this.jwk;
  }

  /**
   * Sends a KMS command within the timeout. A hung call must fail: a pending `GetPublicKey` is
   * kept by {@link publicJwk} and would hang every request and the JWKS route with it.
   */
  private send<T>(command: SignCommand | GetPublicKeyCommand, operation: string): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? KMS_TIMEOUT_MS;
    const call = this.options.client.send(command as SignCommand, {
      abortSignal: AbortSignal.timeout(timeoutMs),
    }) as Promise<unknown> as Promise<T>;
    return withTimeout(
      call,
      timeoutMs,
      () =>
        new ProxyError(
          'signer_unavailable',
          `KMS ${operation} did not answer within ${timeoutMs} ms; retry later`,
        ),
    );
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    try {
      const out = await this.send<SignCommandOutput>(
        new SignCommand({
          KeyId: this.options.keyId,
          Message: signingInput,
          MessageType: 'RAW',
          SigningAlgorithm: SigningAlgorithmSpec.RSASSA_PKCS1_V1_5_SHA_512,
        }),
        'Sign',
      );
      if (!out.Signature) throw new ProxyError('signer_misconfigured', 'KMS Sign returned no signature');
      return out.Signature;
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      throw kmsError(err, 'Sign');
    }
  }

  private async loadPublicJwk(): Promise<PublicSigningJwk> {
    let out: GetPublicKeyCommandOutput;
    try {
      out = await this.send<GetPublicKeyCommandOutput>(
        new GetPublicKeyCommand({ KeyId: this.options.keyId }),
        'GetPublicKey',
      );
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      throw kmsError(err, 'GetPublicKey');
    }
    const required = this.options.requiredKeySpec;
    if (
      !out.PublicKey ||
      out.KeyUsage !== 'SIGN_VERIFY' ||
      !out.KeySpec?.startsWith('RSA_') ||
      (required !== undefined && out.KeySpec !== required)
    ) {
      throw new ProxyError(
        'signer_misconfigured',
        `KMS key ${this.options.keyId} is not an ${required ?? 'RSA'} SIGN_VERIFY key (spec ${out.KeySpec}, usage ${out.KeyUsage})`,
      );
    }
    return toPublicSigningJwk(out.PublicKey, this.options.kidPrefix);
  }
}
