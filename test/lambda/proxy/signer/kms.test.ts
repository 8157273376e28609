import { GetPublicKeyCommand, KMSServiceException, SignCommand } from '@aws-sdk/client-kms';
import { compactVerify, importJWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyError } from '../../../../lambda/proxy/errors.js';
import { KmsSigner, kmsError } from '../../../../lambda/proxy/signer/kms.js';
import { modulusBits } from '../../../../lambda/proxy/signer/public-jwk.js';
import { type FakeKmsKey, mockKms, rsaKey } from '../../../helpers/kms.js';

const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('KmsSigner', () => {
  let key: FakeKmsKey;
  beforeAll(() => {
    key = { keyId: KEY_ARN, privateKey: rsaKey(4096) };
  });
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  it('signs the raw signing input with RSASSA_PKCS1_V1_5_SHA_512 and the signature verifies as RS512', async () => {
    // Prepare
    const { kms, client } = mockKms([key]);
    restore = () => kms.restore();
    const signer = new KmsSigner({ client, keyId: KEY_ARN, kidPrefix: 'int' });
    const signingInput = 'eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJ4In0';

    // Act
    const signature = await signer.sign(Buffer.from(signingInput));
    const jwk = await signer.publicJwk();

    // Assess
    expect(kms).toHaveReceivedCommandWith(SignCommand, {
      KeyId: KEY_ARN,
      MessageType: 'RAW',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512',
    });
    const sent = kms.commandCalls(SignCommand)[0]?.args[0].input.Message;
    expect(Buffer.from(sent as Uint8Array).toString()).toBe(signingInput);
    expect(signature.length).toBe(512);
    const verified = await compactVerify(
      `${signingInput}.${Buffer.from(signature).toString('base64url')}`,
      await importJWK(jwk, 'RS512'),
    );
    expect(verified.protectedHeader.alg).toBe('RS512');
  });

  it('derives the kid from the key thumbprint and reads the public key only once', async () => {
    // Prepare
    const { kms, client } = mockKms([key]);
    restore = () => kms.restore();
    const signer = new KmsSigner({ client, keyId: KEY_ARN, kidPrefix: 'int' });

    // Act
    const [kid, jwk, again] = await Promise.all([signer.keyId(), signer.publicJwk(), signer.publicJwk()]);

    // Assess
    expect(kid).toMatch(/^int-[A-Za-z0-9_-]{43}$/);
    expect(jwk).toMatchObject({ kty: 'RSA', kid, alg: 'RS512', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
    expect(again).toBe(jwk);
    expect(modulusBits(jwk)).toBe(4096);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });

  it('refuses a key smaller than the environment requires, naming the spec', async () => {
    // Prepare
    const small = { keyId: 'small', privateKey: rsaKey(2048) };
    const { kms, client } = mockKms([small]);
    restore = () => kms.restore();
    const signer = new KmsSigner({ client, keyId: 'small', kidPrefix: 'int', requiredKeySpec: 'RSA_4096' });

    // Act
    const err = await signer.keyId().catch((e: unknown) => e);

    // Assess
    expect(err).toMatchObject({ code: 'signer_misconfigured', status: 500 });
    expect((err as Error).message).toContain('not an RSA_4096 SIGN_VERIFY key (spec RSA_2048');
  });

  it('gives a different kid to a different key', async () => {
    // Prepare
    const other = { keyId: 'other', privateKey: rsaKey() };
    const { kms, client } = mockKms([key, other]);
    restore = () => kms.restore();

    // Act
    const a = await new KmsSigner({ client, keyId: KEY_ARN, kidPrefix: 'int' }).keyId();
    const b = await new KmsSigner({ client, keyId: 'other', kidPrefix: 'int' }).keyId();

    // Assess
    expect(a).not.toBe(b);
  });

  it('retries GetPublicKey after a failure instead of keeping the failure', async () => {
    // Prepare
    const { kms, client, fakes } = mockKms([key]);
    restore = () => kms.restore();
    kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }))
      .callsFake(fakes.getPublicKey);
    const signer = new KmsSigner({ client, keyId: KEY_ARN, kidPrefix: 'int' });

    // Act
    const first = await signer.keyId().catch((e: unknown) => e);
    const second = await signer.keyId();

    // Assess
    expect(first).toBeInstanceOf(ProxyError);
    expect((first as ProxyError).code).toBe('signer_unavailable');
    expect(second).toMatch(/^int-/);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(2);
  });

  it.each([
    ['ThrottlingException', 500, 'signer_unavailable', 503],
    ['KMSInternalException', 500, 'signer_unavailable', 503],
    ['AccessDeniedException', 400, 'signer_misconfigured', 500],
    ['DisabledException', 400, 'signer_misconfigured', 500],
    ['KMSInvalidStateException', 400, 'signer_misconfigured', 500],
    ['InvalidKeyUsageException', 400, 'signer_misconfigured', 500],
  ])('maps KMS %s to %s', (name, httpStatus, code, status) => {
    // Prepare
    const err = new KMSServiceException({
      name,
      $fault: httpStatus >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: httpStatus },
      message: 'm',
    });
    if (name === 'ThrottlingException') Object.assign(err, { $metadata: { httpStatusCode: 400 } });

    // Act
    const mapped = kmsError(err, 'Sign');

    // Assess
    expect(mapped.code).toBe(code);
    expect(mapped.status).toBe(status);
    expect(mapped.message).toContain(name);
  });

  it('treats a network failure as transient', () => {
    expect(kmsError(new TypeError('fetch failed'), 'Sign').code).toBe('signer_unavailable');
  });
});
