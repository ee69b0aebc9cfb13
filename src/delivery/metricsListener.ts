import { createServer } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { AccessPolicy } from './accessPolicy.js';
import { metricsPortRoutes } from './httpRoutes.js';
import { listen } from './listen.js';

export type MetricsListener = { readonly url: string; close(): Promise<void> };

/**
 * With `server.metricsPort` set, /metrics on an address of its own (`server.metricsHost`, loopback unless
 * told), open there, for a scraper on a private network; the main port then has no /metrics. Else none.
 */
export async function listenForMetrics(
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
