/** Every Redis key and channel a deployment uses, under its `cluster.keyPrefix`. */
export type ClusterKeys = {
  /** Hash: symbol -> the newest Quote (JSON). */
  lastValues: string;
  /** Hash: symbol -> SymbolInfo (JSON). */
  symbols: string;
  /** Prefix of one list per symbol (`${history}AAPL`): its 1-minute bars (JSON), oldest first. */
  history: string;
  /** String with a TTL: the ingest's status (feeds, replay) as JSON. */
  status: string;
  /** Pub/sub channel on which a gateway announces a symbol it just started to watch. */
  demand: string;
  /** Prefix of the sharded pub/sub channel of each symbol (`${quotes}AAPL`): every quote, once, as JSON. */
  quotes: string;
};

export function clusterKeys(prefix: string): ClusterKeys {
  return {
    lastValues: `${prefix}last`,
    symbols: `${prefix}symbols`,
    history: `${prefix}bars:`,
    status: `${prefix}status`,
    demand: `${prefix}demand`,
    quotes: `${prefix}q:`,
  };
}

/** The Redis list of a symbol's 1-minute bars. */
export function historyKey(keys: ClusterKeys, symbol: string): string {
  return `${keys.history}${symbol}`;
}

/**
 * A symbol's sharded channel. No hash tag: each channel hashes to its own slot, so a Redis Cluster spreads
 * the symbols over its primaries.
 */
export function quoteChannel(keys: ClusterKeys, symbol: string): string {
  return `${keys.quotes}${symbol}`;
}

/** Glob of every symbol's channel (the prefix has no glob characters: the schema forbids them, symbols too). */
export function quoteChannelPattern(keys: ClusterKeys): string {
  return `${keys.quotes}*`;
}

/** The symbol a quote channel carries, if it is one. */
export function symbolOfChannel(keys: ClusterKeys, channel: string): string | undefined {
  return channel.startsWith(keys.quotes) && channel.length > keys.quotes.length
    ? channel.slice(keys.quotes.length)
    : undefined;
}
