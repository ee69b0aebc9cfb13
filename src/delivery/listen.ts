import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The URL clients use for a server listening on `host` (a wildcard address is shown as localhost). */
function listeningAt(http: HttpServer, host: string): { url: string; port: number } {
  const port = (http.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return { url: `http://${shown}:${port}`, port };
}

/** Listens on `port` and `host`; resolves with the URL clients use. */
export async function listen(http: HttpServer, port: number, host: string): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return listeningAt(http, host);
}
