/**
 * The non-secret facts gathered while serving one request, filled in by each stage (cache, signer,
 * token client) and written out as a single log line by the handler, whatever the outcome.
 * Only identifiers and timings belong here: never a token, an assertion or a secret.
 */
export interface Trace {
  correlationId: string;
  /** API Gateway's request id (`requestContext.requestId`), when behind API Gateway. */
  requestId?: string;
  /** The caller's IAM principal ARN (`requestContext.identity.userArn`), when authorised by IAM. */
  caller?: string;
  /** The last grant sent to NHS. */
  grant?: Grant;
  /** Every grant sent to NHS for this request, in order (a refused refresh, then an exchange). */
  grants: Grant[];
  /** `performance.now()` by which every NHS call of this request must be done; set by the first. */
  deadlineAt?: number;
  cache?: 'memory' | 'shared' | 'miss' | 'refresh' | 'bypass';
  kid?: string;
  /** `jti` of the last assertion sent; every attempt has its own. */
  jti?: string;
  jtis: string[];
  attempts: number;
  /** HTTP calls made to the NHS token endpoint for this request, every grant and attempt. */
  nhsCalls: number;
  /** Why the request was refused without calling NHS, when it was. */
  shed?: 'breaker' | 'budget' | 'caller_share';
  kmsMs: number;
  upstreamMs: number;
  upstreamStatus?: number;
  upstreamError?: string;
  upstreamErrorDescription?: string;
  /** The NHS `message_id` of the last NHS response that carried one. */
  messageId?: string;
}

/** A grant type the proxy sends to the NHS token endpoint. */
export type Grant = 'token-exchange' | 'refresh_token' | 'client_credentials';

/** A fresh trace for a request. */
export function newTrace(correlationId: string): Trace {
  return { correlationId, grants: [], jtis: [], attempts: 0, nhsCalls: 0, kmsMs: 0, upstreamMs: 0 };
}
