import { describeRedis } from '../cluster/redisLink.js';
import { createLogger } from '../log.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, configFromFlags, parseCommandArgs } from './args.js';
import { runNode } from './runNode.js';

export const INGEST_HELP = `tickstream ingest: run feeds and pipeline, publishing each quote of a symbol gateways watch once, through Redis

Usage: tickstream ingest [options]

The same as \`tickstream serve --set cluster.role=ingest\`. Redis from cluster.redis (default
redis://127.0.0.1:6379; a JSON list of nodes for a Redis Cluster); the HTTP port serves /healthz, /readyz and
/metrics only (/metrics goes to its own port when server.metricsPort is set). See docs/CLUSTER.md.

Options:
${CONFIG_FLAGS_HELP}`;

export async function ingestCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, CONFIG_FLAGS);
  if (values.help) {
    console.log(INGEST_HELP);
    return 0;
  }
  const config = configFromFlags({ ...values, set: [...(values.set ?? []), 'cluster.role=ingest'] });
  const logger = createLogger(config.log.level, 'tickstream-ingest');
  return runNode(
    { config, logger },
    // With server.metricsPort, /metrics is on its own address and the main port has none.
    (node) =>
      `tickstream: ingest publishing through ${describeRedis(config.cluster)}; health ${node.url}/readyz, ` +
      `metrics on ${node.metricsUrl ?? node.url}/metrics`,
  );
}
