import { TickstreamError } from './errors.js';

/**
 * Requests sent to the server that wait for their answer, each with its own deadline. Socket.IO keeps the
 * timer of a request it has not sent yet (made before the first connection) running after the socket closes,
 * which would hold a Node process open for the whole timeout: here every wait is settled, and its timer cleared,
 * when the connection drops, the client fails or it closes.
 */
export class PendingRequests {
  private readonly pending = new Set<(why: string | TickstreamError) => void>();

  /** Requests time out after `timeoutMs` without an answer. */
  constructor(private readonly timeoutMs: number) {}

  /**
   * Sends a request with `send`, which passes `answer` to Socket.IO as the acknowledgement callback. Resolves
   * with the answer; rejects with a `TickstreamError` when none comes in time, or the connection drops, the
   * client fails or it closes first.
   */
  ask<T>(what: string, send: (answer: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.pending.delete(abandon);
      };
      const abandon = (why: string | TickstreamError) => {
        settle();
        reject(typeof why === 'string' ? new TickstreamError('INTERNAL', `${what}: ${why}`) : why);
      };
      const timer = setTimeout(() => abandon(`no answer in ${this.timeoutMs} ms`), this.timeoutMs);
      this.pending.add(abandon);
      send((value) => {
        settle();
        resolve(value);
      });
    });
  }

  /** Fails every waiting request: with `why` as its message, or with that error. */
  abandonAll(why: string | TickstreamError): void {
    for (const abandon of [...this.pending]) abandon(why);
  }
}
