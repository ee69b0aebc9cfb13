import { type ConnectFailure, TickstreamError } from '../../packages/client/src/index.js';

/** Why a `tickstream watch` ended. */
export type WatchEnd =
  /** Ctrl-C, SIGTERM, or the reader of the output went away. */
  | { kind: 'stopped' }
  /** No connection for `--timeout`: at the start (`lost` false) or after losing it. */
  | { kind: 'unreachable'; url: string; timeoutMs: number; lost: boolean; failure?: ConnectFailure; closing?: string }
  /** The server refused the watch or the connection. */
  | { kind: 'refused'; error: TickstreamError }
  /** Anything else (an output that cannot be written, ...). */
  | { kind: 'failed'; error: Error };

/** The exit status of each way a watch can end; `watch --help` lists them. */
export const WATCH_EXIT = {
  stopped: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  unknownSymbol: 4,
  unauthorized: 5,
} as const;

export const WATCH_EXIT_HELP = `Exit status:
  0  stopped by Ctrl-C or SIGTERM (or the reader of the output went away)
  1  the server refused the watch for another reason (LIMIT_EXCEEDED, RATE_LIMITED, ...), or another error
  2  bad usage: an unknown flag, no symbol, or a bad --hz, --timeout or --zone
  3  no connection: the server could not be reached (or reached again) within --timeout
  4  unknown symbol: the server has none of the symbols asked for (UNKNOWN_SYMBOL)
  5  not authorized: the server refused the token, or the token does not allow these symbols (UNAUTHORIZED)`;

/** An error that ended the session, as a WatchEnd. */
export function endOf(error: unknown): WatchEnd {
  if (error instanceof TickstreamError) return { kind: 'refused', error };
  return { kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) };
}

/** The exit status of `end`. */
export function exitCode(end: WatchEnd): number {
  switch (end.kind) {
    case 'stopped':
      return WATCH_EXIT.stopped;
    case 'unreachable':
      return WATCH_EXIT.unreachable;
    case 'failed':
      return WATCH_EXIT.failed;
    case 'refused':
      if (end.error.code === 'UNKNOWN_SYMBOL') return WATCH_EXIT.unknownSymbol;
      if (end.error.code === 'UNAUTHORIZED') return WATCH_EXIT.unauthorized;
      return WATCH_EXIT.failed;
  }
}

/** What to tell the user on stderr when the watch ends this way; nothing when they stopped it. */
export function endMessage(end: WatchEnd): string | undefined {
  switch (end.kind) {
    case 'stopped':
      return undefined;
    case 'unreachable': {
      const seconds = `${end.timeoutMs / 1000} s`;
      const what = end.lost
        ? `lost the connection to ${end.url}${end.closing ? ` (${end.closing})` : ''} and could not reconnect in ${seconds}`
        : `could not connect to ${end.url} in ${seconds}`;
      const why = end.failure ? `: ${end.failure.message} (${attempts(end.failure.attempt)})` : '';
      return `${what}${why}; --timeout 0 waits for ever`;
    }
    case 'refused': {
      const { code, message } = end.error;
      if (code === 'UNKNOWN_SYMBOL') return `unknown symbol: ${message} (${code})`;
      if (code === 'UNAUTHORIZED') return `not authorized: ${message} (${code}); check --token or TICKSTREAM_TOKEN`;
      return `refused: ${message} (${code})`;
    }
    case 'failed':
      return end.error.message;
  }
}

const attempts = (count: number) => (count === 1 ? '1 attempt' : `${count} attempts`);
