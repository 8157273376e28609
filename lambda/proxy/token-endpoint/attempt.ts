/**
 * One HTTP attempt at the token endpoint: the POST, bounded in time and in the size of what is
 * read. It returns NHS's answer as it came, or the outcome of an attempt that got no answer.
 */

import type { Clock } from '../../platform/clock.js';
import { BodyTooLargeError, readBoundedText } from '../bounded-body.js';
import { ProxyError } from '../errors.js';
import type { Trace } from '../trace.js';
import type { TokenForm } from './request.js';
import type { AttemptOutcome } from './response.js';

/** Largest NHS response body we read; a token response is under 2 KiB, an error well under 1 KiB. */
export const MAX_NHS_BODY_BYTES = 64 * 1024;

/** An HTTP answer from NHS, its body read in full (within {@link MAX_NHS_BODY_BYTES}). */
export interface HttpAnswer {
  readonly kind: 'answer';
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Posts `form` to `tokenUrl`, ending the attempt after `timeoutMs` on `clock` whatever NHS does. Adds the
 * time spent to `trace.upstreamMs`.
 */
export async function postForm(
  clock: Clock,
  fetchFn: typeof fetch,
  tokenUrl: string,
  form: TokenForm,
  trace: Trace,
  timeoutMs: number,
): Promise<HttpAnswer | AttemptOutcome> {
  const started = performance.now();
  // A timer held in this scope, not AbortSignal.timeout: Node 20's undici keeps no strong
  // reference to a timeout signal, so once it is garbage-collected the timeout never fires and
  // an attempt against a server that drips bytes hangs for ever. The timer also covers the body.
  const controller = new AbortController();
  const cancelTimer = clock.setTimer(timeoutMs, () =>
    controller.abort(new DOMException(`attempt exceeded ${timeoutMs} ms`, 'TimeoutError')),
  );
  try {
    const response = await fetchFn(tokenUrl, {
      method: 'POST',
      // Exactly this media type: the platform answers 415 to anything else.
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'x-correlation-id': trace.correlationId,
      },
      body: new URLSearchParams(form).toString(),
      // Never follow a redirect: a 307/308 would re-post the client secret, the refresh token
      // and the ID token to wherever it points.
      redirect: 'error',
      signal: controller.signal,
    });
    const text = await readBoundedText(response, MAX_NHS_BODY_BYTES, controller.signal);
    return { kind: 'answer', status: response.status, ok: response.ok, headers: response.headers, text };
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return {
        kind: 'retryable',
        error: new ProxyError(
          'nhs_bad_response',
          `NHS answered with a body larger than ${MAX_NHS_BODY_BYTES} bytes; it was cut off`,
          { messageId: trace.messageId },
        ),
      };
    }
    return attemptFailure(err, timeoutMs, trace.messageId);
  } finally {
    cancelTimer();
    trace.upstreamMs += performance.now() - started;
  }
}

/**
 * Reads an exception from one HTTP attempt. Timeouts and network failures (fetch reports those,
 * redirects refused included, as a TypeError) are NHS's and worth retrying; anything else is a
 * fault of ours, which retrying would only repeat, so it ends the call as an internal error.
 */
function attemptFailure(err: unknown, timeoutMs: number, messageId: string | undefined): AttemptOutcome {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      kind: 'retryable',
      error: new ProxyError('nhs_timeout', `NHS token endpoint did not answer within ${timeoutMs} ms`, {
        messageId,
      }),
    };
  }
  if (err instanceof TypeError) {
    return {
      kind: 'retryable',
      error: new ProxyError(
        'nhs_unavailable',
        'NHS token endpoint could not be reached (connection failed or dropped)',
        { messageId, cause: err },
      ),
    };
  }
  return {
    kind: 'final',
    error: new ProxyError('internal_error', 'the token request could not be sent; quote the correlation_id', {
      messageId,
      cause: err,
    }),
  };
}
