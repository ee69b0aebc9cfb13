/**
 * Why a fetch failed: undici says only "fetch failed" and keeps the reason in `cause`, with a code for the
 * common ones (ECONNREFUSED, ENOTFOUND, a certificate error such as CERT_HAS_EXPIRED, UND_ERR_CONNECT_TIMEOUT).
 */
export function fetchFailureCause(err: unknown): string | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  if (!(cause instanceof Error)) return undefined;
  return 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
}

/** An upstream failure as a log line says it: the message, and its cause when it has one. */
export function failureText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = fetchFailureCause(err);
  return cause === undefined ? err.message : `${err.message} (${cause})`;
}
