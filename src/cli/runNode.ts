import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type RunningNode, startNode } from '../roles/index.js';
import { untilSignal } from './signals.js';

/**
 * Runs the role `config.cluster.role` names until SIGINT or SIGTERM, the same way for `serve`, `ingest` and
 * `gateway`: process guards on, the banner on stderr, then a graceful close held to a deadline, logs flushed.
 */
export async function runNode(
  options: { config: Config; logger: Logger; webRoot?: string },
  banner: (node: RunningNode) => string,
): Promise<number> {
  const { logger } = options;
  const node = await startNode(options);
  const removeGuards = guardProcess(logger, node.metrics);
  console.error(banner(node));
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  // Draining must not hang on a peer that stopped reading: past the deadline, leave anyway (and say so).
  const deadline = setTimeout(() => {
    logger.error({ afterMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
    logger.flush();
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  await node.close();
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
