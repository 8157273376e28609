/**
 * Apigee `{messageid}` values. The platform puts one in every JSON error body and its support desk
 * asks for it, so clients log it; the emulator mints realistic, unique ones so that logging code
 * and log parsers are exercised against the real shape.
 */
import { randomInt } from 'node:crypto';

/**
 * The shape of a platform message id, e.g. `rrt-5733186035035051424-a-geu2-1852433-7579831-1`
 * (docs/nhs-platform.md §4, forum thread 5033).
 */
export const MESSAGE_ID_PATTERN = /^rrt-\d{19}-[a-z]-geu2-\d+-\d+-1$/;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function digits(count: number): string {
  let out = String(randomInt(1, 10));
  while (out.length < count) out += String(randomInt(0, 10));
  return out;
}

/**
 * Returns a generator of message ids. The per-instance number stands in for the gateway pod and a
 * counter guarantees uniqueness within the instance even if the random parts collide.
 */
export function createMessageIdFactory(): () => string {
  const pod = digits(7);
  let counter = randomInt(1_000_000, 9_000_000);
  return () => {
    counter += 1;
    return `rrt-${digits(19)}-${LETTERS[randomInt(0, LETTERS.length)]}-geu2-${pod}-${counter}-1`;
  };
}
