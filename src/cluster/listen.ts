import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on `port`/`host` and resolves with the URL clients use. */
export async function listen(http: HttpServer, port: number, host: string): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const bound = (http.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return { url: `http://${shown}:${bound}`, port: bound };
}
