import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
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
 * The simulated ticks as an event stream: each non-empty step one event, kept in a bounded history for
 * `Last-Event-ID`, written to every open stream; and the latest quote per symbol, for polling.
 */
class SimulatedEvents {
  private readonly simulator: ReturnType<typeof createSimulator>;
  private readonly seqs = new Map<string, number>();
  private readonly latest = new Map<string, object>();
  private readonly history: StoredEvent[] = [];
  private readonly clients = new Set<ServerResponse>();
  private readonly format: UpstreamFormat;
  private readonly historySize: number;
  private nextId = 1;
  private last = Date.now();

  constructor(private readonly options: SseUpstreamOptions) {
    this.format = options.format ?? 'tickstream';
    this.historySize = options.historySize ?? 10_000;
    this.simulator = createSimulator({
      seed: options.seed ?? 1,
      listings: listings(options.symbols),
      ticksPerSecond: options.ticksPerSecond ?? 50,
    });
  }

  get lastEventId(): number {
    return this.nextId - 1;
  }

  latestQuotes(): object[] {
    return [...this.latest.values()];
  }

  step(): void {
    const now = Date.now();
    const batch = this.simulator.step(now, now - this.last);
    this.last = now;
    if (batch.length === 0) return;
    const event: StoredEvent = { id: this.nextId++, frame: '' };
    event.frame = `id: ${event.id}\ndata: ${JSON.stringify(batch.map((quote) => this.encode(quote)))}\n\n`;
    const { history } = this;
    history.push(event);
    // Trim in blocks, not per event: shifting a long array on every step would cost O(history).
    if (history.length > this.historySize * 1.25) history.splice(0, history.length - this.historySize);
    for (const client of this.clients) {
      // A client that cannot keep up is cut rather than buffered without bound; it resumes by Last-Event-ID.
      if (client.writableLength > MAX_CLIENT_BACKLOG) client.socket?.destroy();
      else client.write(event.frame);
    }
  }

  /** `GET /events`: what the client missed since its `Last-Event-ID`, then every event as it comes. */
  stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(`: tickstream demo upstream (${this.format})\nretry: ${this.options.retryMs ?? 500}\n\n`);
    const resumeFrom = Number(req.headers['last-event-id']);
    if (Number.isInteger(resumeFrom) && resumeFrom > 0) {
      for (const event of this.history) if (event.id > resumeFrom) res.write(event.frame);
    }
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  /** Comments keep idle proxies from closing the stream. */
  keepAlive(): void {
    for (const client of this.clients) client.write(':\n\n');
  }

  /** Destroys every open stream; how many there were. */
  dropClients(): number {
    const count = this.clients.size;
    for (const client of this.clients) client.socket?.destroy();
    return count;
  }

  private encode(quote: RawQuote): object {
    const seq = (this.seqs.get(quote.symbol) ?? 0) + 1;
    this.seqs.set(quote.symbol, seq);
    const item = this.format === 'iex' ? toIex(quote) : toTickstream(quote, seq);
    this.latest.set(quote.symbol, item);
    return item;
  }
}

/**
 * A local SSE upstream serving simulated ticks: `GET /events` an event stream (each event an `id:` and a
 * JSON array of quotes; `Last-Event-ID` replays what the client missed from a bounded history, so a resume
 * loses nothing), `GET /quotes` the latest quote per symbol as JSON for polling. In the tickstream format
 * `seq` is per symbol and continuous, so the client can check for gaps.
 */
export async function startSseUpstream(options: SseUpstreamOptions): Promise<SseDemoUpstream> {
  const events = new SimulatedEvents(options);
  const server = createServer(upstreamRoutes(events, options.format ?? 'tickstream'));
  const sockets = new Set<Socket>();
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

  const ticker = setInterval(() => events.step(), options.intervalMs ?? 50);
  const keepalive = setInterval(() => events.keepAlive(), 15_000);
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const url = `http://${host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    eventsUrl: `${url}/events`,
    quotesUrl: `${url}/quotes`,
    lastEventId: () => events.lastEventId,
    dropConnections: () => events.dropClients(),
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

/** `GET /events`, `GET /quotes` and a line of help at `/`; other methods 405, other paths 404. */
function upstreamRoutes(events: SimulatedEvents, format: UpstreamFormat): RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/events') {
      events.stream(req, res);
    } else if (path === '/quotes') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(events.latestQuotes()));
    } else if (path === '/') {
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`tickstream demo upstream (${format}): GET /events (SSE), GET /quotes (JSON)\n`);
    } else {
      res.writeHead(404).end();
    }
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
