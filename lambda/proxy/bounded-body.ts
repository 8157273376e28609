/**
 * Reading HTTP response bodies from dependencies we do not control (NHS, CIS2) with a size limit
 * and an abort that works whatever the body's source does with the signal.
 */

/** Thrown by {@link readBoundedText} when a body outgrows its limit. */
export class BodyTooLargeError extends Error {
  constructor() {
    super('response body too large');
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a response body as UTF-8, at most `limit` bytes: beyond that (declared or streamed) the
 * body is cancelled and {@link BodyTooLargeError} thrown, so a huge answer costs `limit` bytes of
 * memory, not the Lambda's. An abort of `signal` ends the read even if the body's source ignores it.
 */
export async function readBoundedText(
  response: Response,
  limit: number,
  signal: AbortSignal,
): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLargeError();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
  });
  aborted.catch(() => {});
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw new BodyTooLargeError();
      chunks.push(value);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks).toString('utf8');
}
