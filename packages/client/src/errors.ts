import type { ErrorCode } from './protocol.js';

/** A request the server (or the client on its behalf) refused, with the protocol's error code. */
export class TickstreamError extends Error {
  override readonly name = 'TickstreamError';

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
