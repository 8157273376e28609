/**
 * A KMS that really signs: aws-sdk-client-mock answers `Sign` and `GetPublicKey` with a local RSA
 * key, computing exactly what KMS computes for RSASSA_PKCS1_V1_5_SHA_512 over a RAW message, so
 * signatures produced through the mock verify for real.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandInput,
  KMSClient,
  SignCommand,
  type SignCommandInput,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';

/** A mocked KMS key. */
export interface FakeKmsKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** Generates an RSA key; 2048 bits unless asked (4096 takes about a second). */
export function rsaKey(bits = 2048): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
}

/**
 * Mocks every KMSClient so that the given keys sign and publish for real.
 *
 * @returns the mock (for call assertions) and a client to pass to the code under test.
 */
export function mockKms(keys: readonly FakeKmsKey[]) {
  const kms = mockClient(KMSClient);
  const byId = new Map(keys.map((k) => [k.keyId, k]));
  const find = (keyId: string | undefined) => {
    const key = keyId ? byId.get(keyId) : undefined;
    if (!key) throw Object.assign(new Error('key not found'), { name: 'NotFoundException' });
    return key;
  };
  const sign_ = (input: SignCommandInput) => {
    const key = find(input.KeyId);
    if (input.SigningAlgorithm !== 'RSASSA_PKCS1_V1_5_SHA_512' || input.MessageType !== 'RAW') {
      throw Object.assign(new Error('unsupported signing request'), { name: 'InvalidKeyUsageException' });
    }
    return {
      KeyId: key.keyId,
      SigningAlgorithm: input.SigningAlgorithm,
      Signature: new Uint8Array(sign('sha512', input.Message as Uint8Array, key.privateKey)),
    };
  };
  const getPublicKey = (input: GetPublicKeyCommandInput) => {
    const key = find(input.KeyId);
    return {
      KeyId: key.keyId,
      KeySpec: `RSA_${createPublicKey(key.privateKey).asymmetricKeyDetails?.modulusLength}`,
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_512'],
      PublicKey: new Uint8Array(createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' })),
    };
  };
  kms.on(SignCommand).callsFake(sign_);
  kms.on(GetPublicKeyCommand).callsFake(getPublicKey);
  return {
    kms,
    /** The real behaviours, to chain after a one-off failure: `kms.on(X).rejectsOnce(e).callsFake(fakes.sign)`. */
    fakes: { sign: sign_, getPublicKey },
    client: new KMSClient({ region: 'eu-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  };
}
