import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../platform/environments.js';
import { MIN_RSA_BITS, toPublicSigningJwk } from './public-jwk.js';
import type { PublicSigningJwk, Signer } from './signer.js';

/**
 * Signs with an RSA private key held in this process. For local runs, tests and the emulator only:
 * the configuration refuses it for environments whose profile forbids local keys (`int`, `prod`).
 */
export class LocalKeySigner implements Signer {
  private readonly jwk: Promise<PublicSigningJwk>;

  /**
   * @param privateKey - an RSA private key.
   * @param kidPrefix - prefix of the derived `kid`.
   */
  constructor(
    private readonly privateKey: KeyObject,
    kidPrefix: string,
  ) {
    if (privateKey.asymmetricKeyType !== 'rsa')
      throw new ConfigError('local signing key must be an RSA private key');
    this.jwk = toPublicSigningJwk(createPublicKey(privateKey), kidPrefix);
  }

  keyId(): Promise<string> {
    return this.jwk.then((jwk) => jwk.kid);
  }

  publicJwk(): Promise<PublicSigningJwk> {
    return this.jwk;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    // Same bytes KMS returns for RSASSA_PKCS1_V1_5_SHA_512 over a RAW message.
    return sign('sha512', signingInput, this.privateKey);
  }
}

/** Generates an RSA key of the size NHS expects. Takes about a second. */
export function generateSigningKey(bits: number = MIN_RSA_BITS): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
}

/**
 * Loads a PEM or JWK private key from `path`, generating and saving a new RSA-4096 PEM key there
 * (mode 0600) when the file does not exist yet.
 */
export async function loadOrCreateKeyFile(path: string): Promise<{ key: KeyObject; created: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const key = generateSigningKey();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    return { key, created: true };
  }
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed), format: 'jwk' })
      : createPrivateKey(trimmed);
    return { key, created: false };
  } catch {
    throw new ConfigError(`local signing key file ${path} is neither a PEM nor a JWK RSA private key`);
  }
}
