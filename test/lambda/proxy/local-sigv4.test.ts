/**
 * The local server's SigV4 check against two independent signers: AWS's own worked example (the
 * signature published for the IAM ListUsers request of 2015-08-30, reproduced by every SigV4 library)
 * and @smithy/signature-v4, the signer of the AWS SDK for JavaScript, on the requests the proxy's
 * callers send.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../../client/token-proxy-client.js';
import {
  LOCAL_SIGV4_DEFAULTS,
  localSigV4FromEnv,
  type SignedRequest,
  type SigV4Policy,
  sigV4Signature,
  verifySigV4,
} from '../../../lambda/proxy/local-sigv4.js';

const credential = { accessKeyId: 'AKIATESTTESTTESTTEST', secretAccessKey: 'test/secret+key=value' };
const SIGNED_AT = Date.UTC(2026, 11, 1, 19, 45, 0);

function policy(overrides: Partial<SigV4Policy> = {}): SigV4Policy {
  return { credential, region: 'eu-west-2', nowMs: () => SIGNED_AT + 30_000, ...overrides };
}

/** Signs a request with @smithy/signature-v4 and returns it as the local server would see it. */
async function smithySigned(
  request: {
    method?: string;
    path?: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: string;
  },
  options: { region?: string; service?: string; sessionToken?: string; secret?: string } = {},
): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region ?? 'eu-west-2',
    credentials: {
      ...credential,
      secretAccessKey: options.secret ?? credential.secretAccessKey,
      sessionToken: options.sessionToken,
    },
    sha256: Sha256,
  });
  const path = request.path ?? '/v1/token';
  const query = request.query ?? {};
  const signed = await signer.sign(
    {
      method: request.method ?? 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 3000,
      path,
      query,
      headers: { host: '127.0.0.1:3000', 'content-type': 'application/json', ...request.headers },
      body: request.body ?? '{"subject_token":"x"}',
    },
    { signingDate: new Date(SIGNED_AT) },
  );
  const search = new URLSearchParams(query).toString();
  return {
    method: signed.method,
    target: search ? `${path}?${search}` : path,
    headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: request.body ?? '{"subject_token":"x"}',
  };
}

describe('SigV4 signature computation', () => {
  it("reproduces AWS's published example signature (IAM ListUsers, 2015-08-30)", () => {
    // Prepare
    const request: SignedRequest = {
      method: 'GET',
      target: '/?Action=ListUsers&Version=2010-05-08',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        host: 'iam.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
      },
      body: '',
    };

    // Act
    const signature = sigV4Signature(
      request,
      'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      '20150830T123600Z',
      { date: '20150830', region: 'us-east-1', service: 'iam' },
      ['content-type', 'host', 'x-amz-date'],
    );

    // Assess
    expect(signature).toBe('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
  });
});

