/**
 * Why an attempt to reach the server failed, for a program to act on (`message` says it for a person):
 * `refused`: nothing listens at that address and port (ECONNREFUSED); `not-found`: the host name does not
 * resolve; `timeout`: no answer in time; `reset`: the connection was cut during the handshake (often not a
 * tickstream server, or the wrong `path`); `tls`: the certificate or the TLS handshake was refused; `network`:
 * anything else below Socket.IO (a browser says no more than "websocket error").
 */
export type ConnectFailureReason = 'refused' | 'not-found' | 'timeout' | 'reset' | 'tls' | 'network';

/**
 * One failed attempt to connect. The client tries again by itself, with backoff, until it is closed: this says
 * why it is still not connected. (A server that refuses the handshake itself, as for a bad token, does not
 * retry: the client fails with a `TickstreamError` instead.)
 */
export type ConnectFailure =
  | {
      /** What went wrong, for a program to act on. */
      reason: ConnectFailureReason;
      /** For a person: "connection refused", "timed out", ... */
      message: string;
      /** Failed attempts in a row since the last connection, from 1. */
      attempt: number;
    }
  | {
      /** The server answered the handshake with an HTTP error status. */
      reason: 'http';
      /** The HTTP status, e.g. 403 (origin not allowed, or too many connections) or 404 (wrong URL or path). */
      status: number;
      /** For a person: "HTTP 404 (nothing at this URL and path)". */
      message: string;
      /** Failed attempts in a row since the last connection, from 1. */
      attempt: number;
    };

const NODE_CODES: Readonly<Record<string, [ConnectFailureReason, string]>> = {
  ECONNREFUSED: ['refused', 'connection refused'],
  ENOTFOUND: ['not-found', 'host not found'],
  EAI_AGAIN: ['not-found', 'host not found (DNS did not answer)'],
  ETIMEDOUT: ['timeout', 'timed out'],
  ECONNRESET: ['reset', 'connection reset (is it a tickstream server, and the path right?)'],
  EPIPE: ['reset', 'connection reset'],
  EHOSTUNREACH: ['network', 'host unreachable'],
  ENETUNREACH: ['network', 'network unreachable'],
};

const HTTP_HINTS: Readonly<Record<number, string>> = {
  400: 'the server refused the handshake',
  403: 'origin not allowed, or too many connections from this address',
  404: 'nothing at this URL and path',
};

/** Classifies a Socket.IO `connect_error` (Node's or a browser's) as one failed attempt, number `attempt`. */
export function connectFailure(error: Error, attempt: number): ConnectFailure {
  // What Socket.IO puts below its message: the transport's error, or the HTTP status and the request.
  const description = 'description' in error ? error.description : undefined;
  const context = 'context' in error ? error.context : undefined;
  const status = httpStatus(description, context);
  if (status !== undefined) {
    const hint = HTTP_HINTS[status];
    return { reason: 'http', status, message: `HTTP ${status}${hint ? ` (${hint})` : ''}`, attempt };
  }
  // Socket.IO's own handshake timer (its `timeout` option).
  if (error.message === 'timeout') return { reason: 'timeout', message: 'timed out', attempt };
  const cause = causeOf(description);
  const known = cause?.code === undefined ? undefined : NODE_CODES[cause.code];
  if (known) return { reason: known[0], message: known[1], attempt };
  if (cause?.code && /CERT|TLS|SSL/.test(cause.code))
    return { reason: 'tls', message: `TLS: ${cause.message}`, attempt };
  return { reason: 'network', message: cause?.message || error.message, attempt };
}

/** The status of an HTTP error answer: polling reports it as the description; Node's `ws` in its message. */
function httpStatus(description: unknown, context: unknown): number | undefined {
  if (typeof description === 'number' && description >= 400) return description;
  const status = isObject(context) ? context.status : undefined;
  if (typeof status === 'number' && status >= 400) return status;
  const match = /Unexpected server response: (\d{3})/.exec(causeOf(description)?.message ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The error under a transport's error event (Node's `ws` gives an ErrorEvent with `error`). */
function causeOf(description: unknown): { code?: string; message: string } | undefined {
  const inner = isObject(description) && description.error instanceof Error ? description.error : description;
  if (!(inner instanceof Error)) return undefined;
  const code = isObject(inner) && typeof inner.code === 'string' ? inner.code : undefined;
  return code === undefined ? { message: inner.message } : { code, message: inner.message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
