import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';

/** Flags shared by the comparison servers: the harness passes the same workload to every server. */
export function serverArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      symbols: { type: 'string', default: '500' },
      tps: { type: 'string', default: '10000' },
      'step-ms': { type: 'string', default: '5' },
      seed: { type: 'string', default: '42' },
      hz: { type: 'string', default: '4' },
    },
  });
  const intervalMs = Number(values['step-ms']);
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 1000)
    throw new Error(`--step-ms: expected an integer from 1 to 1000, got "${values['step-ms']}"`);
  return {
    port: Number(values.port),
    symbols: Number(values.symbols),
    ticksPerSecond: Number(values.tps),
    intervalMs,
    seed: Number(values.seed),
    hz: Number(values.hz),
  };
}

/** Tells the harness (our parent) where we listen, on stdout, as one JSON line. */
export function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
}

/** The HTTP server every comparison server listens on: `GET /bench/stats` answers its counters. */
export function statsServer(stats: object): Server {
  return createServer((req, res) => {
    if (req.url === '/bench/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
}
