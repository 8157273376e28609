/** A hung KMS call must fail as signer_unavailable in bounded time, and not be kept. */
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../../../lambda/proxy/signer/kms.js';
import { mockKms, rsaKey } from '../../../helpers/kms.js';

const key = { keyId: 'arn:aws:kms:eu-west-2:111122223333:key/timeout', privateKey: rsaKey() };
const { kms, client, fakes } = mockKms([key]);

describe('KmsSigner timeout', () => {
  afterAll(() => kms.restore());

  it('fails a hung Sign as signer_unavailable within the timeout', async () => {
    // Prepare
    kms.on(SignCommand).callsFake(() => new Promise(() => {}));
    const signer = new KmsSigner({ client, keyId: key.keyId, kidPrefix: 'test', timeoutMs: 50 });

    // Act
    const err = await signer.sign(Buffer.from('a.b')).catch((e: unknown) => e);

    // Assess
    expect(err).toMatchObject({ code: 'signer_unavailable', status: 503 });
    kms.on(SignCommand).callsFake(fakes.sign);
  });

  it('does not keep a hung GetPublicKey: the next call reads the key again', async () => {
    // Prepare
    kms
      .on(GetPublicKeyCommand)
      .callsFakeOnce(() => new Promise(() => {}))
      .callsFake(fakes.getPublicKey);
    const signer = new KmsSigner({ client, keyId: key.keyId, kidPrefix: 'test', timeoutMs: 50 });

    // Act
    const first = await signer.publicJwk().catch((e: unknown) => e);
    const second = await signer.publicJwk();

    // Assess
    expect(first).toMatchObject({ code: 'signer_unavailable' });
    expect(second.kid).toMatch(/^test-/);
  });
});
