import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { startTickstream } from '../server.js';
import { startGatewayNode } from './gatewayNode.js';
import { startIngestNode } from './ingestNode.js';

/** What every role returns: where it listens, and how to stop it. */
export type RunningNode = {
  readonly url: string;
  readonly port: number;
  readonly metrics: Metrics;
  close(): Promise<void>;
};

/** Starts the role `config.cluster.role` names: the same code in every role, only configuration differs. */
export function startNode(options: { config: Config; logger?: Logger; webRoot?: string }): Promise<RunningNode> {
  switch (options.config.cluster.role) {
    case 'ingest':
      return startIngestNode(options);
    case 'gateway':
      return startGatewayNode(options);
    default:
      return startTickstream(options);
  }
}
