import type { Server as HttpServer } from 'node:http';
import { createServer } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { AccessPolicy } from './accessPolicy.js';
import { metricsPortRoutes } from './httpRoutes.js';
import { listen, MAIN_LISTENER } from './listen.js';

export type MetricsListener = { readonly url: string; close(): Promise<void> };

/**
 * With `server.metricsPort` set, /metrics on an address of its own (`server.metricsHost`, loopback unless
 * told), open there, for a scraper on a private network; the main port then has no /metrics. Else none.
 */
async function listenForMetrics(
  server: Pick<Config['server'], 'metricsHost' | 'metricsPort'>,
  deps: { access: AccessPolicy; metrics: Metrics },
): Promise<MetricsListener | undefined> {
  if (server.metricsPort === undefined) return undefined;
  const http = createServer(metricsPortRoutes(deps));
  const { url } = await listen(http, server.metricsPort, server.metricsHost, {
    port: 'server.metricsPort',
    host: 'server.metricsHost',
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/**
 * A role's listeners: `http` on server.port and server.host, then /metrics on its own port if it has one. When
 * either address cannot be taken, `stop` (what the role started) runs before the error is thrown, so the
 * process can end.
 */
export async function listenWithMetrics(
  http: HttpServer,
  server: Pick<Config['server'], 'port' | 'host' | 'metricsHost' | 'metricsPort'>,
  deps: { access: AccessPolicy; metrics: Metrics },
  stop: () => Promise<void>,
): Promise<{ url: string; port: number; metricsListener: MetricsListener | undefined }> {
  try {
    const { url, port } = await listen(http, server.port, server.host, MAIN_LISTENER);
    return { url, port, metricsListener: await listenForMetrics(server, deps) };
  } catch (err) {
    await stop();
    throw err;
  }
}
