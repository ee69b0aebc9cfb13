import { createLogger } from '../log.js';
import { startTickstream } from '../server.js';
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
  const service = await startTickstream({ config, logger, webRoot });
  console.error(`tickstream: serving on ${service.url} (dashboard ${webRoot ? service.url : 'off'}); Ctrl-C stops`);
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  await service.close();
  return 0;
}
