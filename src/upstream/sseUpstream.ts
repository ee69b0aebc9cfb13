import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSimulator } from '../feeds/simulated.js';
import type { UpstreamFormat } from '../feeds/sseFormats.js';
import { listings } from '../feeds/universe.js';
import type { RawQuote } from '../protocol.js';
import type { DemoUpstream, DemoUpstreamOptions } from './types.js';

export type SseUpstreamOptions = DemoUpstreamOptions & {
  format?: UpstreamFormat;
  /** How often the simulator steps; each non-empty step is one event. */
  intervalMs?: number;
  /** Events kept for `Last-Event-ID` replay. */
  historySize?: number;
  /** Sent as `retry:` to each client. */
  retryMs?: number;
};

export type SseDemoUpstream = DemoUpstream & {
  eventsUrl: string;
  quotesUrl: string;
  /** Destroys every open event-stream connection, as a network failure would (tests). */
  dropConnections(): number;
  /** Id of the newest event (0 before the first). */
  lastEventId(): number;
};

type StoredEvent = { id: number; frame: string };

const MAX_CLIENT_BACKLOG = 8 * 1024 * 1024;

/**
 * A local SSE upstream serving simulated ticks: `GET /events` an event stream (each event an `id:` and a
 * JSON array of quotes; `Last-Event-ID` replays what the client missed from a bounded history, so a resume
 * loses nothing), `GET /quotes` the latest quote per symbol as JSON for polling. In the tickstream format
 * `seq` is per symbol and continuous, so the client can check for gaps.
 */
export async function startSseUpstream(options: SseUpstreamOptions): Promise<SseDemoUpstream> {
  const format = options.format ?? 'tickstream';
  const historySize = options.historySize ?? 10_000;
  const simulator = createSimulator({
    seed: options.seed ?? 1,
    listings: listings(options.symbols),
    ticksPerSecond: options.ticksPerSecond ?? 50,
  });
  const seqs = new Map<string, number>();
  const latest = new Map<string, object>();
  const history: StoredEvent[] = [];
  const clients = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let nextId = 1;
  let last = Date.now();

  const encode = (quote: RawQuote): object => {
    const seq = (seqs.get(quote.symbol) ?? 0) + 1;
    seqs.set(quote.symbol, seq);
    const item = format === 'iex' ? toIex(quote) : toTickstream(quote, seq);
    latest.set(quote.symbol, item);
    return item;
  };

  const step = () => {
    const now = Date.now();
    const batch = simulator.step(now, now - last);
    last = now;
    if (batch.length === 0) return;
    const event: StoredEvent = { id: nextId++, frame: '' };
    event.frame = `id: ${event.id}\ndata: ${JSON.stringify(batch.map(encode))}\n\n`;
    history.push(event);
    // Trim in blocks, not per event: shifting a long array on every step would cost O(history).
    if (history.length > historySize * 1.25) history.splice(0, history.length - historySize);
    for (const client of clients) {
      // A client that cannot keep up is cut rather than buffered without bound; it resumes by Last-Event-ID.
      if (client.writableLength > MAX_CLIENT_BACKLOG) client.socket?.destroy();
      else client.write(event.frame);
    }
  };

  const stream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(`: tickstream demo upstream (${format})\nretry: ${options.retryMs ?? 500}\n\n`);
    const resumeFrom = Number(req.headers['last-event-id']);
    if (Number.isInteger(resumeFrom) && resumeFrom > 0) {
      for (const event of history) if (event.id > resumeFrom) res.write(event.frame);
    }
    clients.add(res);
    res.on('close', () => clients.delete(res));
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/events') {
      stream(req, res);
    } else if (path === '/quotes') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([...latest.values()]));
    } else if (path === '/') {
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`tickstream demo upstream (${format}): GET /events (SSE), GET /quotes (JSON)\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const ticker = setInterval(step, options.intervalMs ?? 50);
  // Comments keep idle proxies from closing the stream.
  const keepalive = setInterval(() => {
    for (const client of clients) client.write(':\n\n');
  }, 15_000);
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const url = `http://${host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    eventsUrl: `${url}/events`,
    quotesUrl: `${url}/quotes`,
    lastEventId: () => nextId - 1,
    dropConnections() {
      const count = clients.size;
      for (const client of clients) client.socket?.destroy();
      return count;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(ticker);
        clearInterval(keepalive);
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function toTickstream(quote: RawQuote, seq: number): object {
  const { source: _source, ...rest } = quote;
  return { ...rest, seq };
}

/** The IEX Cloud quote shape, as IEX-style SSE streams send it. */
function toIex(quote: RawQuote): object {
  return {
    symbol: quote.symbol,
    latestPrice: quote.price,
    latestUpdate: quote.ts,
    latestSource: 'IEX real time price',
    iexRealtimePrice: quote.price,
    iexRealtimeSize: quote.size ?? null,
    iexLastUpdated: quote.ts,
    iexBidPrice: quote.bid ?? 0,
    iexAskPrice: quote.ask ?? 0,
    latestVolume: quote.volume ?? null,
    previousClose: quote.prevClose ?? null,
    isUSMarketOpen: true,
  };
}
