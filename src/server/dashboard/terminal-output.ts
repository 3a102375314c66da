/**
 * The terminal must never hold up the server. Node writes to a TTY synchronously on Linux,
 * so a terminal that stops reading (a stalled ssh link) would block the event loop on the
 * dashboard's next write. The dashboard's output is made non-blocking instead, and frames
 * are skipped while it is backed up: the write queue stays bounded, and the screen catches
 * up in one frame when the terminal reads again (backpressure, as ws does for sockets).
 */
import { OUTPUT_QUEUE_BYTES } from '../../net/constants.ts';

/** How long shutdown waits for the terminal to take the last bytes (restoring the screen). */
export const FLUSH_TIMEOUT_MS = 2_000;

interface MaybeTtyStream extends NodeJS.WritableStream {
  _handle?: { setBlocking?: (blocking: boolean) => number };
  writableLength?: number;
}

/** Make a TTY stream's writes non-blocking (other streams already are). */
export function makeNonBlocking(output: NodeJS.WritableStream): void {
  (output as MaybeTtyStream)._handle?.setBlocking?.(false);
}

export function isBacklogged(output: NodeJS.WritableStream): boolean {
  return ((output as MaybeTtyStream).writableLength ?? 0) > OUTPUT_QUEUE_BYTES.DASHBOARD_SKIP_FRAMES;
}

/** Resolves once everything written so far has reached the terminal, or after a deadline. */
export function flushed(output: NodeJS.WritableStream, timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    // Writes complete in order: the callback of an empty write runs after all earlier ones.
    output.write('', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
