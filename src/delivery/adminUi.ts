import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { instrument } from '@socket.io/admin-ui';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type AccessPolicy, ADMIN_UI_PATH } from './accessPolicy.js';
import { AdminLogin } from './adminAuth.js';
import type { TierMembership } from './tierMembership.js';
import { mirrorTierRooms } from './tierRooms.js';
import type { TickstreamServer } from './types.js';

/** The namespace the Admin UI connects to (its default). */
const ADMIN_NAMESPACE = '/admin';

/** Where the edge serves the Admin UI's own files (a route of the access table), so no outside site is needed. */
export { ADMIN_UI_PATH };
/** The package's built UI (served at ADMIN_UI_PATH). */
export const ADMIN_UI_ROOT = join(
  dirname(createRequire(import.meta.url).resolve('@socket.io/admin-ui/package.json')),
  'ui/dist',
);

export type AdminUiDeps = {
  config: Pick<Config, 'server' | 'cluster'>;
  /** The process's access policy, which decides the admin tokens the login takes. */
  access: AccessPolicy;
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
  const login = new AdminLogin(settings, deps.access);
  io.of(ADMIN_NAMESPACE).use(
    login.middleware((reason) => {
      metrics.authFailures.inc({ reason: `admin_ui_${reason}` });
      logger.warn({ reason }, 'admin ui login refused');
    }),
  );
  io.of(ADMIN_NAMESPACE).on('connection', (socket) => login.endWithLogin(socket));
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
