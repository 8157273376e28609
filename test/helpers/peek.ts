/**
 * Reads the start of a response body from a clone, for test doubles that watch NHS's answers
 * (to learn the tokens in them) without changing what the proxy reads: an oversized or dripping
 * body must reach the proxy's own bounded reader, not be drained or awaited here first.
 */

/** Enough for any real token response; the proxy's own limit is 64 KiB. */
const PEEK_BYTES = 64 * 1024;

/**
 * Reads the first {@link PEEK_BYTES} of `response`'s body from a clone in the background, and
 * hands `onText` what arrived once the body ends, errors, or the limit is reached.
 */
export function peekText(response: Response, onText: (text: string) => void): void {
  const body = response.clone().body;
  if (!body) return;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const pump = async (): Promise<void> => {
    try {
      while (size < PEEK_BYTES) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.byteLength;
      }
    } catch {
      // The proxy aborted the attempt: what arrived is all there is.
    }
    reader.cancel().catch(() => {});
    onText(Buffer.concat(chunks).toString('utf8'));
  };
  void pump();
}
