/** A local demo upstream: a real server that serves simulated ticks in one vendor's format. */
export type DemoUpstream = { port: number; url: string; close(): Promise<void> };

export type DemoUpstreamOptions = {
  port: number;
  host?: string;
  seed?: number;
  ticksPerSecond?: number;
  /** How many symbols of the built-in universe to serve. */
  symbols?: number;
};
