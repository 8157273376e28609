/**
 * SigV4 verification for the local server, so a caller's client can be tested against what API
 * Gateway's AWS_IAM authorisation checks: the signature over the canonical request, the credential
 * scope (date, region, `execute-api`), the clock skew, and the session token. Written from the AWS
 * SigV4 specification ("Create a signed AWS API request", "Elements of an AWS API request
 * signature"), independently of the signer the client uses (@smithy/signature-v4), so the tests
 * show two implementations agree.
 *
 * It is a test aid for loopback, not an IAM: one credential, no policies, no principals.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** API Gateway refuses a request signed more than 5 minutes away from its clock. */
export const MAX_SIGV4_SKEW_MS = 5 * 60 * 1000;

/** The one credential the local server accepts. */
export interface LocalSigV4Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it as `X-Amz-Security-Token` and sign that header. */
  readonly sessionToken?: string;
}

/** What a request must be signed for. */
export interface SigV4Policy {
  readonly credential: LocalSigV4Credential;
  readonly region: string;
  /** Default `execute-api`. */
  readonly service?: string;
  readonly nowMs: () => number;
}

/** A request as it arrived: method, the raw request target (path and query), headers, body. */
export interface SignedRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

/** Why a request was refused, with the answer API Gateway gives for it. */
export interface SigV4Refusal {
  readonly reason: string;
  /** API Gateway's `x-amzn-ErrorType`. */
  readonly errorType:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'InvalidSignatureException'
    | 'UnrecognizedClientException';
  /** API Gateway's `{"message": ...}`. */
  readonly message: string;
}

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 requires. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The canonical URI: each segment of the path as sent (already percent-encoded once) encoded again,
 * because every service but S3 signs the doubly encoded path.
 */
function canonicalUri(path: string): string {
  return path === '' ? '/' : path.split('/').map(uriEncode).join('/');
}

/** Query parameters decoded, re-encoded strictly and sorted by name, then value. */
function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&').map((part) => {
    const [name = '', value = ''] = part.split(/=(.*)/s);
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
  });
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** `X-Amz-Date` (`20261201T194500Z`) in milliseconds, or NaN. */
function amzDateMs(value: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

/** The SigV4 signature of `request` with `secret`, for the given date, scope and signed headers. */
export function sigV4Signature(
  request: SignedRequest,
  secret: string,
  amzDate: string,
  scope: { date: string; region: string; service: string },
  signedHeaders: readonly string[],
): string {
  const [path = '/', query = ''] = request.target.split(/\?(.*)/s);
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(headerValue(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders.join(';'),
    sha256Hex(request.body),
  ].join('\n');
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, scope.date), scope.region), scope.service),
    'aws4_request',
  );
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/**
 * Checks a request's SigV4 `Authorization` header against `policy`.
 *
 * @returns `undefined` when the signature is good, otherwise the refusal API Gateway would send.
 */
export function verifySigV4(request: SignedRequest, policy: SigV4Policy): SigV4Refusal | undefined {
  const service = policy.service ?? 'execute-api';
  const authorization = headerValue(request.headers, 'authorization');
  if (!authorization) {
    return {
      reason: 'no Authorization header',
      errorType: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    };
  }
  const incomplete = (reason: string): SigV4Refusal => ({
    reason,
    errorType: 'IncompleteSignatureException',
    message: reason,
  });
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!m)
    return incomplete(
      `Authorization header is not ${ALGORITHM} with Credential, SignedHeaders and Signature`,
    );
  const [, accessKeyId, date, region, signedService, signedList, signature] = m as unknown as string[];
  if (accessKeyId !== policy.credential.accessKeyId) {
    return {
      reason: 'unknown access key',
      errorType: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const signedAt = amzDateMs(amzDate);
  if (Number.isNaN(signedAt)) return incomplete('X-Amz-Date is missing or not yyyyMMddTHHmmssZ');
  if (amzDate.slice(0, 8) !== date) return incomplete('credential scope date differs from X-Amz-Date');
  if (Math.abs(policy.nowMs() - signedAt) > MAX_SIGV4_SKEW_MS) {
    return {
      reason: 'signature expired',
      errorType: 'InvalidSignatureException',
      message: 'Signature expired: request signed more than 5 minutes from now',
    };
  }
  if (region !== policy.region || signedService !== service) {
    return {
      reason: `credential scope is ${region}/${signedService}, expected ${policy.region}/${service}`,
      errorType: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region and to the service ${service}.`,
    };
  }
  const signedHeaders = (signedList as string).split(';');
  if (!signedHeaders.includes('host')) return incomplete('the host header must be signed');
  if (policy.credential.sessionToken !== undefined) {
    const token = headerValue(request.headers, 'x-amz-security-token');
    if (token !== policy.credential.sessionToken || !signedHeaders.includes('x-amz-security-token')) {
      return {
        reason: 'session token missing, wrong or unsigned',
        errorType: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
  }
  const expected = sigV4Signature(
    request,
    policy.credential.secretAccessKey,
    amzDate,
    { date, region, service },
    signedHeaders,
  );
  const matches = timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature as string, 'hex'));
  return matches
    ? undefined
    : { reason: 'signature mismatch', errorType: 'InvalidSignatureException', message: MISMATCH };
}

/**
 * Whether a route is behind SigV4 when deployed. `GET /jwks.json` is not: NHS fetches it anonymously
 * from the separate public JWKS API (lib/public-jwks.ts), and locally the emulator fetches it from the
 * local server the same way.
 */
export function requiresSigV4(method: string, path: string): boolean {
  return !(method === 'GET' && path.replace(/\/+$/, '') === '/jwks.json');
}

/** The test credential `npm start` and the tests use when `LOCAL_SIGV4` is on. Not an AWS key. */
export const LOCAL_SIGV4_DEFAULTS = {
  accessKeyId: 'AKIALOCALSIGV4TEST00',
  secretAccessKey: 'local-sigv4-test-secret-not-an-aws-key',
  region: 'eu-west-2',
} as const;

/**
 * The SigV4 check the local server applies, from the environment: on when `LOCAL_SIGV4` is `1` or
 * `true`, with `LOCAL_SIGV4_ACCESS_KEY_ID`, `LOCAL_SIGV4_SECRET_ACCESS_KEY`, `LOCAL_SIGV4_SESSION_TOKEN`
 * and `LOCAL_SIGV4_REGION` overriding {@link LOCAL_SIGV4_DEFAULTS}; `undefined` when off.
 */
export function localSigV4FromEnv(
  env: Readonly<Record<string, string | undefined>>,
  nowMs: () => number = Date.now,
): SigV4Policy | undefined {
  if (!['1', 'true'].includes((env.LOCAL_SIGV4 ?? '').toLowerCase())) return undefined;
  return {
    credential: {
      accessKeyId: env.LOCAL_SIGV4_ACCESS_KEY_ID || LOCAL_SIGV4_DEFAULTS.accessKeyId,
      secretAccessKey: env.LOCAL_SIGV4_SECRET_ACCESS_KEY || LOCAL_SIGV4_DEFAULTS.secretAccessKey,
      sessionToken: env.LOCAL_SIGV4_SESSION_TOKEN || undefined,
    },
    region: env.LOCAL_SIGV4_REGION || LOCAL_SIGV4_DEFAULTS.region,
    nowMs,
  };
}
