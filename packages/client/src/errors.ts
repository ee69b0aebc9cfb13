import type { ErrorCode, Rejection } from './protocol.js';

/**
 * Why the server (or the client on its behalf) refused something: a watch, a request, or the connection.
 * `code` is the protocol's: `UNKNOWN_SYMBOL` (no feed has the symbol), `UNAUTHORIZED` (the token is missing,
 * wrong or expired, or does not allow the symbol), `LIMIT_EXCEEDED`, `RATE_LIMITED`, `BAD_REQUEST` (e.g. a
 * `maxHz` that is not a positive number, or a URL whose path names a namespace the server does not have) or
 * `INTERNAL` (no answer in time, or the client is closed).
 */
export class TickstreamError extends Error {
  /** Always "TickstreamError", so it reads as such in logs and after crossing realms, where `instanceof` fails. */
  override readonly name = 'TickstreamError';

  /** An error with the protocol's `code` and a message for a person. */
  constructor(
    /** The protocol's error code, for a program to act on. */
    readonly code: ErrorCode,
    message: string,
    /** When every symbol of a watch was refused: each one's refusal (symbol, code, message). */
    readonly rejected: readonly Rejection[] = [],
  ) {
    super(message);
  }
}
