import { authHeaders } from './credentials.js';

/**
 * Whether this server lets the page in with `token`: it answers GET /api/symbols with 401 when it needs a
 * token, or does not accept this one (docs/PROTOCOL.md, "Extension: access"). Anything else (an open server,
 * an older one, a network error) is left for the connection to find out.
 */
export async function refusedByServer(token: string | undefined): Promise<boolean> {
  try {
    const res = await fetch('/api/symbols', { headers: authHeaders(token) });
    return res.status === 401;
  } catch {
    return false;
  }
}

/**
 * The refused screen: that the server needs a token, and how to give it one (`#token=` in the address). It
 * never shows the token, which may still be in local storage.
 */
export function showRefused(element: HTMLElement, hadToken: boolean): void {
  const example = new URL(location.href);
  example.hash = 'token=YOUR_TOKEN';
  const lead = document.createElement('p');
  lead.textContent = hadToken
    ? 'This server refused the access token this browser had (it may have expired).'
    : 'This server needs an access token.';
  const how = document.createElement('p');
  how.append('Add yours to the address: ');
  const code = document.createElement('code');
  code.textContent = example.href;
  how.append(code, '. This page then connects with it, keeps it in this browser and takes it out of the address bar.');
  element.replaceChildren(lead, how);
  element.hidden = false;
}
