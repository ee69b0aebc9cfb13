import { describeRedis } from '../cluster/redisLink.js';
import { createLogger } from '../log.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, configFromFlags, parseCommandArgs } from './args.js';
import { runNode } from './runNode.js';
import { ensureDashboardBuilt } from './webBuild.js';

export const GATEWAY_HELP = `tickstream gateway: hold client connections; ticks, snapshots and symbols come from Redis

Usage: tickstream gateway [options]

The same as \`tickstream serve --set cluster.role=gateway\`. Run one or more behind a load balancer, with an
ingest (\`tickstream ingest\`) on the same Redis (cluster.redis). See docs/CLUSTER.md.

Options:
${CONFIG_FLAGS_HELP}`;

export async function gatewayCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, CONFIG_FLAGS);
  if (values.help) {
    console.log(GATEWAY_HELP);
    return 0;
  }
  const config = configFromFlags({ ...values, set: [...(values.set ?? []), 'cluster.role=gateway'] });
  const logger = createLogger(config.log.level, 'tickstream-gateway');
  const webRoot = config.server.dashboard ? await ensureDashboardBuilt(logger) : undefined;
  return runNode(
    { config, logger, webRoot },
    (node) => `tickstream: gateway serving on ${node.url} (${describeRedis(config.cluster)}); Ctrl-C stops`,
  );
}
