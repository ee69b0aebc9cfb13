import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { startGateway } from './gateway.js';
import { startIngest } from './ingest.js';
import type { RunningNode } from './runningNode.js';
import { startServe } from './serve.js';

export type { RunningNode } from './runningNode.js';

/** Starts the role `config.cluster.role` names: each a wiring of the same two parts. */
export function startNode(options: { config: Config; logger?: Logger; webRoot?: string }): Promise<RunningNode> {
  switch (options.config.cluster.role) {
    case 'ingest':
      return startIngest(options);
    case 'gateway':
      return startGateway(options);
    case 'all':
      return startServe(options);
    default: {
      const unknownRole: never = options.config.cluster.role;
      throw new Error(`no role ${String(unknownRole)}`);
    }
  }
}
