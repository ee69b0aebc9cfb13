import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/load.js';
import type { Logger } from '../log.js';

export const WEB_ROOT = join(PROJECT_ROOT, 'web');
const WEB_DIST = join(WEB_ROOT, 'dist');

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Whether web/dist is missing or older than the dashboard's sources (or the SDK it bundles). */
function dashboardIsStale(): boolean {
  const built = join(WEB_DIST, 'index.html');
  if (!existsSync(built)) return true;
  const sources = Math.max(newestMtime(WEB_ROOT), newestMtime(join(PROJECT_ROOT, 'packages/client/src')));
  return sources > statSync(built).mtimeMs;
}

/** Builds the dashboard with Vite when needed; returns the folder to serve. */
export async function ensureDashboardBuilt(logger: Logger): Promise<string> {
  if (!existsSync(join(WEB_ROOT, 'index.html'))) return WEB_DIST;
  if (dashboardIsStale()) {
    logger.info('building the dashboard (web/ -> web/dist)');
    const { build } = await import('vite');
    await build({ root: WEB_ROOT, logLevel: 'warn', configFile: join(WEB_ROOT, 'vite.config.ts') });
  }
  return WEB_DIST;
}
