const TOKEN_KEY = 'tickstream.token';

const tokenInAddress = (): string | undefined => new URLSearchParams(location.hash.slice(1)).get('token') || undefined;

/**
 * The access token for a server that requires one: from the address fragment (`#token=...`, never sent to
 * the server or its logs), then kept in local storage and taken out of the address bar.
 */
export function dashboardToken(): string | undefined {
  const fromHash = tokenInAddress();
  if (fromHash) {
    try {
      localStorage.setItem(TOKEN_KEY, fromHash);
    } catch {
      // Storage refused: the token still works for this page.
    }
    const url = new URL(location.href);
    url.hash = '';
    history.replaceState(history.state, '', url);
    return fromHash;
  }
  try {
    return localStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `#token=...` put in the address of the open tab: the page starts over with it, as on a first load, so the
 * socket, the chart's requests and every other part use the new token (dashboardToken keeps it and takes it
 * out of the address bar).
 */
export function restartOnNewToken(): void {
  window.addEventListener('hashchange', () => {
    if (tokenInAddress()) location.reload();
  });
}

/** The headers of an HTTP request made with `token` (the server's `Authorization: Bearer`). */
export const authHeaders = (token: string | undefined): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};
