import { ConfigError } from '../config/load.js';
import { UPSTREAM_FORMATS, type UpstreamFormat } from '../feeds/sseFormats.js';
import { VENDOR_FORMATS, type VendorFormat } from '../feeds/vendors/types.js';
import { startSseUpstream } from '../upstream/sseUpstream.js';
import type { DemoUpstream } from '../upstream/types.js';
import { startWsUpstream } from '../upstream/wsUpstream.js';
import { parseCommandArgs } from './args.js';
import { untilSignal } from './signals.js';

/** Ports the example configs in config/examples/ point at. */
const DEFAULT_PORTS: Record<UpstreamFormat | VendorFormat, number> = {
  tickstream: 9201,
  iex: 9202,
  polygon: 9101,
  alpaca: 9102,
  finnhub: 9103,
  coinbase: 9104,
  binance: 9105,
  kraken: 9106,
};

const EXAMPLE_CONFIGS: Record<UpstreamFormat | VendorFormat, string> = {
  tickstream: 'config/examples/sse-upstream.json',
  iex: 'config/examples/sse-iex-upstream.json',
  polygon: 'config/examples/ws-polygon.json',
  alpaca: 'config/examples/ws-alpaca.json',
  finnhub: 'config/examples/ws-finnhub.json',
  coinbase: 'config/examples/ws-coinbase.json',
  binance: 'config/examples/ws-binance.json',
  kraken: 'config/examples/ws-kraken.json',
};

export const UPSTREAM_HELP = `tickstream upstream: a local demo upstream serving simulated ticks, to try the feed adapters

Usage: tickstream upstream --sse [--format tickstream|iex] [options]
       tickstream upstream --ws polygon|alpaca|finnhub|coinbase|binance|kraken [options]

Options:
  --sse                serve Server-Sent Events at /events (each event has an id; Last-Event-ID resumes)
                       and the latest quotes as JSON at /quotes (for the poll feed)
  --format FORMAT      the SSE/JSON payload: tickstream (default; docs/PROTOCOL.md) or iex (IEX Cloud quotes)
  --ws FORMAT          serve a vendor's WebSocket protocol instead (with its HTTP symbol listing for binance
                       and coinbase), keeping its documented limits
  --port N             port (default: tickstream 9201, iex 9202, polygon 9101, alpaca 9102, finnhub 9103,
                       coinbase 9104, binance 9105, kraken 9106: the ports of config/examples/)
  --host HOST          interface (default 127.0.0.1)
  --seed N             simulator seed (default 1): two upstreams with different seeds differ
  --rate N             ticks per second (default 50)
  --symbols N          symbols of the built-in universe (default: all of its US listings)
  -h, --help           this help

Then, in another terminal:
  tickstream serve --config config/examples/sse-upstream.json`;

const FLAGS = {
  sse: { type: 'boolean' },
  ws: { type: 'string' },
  format: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  seed: { type: 'string' },
  rate: { type: 'string' },
  symbols: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type UpstreamChoice = { kind: 'sse'; format: UpstreamFormat } | { kind: 'ws'; format: VendorFormat };

function chooseUpstream(values: { sse?: boolean; ws?: string; format?: string }): UpstreamChoice {
  if (values.sse && values.ws !== undefined) throw new ConfigError('upstream: give --sse or --ws FORMAT, not both');
  if (values.ws !== undefined) {
    if (values.format !== undefined) throw new ConfigError('upstream: --format goes with --sse; --ws takes the format');
    const format = VENDOR_FORMATS.find((f) => f === values.ws);
    if (!format) throw new ConfigError(`upstream --ws: "${values.ws}" is not one of ${VENDOR_FORMATS.join(', ')}`);
    return { kind: 'ws', format };
  }
  if (!values.sse) throw new ConfigError('upstream: give --sse [--format tickstream|iex] or --ws FORMAT');
  const format = UPSTREAM_FORMATS.find((f) => f === (values.format ?? 'tickstream'));
  if (!format) throw new ConfigError(`upstream --format: "${values.format}" is not one of tickstream, iex`);
  return { kind: 'sse', format };
}

function integerFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`upstream --${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export async function upstreamCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, FLAGS);
  if (values.help) {
    console.log(UPSTREAM_HELP);
    return 0;
  }
  const choice = chooseUpstream(values);
  const options = {
    port: integerFlag('port', values.port, 0, 65535) ?? DEFAULT_PORTS[choice.format],
    host: values.host ?? '127.0.0.1',
    seed: integerFlag('seed', values.seed, 0, 2 ** 31 - 1),
    ticksPerSecond: integerFlag('rate', values.rate, 1, 100_000),
    symbols: integerFlag('symbols', values.symbols, 1, 10_000),
  };
  const upstream: DemoUpstream =
    choice.kind === 'sse'
      ? await startSseUpstream({ ...options, format: choice.format })
      : await startWsUpstream(choice.format, options);
  const served =
    choice.kind === 'sse'
      ? `SSE at ${upstream.url}/events, JSON at ${upstream.url}/quotes`
      : `WebSocket at ${upstream.url}`;
  console.error(`tickstream upstream (${choice.format}): ${served}; Ctrl-C stops`);
  const portNote =
    upstream.port === DEFAULT_PORTS[choice.format]
      ? ''
      : ` (after changing its port ${DEFAULT_PORTS[choice.format]} to ${upstream.port})`;
  console.error(`try: tickstream serve --config ${EXAMPLE_CONFIGS[choice.format]}${portNote}`);
  await untilSignal();
  await upstream.close();
  return 0;
}
