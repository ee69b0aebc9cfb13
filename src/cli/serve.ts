import { createLogger } from '../log.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, configFromFlags, parseCommandArgs } from './args.js';
import { runNode } from './runNode.js';
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
  const role = config.cluster.role === 'all' ? '' : ` as ${config.cluster.role}`;
  return runNode({ config, logger, webRoot }, (node) => {
    const metrics = node.metricsUrl ? `, metrics ${node.metricsUrl}/metrics` : '';
    return `tickstream: serving${role} on ${node.url} (dashboard ${webRoot ? node.url : 'off'}${metrics}); Ctrl-C stops`;
  });
}
