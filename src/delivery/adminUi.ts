import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { instrument } from '@socket.io/admin-ui';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { AdminLogin } from './adminAuth.js';
import { requestUrl, serveStatic } from './httpRoutes.js';
import type { TierMembership } from './tierMembership.js';
import { mirrorTierRooms } from './tierRooms.js';
import type { TickstreamServer } from './types.js';

/** The namespace the Admin UI connects to (its default). */
export const ADMIN_NAMESPACE = '/admin';
/** Where the edge serves the Admin UI's own files (the package's `ui/dist`), so no outside site is needed. */
export const ADMIN_UI_PATH = '/admin-ui/';
/** The package's built UI. */
export const ADMIN_UI_ROOT = join(
  dirname(createRequire(import.meta.url).resolve('@socket.io/admin-ui/package.json')),
  'ui/dist',
);

export type AdminUiDeps = {
  config: Pick<Config, 'server' | 'auth' | 'cluster'>;
  membership: TierMembership;
  metrics: Metrics;
  logger: Logger;
  /** The port it listens on: gateways on one host are told apart by it in the UI. */
  port: number;
};

/**
 * Instruments the edge's Socket.IO server for the Socket.IO Admin UI (`server.adminUi`), behind an admin login
 * (adminAuth.ts). In `development` mode the UI lists every socket, its rooms and its events, and each socket is
 * kept in display rooms of its symbol tiers (tierRooms.ts); `production` mode sends aggregate counts only.
 */
export function instrumentAdminUi(io: TickstreamServer, deps: AdminUiDeps): void {
  const { config, metrics, logger } = deps;
  const settings = config.server.adminUi;
  const login = new AdminLogin(settings, config.auth);
  io.of(ADMIN_NAMESPACE).use(
    login.middleware((reason) => {
      metrics.authFailures.inc({ reason: `admin_ui_${reason}` });
      logger.warn({ reason }, 'admin ui login refused');
    }),
  );
  if (settings.mode === 'development') mirrorTierRooms(deps.membership);
  const role = config.cluster.role === 'gateway' ? 'gateway' : 'serve';
  instrument(io, {
    // Our middleware above checks the credentials; the package's own basic auth knows only a password hash.
    auth: false,
    namespaceName: ADMIN_NAMESPACE,
    mode: settings.mode,
    readonly: settings.readonly,
    serverId: `${role} ${hostname()}:${deps.port}`,
  });
  logger.info({ mode: settings.mode, readonly: settings.readonly, ui: ADMIN_UI_PATH }, 'socket.io admin ui enabled');
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * `routes`, with the Admin UI's files under /admin-ui/: served by the process itself, the UI is same-origin
 * (no CORS, allowed by the Origin check, no mixed content on a plain-http host) and needs no outside site.
 * The files hold no secret: the login is checked on the admin namespace.
 */
export function withAdminUiPages(routes: Handler): Handler {
  const bare = ADMIN_UI_PATH.slice(0, -1);
  return (req, res) => {
    const target = requestUrl(req.url);
    // A target that does not parse is the routes' to refuse.
    const pathname = target.ok ? target.url.pathname : undefined;
    if (pathname === undefined) {
      routes(req, res);
    } else if (pathname === bare) {
      // Its files are linked relatively (js/app.js): the page must be at the folder's address.
      res.writeHead(301, { location: ADMIN_UI_PATH });
      res.end();
    } else if (pathname.startsWith(ADMIN_UI_PATH) && req.method === 'GET') {
      serveStatic(ADMIN_UI_ROOT, pathname.slice(bare.length), res);
    } else {
      routes(req, res);
    }
  };
}
