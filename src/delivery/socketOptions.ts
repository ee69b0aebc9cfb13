import type { ServerOptions } from 'socket.io';
import msgpackParser from 'socket.io-msgpack-parser';
import type { Config } from '../config/schema.js';
import type { SocketInfo } from './httpRoutes.js';

/** What the socket options read of the configuration. */
export type SocketConfig = { server: Pick<Config['server'], 'transports' | 'maxHttpBufferSize' | 'parser'> };

/**
 * The Socket.IO server options that follow from the config, the same for every process that holds client
 * connections (all-in-one, cluster gateway): transports, the request size cap, and the packet parser.
 */
export function socketOptions(config: SocketConfig): Partial<ServerOptions> {
  return {
    transports: config.server.transports,
    maxHttpBufferSize: config.server.maxHttpBufferSize,
    serveClient: false,
    // msgpack frames are smaller and cheaper to encode than JSON; every client must then use the same parser.
    ...(config.server.parser === 'msgpack' ? { parser: msgpackParser } : {}),
  };
}

/** The same facts for clients, before they connect (GET /api/socket): the dashboard picks its parser from it. */
export function socketInfo(config: SocketConfig): SocketInfo {
  return { parser: config.server.parser, transports: config.server.transports };
}
