import { parseTierRoom } from '../delivery/tierRooms.js';

/** Every Redis key and channel a deployment uses, under its `cluster.keyPrefix`. */
export type ClusterKeys = {
  /** Hash: symbol -> the newest Quote (JSON). */
  lastValues: string;
  /** Hash: symbol -> SymbolInfo (JSON). */
  symbols: string;
  /** Prefix of one list per symbol (`${history}AAPL`): its 1-minute bars (JSON), oldest first. */
  history: string;
  /** String with a TTL: the ingest's feed statuses (JSON). */
  status: string;
  /** Pub/sub channel on which gateways announce a room they just created. */
  roomAnnouncements: string;
  /** The Socket.IO adapter's channel prefix; a room's sharded channel is `${adapter}#/#${room}#`. */
  adapter: string;
};

export function clusterKeys(prefix: string): ClusterKeys {
  return {
    lastValues: `${prefix}last`,
    symbols: `${prefix}symbols`,
    history: `${prefix}bars:`,
    status: `${prefix}status`,
    roomAnnouncements: `${prefix}rooms`,
    adapter: `${prefix}sio`,
  };
}

/** The Redis list of a symbol's 1-minute bars. */
export function historyKey(keys: ClusterKeys, symbol: string): string {
  return `${keys.history}${symbol}`;
}

const NAMESPACE = '/';

/** Glob of the sharded channels of every tier room (the prefix has no glob characters: the schema forbids them). */
export function tierRoomChannelPattern(keys: ClusterKeys): string {
  return `${keys.adapter}#${NAMESPACE}#q:*`;
}

/** The tier room a sharded adapter channel carries, if it is one. */
export function roomOfChannel(keys: ClusterKeys, channel: string): string | undefined {
  const head = `${keys.adapter}#${NAMESPACE}#`;
  if (!channel.startsWith(head) || !channel.endsWith('#')) return undefined;
  const room = channel.slice(head.length, -1);
  return parseTierRoom(room) ? room : undefined;
}
