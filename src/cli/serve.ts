import { createLogger, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { startNode } from '../roles/index.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, configFromFlags, parseCommandArgs } from './args.js';
import { untilSignal } from './signals.js';
import { ensureDashboardBuilt } from './webBuild.js';

export const SERVE_HELP = `tickstream serve: run the service (feeds, pipeline, Socket.IO gateway, dashboard) in one process

Usage: tickstream serve [options]

Options:
${CONFIG_FLAGS_HELP}

With no options it serves the embedded default: a simulated feed of about 50 US symbols, the dashboard at
http://localhost:3000 and Socket.IO on the same port.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, CONFIG_FLAGS);
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const config = configFromFlags(values);
  const logger = createLogger(config.log.level);
  const webRoot = config.server.dashboard ? await ensureDashboardBuilt(logger) : undefined;
  // The config's cluster.role picks the role: all-in-one by default, or ingest / gateway over Redis.
  const service = await startNode({ config, logger, webRoot });
  const removeGuards = guardProcess(logger, service.metrics);
  const role = config.cluster.role === 'all' ? '' : ` as ${config.cluster.role}`;
  const metrics = service.metricsUrl ? `, metrics ${service.metricsUrl}/metrics` : '';
  console.error(
    `tickstream: serving${role} on ${service.url} (dashboard ${webRoot ? service.url : 'off'}${metrics}); Ctrl-C stops`,
  );
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  // Draining must not hang on a peer that stopped reading: past the deadline, leave anyway (and say so).
  const deadline = setTimeout(() => {
    logger.error({ afterMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
    logger.flush();
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  await service.close();
  clearTimeout(deadline);
  removeGuards();
  logger.flush();
  return 0;
}

const SHUTDOWN_DEADLINE_MS = 10_000;
/** More process-level errors than this within a minute is a broken process, not a stray bug: exit for a restart. */
const MAX_PROCESS_ERRORS_PER_MINUTE = 50;

/**
 * Keeps one stray rejection or exception (a socket's or a feed's) from taking every client down: each is
 * logged with its stack at error level and counted in tickstream_process_errors_total, so real bugs stay
 * visible. A storm of them exits with 1 instead of limping on. Returns the function that removes the guards.
 */
export function guardProcess(
  logger: Logger,
  metrics: Metrics,
  exit: (code: number) => void = process.exit,
): () => void {
  let recent: number[] = [];
  const record = (kind: 'unhandled_rejection' | 'uncaught_exception', err: unknown) => {
    metrics.processErrors.inc({ kind });
    logger.error({ err, kind }, `${kind.replace('_', ' ')} (the service keeps running)`);
    const now = Date.now();
    recent = [...recent.filter((t) => now - t < 60_000), now];
    if (recent.length > MAX_PROCESS_ERRORS_PER_MINUTE) {
      logger.fatal({ count: recent.length }, 'too many process-level errors in a minute; exiting');
      logger.flush();
      exit(1);
    }
  };
  const onRejection = (reason: unknown) => record('unhandled_rejection', reason);
  const onException = (err: Error) => record('uncaught_exception', err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
