import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { startGateway } from './gateway.js';
import { startIngest } from './ingest.js';
import { startServe } from './serve.js';

/** What every role returns: where it listens, and how to stop it. */
export type RunningNode = {
  readonly url: string;
  readonly port: number;
  /** Where /metrics is served when it has an address of its own (`server.metricsPort`). */
  readonly metricsUrl: string | undefined;
  readonly metrics: Metrics;
  close(): Promise<void>;
};

/** Starts the role `config.cluster.role` names: each a wiring of the same two parts. */
export function startNode(options: { config: Config; logger?: Logger; webRoot?: string }): Promise<RunningNode> {
  switch (options.config.cluster.role) {
    case 'ingest':
      return startIngest(options);
    case 'gateway':
      return startGateway(options);
    default:
      return startServe(options);
  }
}
