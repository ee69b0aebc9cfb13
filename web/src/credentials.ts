const TOKEN_KEY = 'tickstream.token';

/**
 * The access token for a server that requires one: from the address fragment (`#token=...`, never sent to
 * the server or its logs), then kept in local storage and taken out of the address bar.
 */
export function dashboardToken(): string | undefined {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
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