describe('verifySigV4 against @smithy/signature-v4', () => {
  it.each([
    ['POST /v1/token with a JSON body', {}],
    ['GET /health with no body', { method: 'GET', path: '/v1/health', body: '' }],
    [
      'a query string to sort and encode',
      { method: 'GET', path: '/v1/health', query: { b: '2 3', a: 'x/y*', A: '~' }, body: '' },
    ],
    ['a percent-encoded path segment, as URL.pathname gives it', { path: '/v1/to%20ken' }],
    ['header values with runs of spaces', { headers: { 'x-correlation-id': '  a   b  ' } }],
  ])('accepts %s', async (_what, request) => {
    // Act
    const signed = await smithySigned(request);

    // Assess
    expect(verifySigV4(signed, policy())).toBeUndefined();
  });

  it('accepts temporary credentials with their signed session token', async () => {
    // Prepare
    const signed = await smithySigned({}, { sessionToken: 'session-token-1' });

    // Act
    const refusal = verifySigV4(
      signed,
      policy({ credential: { ...credential, sessionToken: 'session-token-1' } }),
    );

    // Assess
    expect(refusal).toBeUndefined();
  });

  it.each([
    ['the body', (r: SignedRequest) => ({ ...r, body: '{"subject_token":"y"}' })],
    ['the method', (r: SignedRequest) => ({ ...r, method: 'PUT' })],
    ['the path', (r: SignedRequest) => ({ ...r, target: '/v1/tokens' })],
    ['a signed header', (r: SignedRequest) => ({ ...r, headers: { ...r.headers, host: 'evil:3000' } })],
  ])('refuses a request whose %s changed after signing', async (_what, tamper) => {
    // Act
    const refusal = verifySigV4(tamper(await smithySigned({})), policy());

    // Assess
    expect(refusal).toMatchObject({ errorType: 'InvalidSignatureException', reason: 'signature mismatch' });
    expect(refusal?.message).toMatch(/^The request signature we calculated does not match/);
  });

  it.each([
    ['a wrong secret', {}, { secret: 'not-the-secret' }, 'signature mismatch'],
    [
      'another region',
      {},
      { region: 'us-east-1' },
      'credential scope is us-east-1/execute-api, expected eu-west-2/execute-api',
    ],
    [
      'another service',
      {},
      { service: 'lambda' },
      'credential scope is eu-west-2/lambda, expected eu-west-2/execute-api',
    ],
  ] as const)('refuses a signature made with %s', async (_what, request, options, reason) => {
    // Act
    const refusal = verifySigV4(await smithySigned(request, options), policy());

    // Assess
    expect(refusal?.reason).toBe(reason);
  });

  it('refuses a signature more than 5 minutes old, and one from the future', async () => {
    // Prepare
    const signed = await smithySigned({});

    // Act
    const late = verifySigV4(signed, policy({ nowMs: () => SIGNED_AT + 5 * 60_000 + 1_000 }));
    const early = verifySigV4(signed, policy({ nowMs: () => SIGNED_AT - 5 * 60_000 - 1_000 }));
    const inTime = verifySigV4(signed, policy({ nowMs: () => SIGNED_AT + 4 * 60_000 }));

    // Assess
    expect([late?.reason, early?.reason, inTime]).toEqual([
      'signature expired',
      'signature expired',
      undefined,
    ]);
  });

  it('refuses an unknown access key, a missing or unsigned session token, and no signature at all', async () => {
    // Prepare
    const signed = await smithySigned({});
    const withToken = policy({ credential: { ...credential, sessionToken: 'expected-token' } });

    // Act
    const unknownKey = verifySigV4(
      signed,
      policy({ credential: { ...credential, accessKeyId: 'AKIAOTHER' } }),
    );
    const noToken = verifySigV4(signed, withToken);
    const unsignedToken = verifySigV4(
      { ...signed, headers: { ...signed.headers, 'x-amz-security-token': 'expected-token' } },
      withToken,
    );
    const unsigned = verifySigV4({ ...signed, headers: { host: '127.0.0.1:3000' } }, policy());
    const garbled = verifySigV4(
      { ...signed, headers: { ...signed.headers, authorization: 'Bearer abc' } },
      policy(),
    );

    // Assess
    expect(unknownKey?.errorType).toBe('UnrecognizedClientException');
    expect(noToken?.errorType).toBe('UnrecognizedClientException');
    expect(unsignedToken?.errorType).toBe('UnrecognizedClientException');
    expect(unsigned).toMatchObject({
      errorType: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    expect(garbled?.errorType).toBe('IncompleteSignatureException');
  });
});

describe('localSigV4FromEnv', () => {
  it('is off unless LOCAL_SIGV4 is 1 or true, and then uses the test credential unless told otherwise', () => {
    // Act
    const off = localSigV4FromEnv({});
    const on = localSigV4FromEnv({ LOCAL_SIGV4: 'true' });
    const custom = localSigV4FromEnv({
      LOCAL_SIGV4: '1',
      LOCAL_SIGV4_REGION: 'eu-west-1',
      LOCAL_SIGV4_ACCESS_KEY_ID: 'AKIAX',
    });

    // Assess
    expect(off).toBeUndefined();
    expect(on).toMatchObject({
      region: LOCAL_SIGV4_DEFAULTS.region,
      credential: { accessKeyId: LOCAL_SIGV4_DEFAULTS.accessKeyId },
    });
    expect(custom).toMatchObject({ region: 'eu-west-1', credential: { accessKeyId: 'AKIAX' } });
  });
});
