import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { createSimulator } from '../feeds/simulated.js';
import { type Listing, listings } from '../feeds/universe.js';
import { cryptoListings } from '../feeds/vendors/cryptoListings.js';
import {
  type UpstreamSession,
  type UpstreamTick,
  type VendorFormat,
  type VendorServer,
  type VendorServerLimits,
  vendorServer,
} from '../feeds/vendors/index.js';
import type { DemoUpstream, DemoUpstreamOptions } from './types.js';

/** The credentials the demo upstream accepts unless told others. */
export const DEMO_KEY = 'demo-key';
export const DEMO_SECRET = 'demo-secret';

export type WsUpstreamOptions = DemoUpstreamOptions & {
  key?: string;
  secret?: string;
  /** Symbols one connection may subscribe to (Alpaca 405, Finnhub's "too many symbols"). */
  maxSymbols?: number;
  /** Open connections allowed at once (Alpaca 406, Polygon max_connections, else HTTP 429). */
  maxConnections?: number;
  /** How often Finnhub pings and Coinbase heartbeats go out. */
  keepAliveMs?: number;
  /** Simulator step. */
  stepMs?: number;
  /** What it serves instead of the vendor's default universe (Alpaca crypto `BTC/USD`, Finnhub `BINANCE:BTCUSDT`). */
  listings?: readonly Listing[];
  /** The vendor's documented limits, shrunk or relaxed (tests): subscribe deadline, frame rate, lifetime, pings. */
  limits?: VendorServerLimits;
};

export type WsUpstreamStats = {
  connections: number;
  authSuccesses: number;
  authFailures: number;
  badRequests: number;
  /** Connections closed for breaking a documented limit, by which. */
  cut: { deadline: number; rate: number; lifetime: number; pong: number };
  /** Requests for the vendor's symbol listing (HTTP or over the WebSocket). */
  listings: number;
  /** Pings the server sent (`pingEveryMs`). */
  pings: number;
};

/** The demo upstream, with the handles tests need to misbehave on purpose. */
export type WsUpstream = DemoUpstream & {
  format: VendorFormat;
  /** What it serves (the directory of a feed pointed at it). */
  listings: readonly Listing[];
  stats: WsUpstreamStats;
  /** Symbols subscribed over all open connections, sorted. */
  subscriptions(): string[];
  openConnections(): number;
  /** Cuts every connection, as a network drop would. */
  dropConnections(): void;
  /** Sends a frame as is to every connection (tests: garbage). */
  broadcastRaw(frame: string): void;
  /** Sends nothing, pongs included, while on: a dead link that stays open. */
  setSilent(silent: boolean): void;
};

type Connection = { socket: WebSocket; session: UpstreamSession };

function defaultUniverse(format: VendorFormat, count: number | undefined): Listing[] {
  return format === 'coinbase' || format === 'binance' || format === 'kraken'
    ? cryptoListings(format)
    : listings(count);
}

/**
 * A local WebSocket server speaking one vendor's protocol as its documentation describes it (auth with a demo
 * key, subscriptions, the vendor's errors, keep-alives and limits: Coinbase's 5 s subscribe deadline, Binance's
 * 5 frames a second, 24 h lifetime and pings), with the vendor's HTTP symbol listing beside it where it has one,
 * serving simulated ticks for subscribed symbols only: US listings for the stock vendors, BTC, ETH and SOL in
 * each crypto vendor's spelling, with per-product sequence numbers.
 */
export async function startWsUpstream(format: VendorFormat, options: WsUpstreamOptions): Promise<WsUpstream> {
  const vendor = vendorServer(format);
  const limits: VendorServerLimits = { ...vendor.limits, ...options.limits };
  const expected = { key: options.key ?? DEMO_KEY, secret: options.secret ?? DEMO_SECRET };
  const maxSymbols = options.maxSymbols ?? limits.maxSymbols ?? 1000;
  const maxConnections = options.maxConnections ?? 10;
  const universe = options.listings ? [...options.listings] : defaultUniverse(format, options.symbols);
  const known = new Set(universe.map((l) => l.symbol));
  const connections = new Set<Connection>();
  const stats: WsUpstreamStats = {
    connections: 0,
    authSuccesses: 0,
    authFailures: 0,
    badRequests: 0,
    cut: { deadline: 0, rate: 0, lifetime: 0, pong: 0 },
    listings: 0,
    pings: 0,
  };
  let silent = false;

  const http = createServer((req, res) => {
    const listing = vendor.restListing;
    if (listing && req.method === 'GET' && new URL(req.url ?? '/', 'http://upstream').pathname === listing.path) {
      stats.listings++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(listing.body(universe)));
      return;
    }
    res.writeHead(426).end('WebSocket only\n');
  });
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  http.on('upgrade', (request: IncomingMessage, stream: Duplex, head: Buffer) => {
    const refusal = refuseUpgrade(vendor, request, expected.key, connections.size >= maxConnections);
    if (refusal) {
      if (refusal === 401) stats.authFailures++;
      stream.end(
        `HTTP/1.1 ${refusal} ${refusal === 401 ? 'Unauthorized' : 'Too Many Requests'}\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(request, stream, head, (socket) => accept(socket));
  });

  const send = (socket: WebSocket, frame: string | undefined) => {
    if (frame !== undefined && !silent && socket.readyState === socket.OPEN) socket.send(frame);
  };

  function accept(socket: WebSocket): void {
    stats.connections++;
    const session: UpstreamSession = {
      authenticated: vendor.auth !== 'frame',
      symbols: new Set(),
      heartbeats: new Set(),
      subscribedOnce: false,
    };
    const connection: Connection = { socket, session };
    if (connections.size >= maxConnections) {
      send(socket, vendor.connectionLimitExceeded());
      socket.close(1008, 'connection limit exceeded');
      return;
    }
    // A token in the URL was checked at the upgrade.
    if (vendor.auth === 'url') stats.authSuccesses++;
    connections.add(connection);
    const timers = enforceLimits(connection);
    const closed = () => {
      connections.delete(connection);
      for (const t of timers) clearTimeout(t);
    };
    socket.on('close', closed);
    socket.on('error', closed);
    socket.on('ping', (data) => {
      if (!silent) socket.pong(data);
    });
    socket.on('message', (data) => {
      for (const reply of answer(connection, data.toString())) send(socket, reply);
      if (vendor.auth === 'frame' && connection.session.closing) socket.close(1008, 'authentication failed');
    });
    send(socket, vendor.hello());
  }

  /** The vendor's documented limits on one connection: each breach closes it, as the vendor would. */
  function enforceLimits({ socket, session }: Connection): ReturnType<typeof setTimeout>[] {
    const timers: ReturnType<typeof setTimeout>[] = [];
    const cut = (why: keyof WsUpstreamStats['cut'], reason: string) => {
      if (socket.readyState !== socket.OPEN) return;
      stats.cut[why]++;
      socket.close(1008, reason);
    };
    if (limits.subscribeDeadlineMs !== undefined) {
      const deadline = limits.subscribeDeadlineMs;
      timers.push(setTimeout(() => session.subscribedOnce || cut('deadline', 'no subscribe in time'), deadline));
    }
    if (limits.framesPerSecond !== undefined) {
      const perSecond = limits.framesPerSecond;
      const received: number[] = [];
      const count = () => {
        const now = Date.now();
        received.push(now);
        while (received.length > 0 && now - (received[0] ?? now) >= 1000) received.shift();
        if (received.length > perSecond) cut('rate', `more than ${perSecond} messages in a second`);
      };
      socket.on('message', count);
      socket.on('ping', count);
      socket.on('pong', count);
    }
    if (limits.maxConnectionMs !== undefined) {
      timers.push(
        setTimeout(() => {
          send(socket, vendor.closingNotice?.(Date.now()));
          cut('lifetime', 'connection lifetime reached');
        }, limits.maxConnectionMs),
      );
    }
    if (limits.pingEveryMs !== undefined) {
      const pongTimeoutMs = limits.pongTimeoutMs ?? limits.pingEveryMs * 3;
      let lastPong = Date.now();
      socket.on('pong', () => {
        lastPong = Date.now();
      });
      const pinger = setInterval(() => {
        if (Date.now() - lastPong > pongTimeoutMs) cut('pong', 'no pong');
        else if (!silent && socket.readyState === socket.OPEN) {
          stats.pings++;
          socket.ping();
        }
      }, limits.pingEveryMs);
      timers.push(pinger);
    }
    return timers;
  }

  function answer(connection: Connection, frame: string): (string | undefined)[] {
    const { session } = connection;
    const request = vendor.decodeRequest(frame);
    switch (request.kind) {
      case 'ping':
        return [vendor.pong?.(request.id, Date.now())];
      case 'list':
        stats.listings++;
        session.subscribedOnce = true;
        return [vendor.listing?.(universe)];
      case 'invalid':
        stats.badRequests++;
        return [vendor.badRequest(request.reason)];
      case 'auth': {
        if (vendor.auth !== 'frame') return [vendor.badRequest('unexpected auth')];
        const ok = request.key === expected.key && (format !== 'alpaca' || request.secret === expected.secret);
        if (!ok) {
          stats.authFailures++;
          session.closing = true;
          return [vendor.authFailed()];
        }
        stats.authSuccesses++;
        session.authenticated = true;
        return [vendor.authSucceeded()];
      }
      case 'subscribe': {
        if (!session.authenticated) return [vendor.notAuthenticated()];
        session.subscribedOnce = true;
        const replies: (string | undefined)[] = [];
        for (const product of request.heartbeats ?? []) {
          if (known.has(product)) session.heartbeats.add(product);
          else replies.push(vendor.subscriptionRefused('unknown_symbol', product));
        }
        const fresh = request.symbols.filter((s) => !session.symbols.has(s));
        for (const symbol of fresh.filter((s) => !known.has(s))) {
          replies.push(vendor.subscriptionRefused('unknown_symbol', symbol));
        }
        const wanted = fresh.filter((s) => known.has(s));
        if (session.symbols.size + wanted.length > maxSymbols) {
          replies.push(vendor.subscriptionRefused('symbol_limit', `at most ${maxSymbols} symbols`));
          return replies;
        }
        for (const symbol of wanted) session.symbols.add(symbol);
        replies.push(...vendor.subscribed(wanted, session, 'subscribe'));
        return replies;
      }
      case 'unsubscribe':
        if (!session.authenticated) return [vendor.notAuthenticated()];
        for (const symbol of request.symbols) session.symbols.delete(symbol);
        for (const product of request.heartbeats ?? []) session.heartbeats.delete(product);
        return vendor.subscribed(request.symbols, session, 'unsubscribe');
    }
  }

  // The market: one simulator for every connection, so two clients see the same prices.
  const simulator = createSimulator({
    seed: options.seed ?? 42,
    listings: universe,
    ticksPerSecond: options.ticksPerSecond ?? 100,
    source: format,
  });
  const ranges = new Map<string, { sequence: number; high: number; low: number }>();
  const stepMs = options.stepMs ?? 50;
  let lastStep = Date.now();
  const stepper = setInterval(() => {
    const now = Date.now();
    const ticks: UpstreamTick[] = simulator.step(now, now - lastStep).map((quote) => {
      // The range starts at the reference price, as a day's (or 24 hours') high and low include the open.
      const start = quote.prevClose ?? quote.price;
      const range = ranges.get(quote.symbol) ?? { sequence: 1_000_000, high: start, low: start };
      range.sequence++;
      range.high = Math.max(range.high, quote.price);
      range.low = Math.min(range.low, quote.price);
      ranges.set(quote.symbol, range);
      return { ...quote, open: quote.prevClose, high: range.high, low: range.low, sequence: range.sequence };
    });
    lastStep = now;
    for (const { socket, session } of connections) {
      if (!session.authenticated || session.symbols.size === 0) continue;
      const mine = ticks.filter((t) => session.symbols.has(t.symbol));
      for (const frame of vendor.ticks(mine)) send(socket, frame);
    }
  }, stepMs);
  const keepAlive = setInterval(() => {
    const now = Date.now();
    for (const { socket, session } of connections) {
      if (!session.authenticated) continue;
      for (const frame of vendor.keepAlive(session, now, (s) => ranges.get(s)?.sequence ?? 1_000_000)) {
        send(socket, frame);
      }
    }
  }, options.keepAliveMs ?? 1000);

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;

  return {
    format,
    port,
    url: `ws://${host}:${port}${vendor.path}`,
    listings: universe,
    stats,
    subscriptions: () => [...new Set([...connections].flatMap((c) => [...c.session.symbols]))].sort(),
    openConnections: () => connections.size,
    dropConnections() {
      for (const { socket } of connections) socket.terminate();
    },
    broadcastRaw(frame) {
      for (const { socket } of connections) send(socket, frame);
    },
    setSilent(value) {
      silent = value;
    },
    async close() {
      clearInterval(stepper);
      clearInterval(keepAlive);
      for (const { socket } of connections) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The HTTP status that refuses an upgrade, if any: a wrong URL token (Finnhub), or too many connections. */
function refuseUpgrade(
  vendor: VendorServer,
  request: IncomingMessage,
  key: string,
  full: boolean,
): 401 | 429 | undefined {
  if (vendor.auth === 'url') {
    const token = new URL(request.url ?? '/', 'http://upstream').searchParams.get('token');
    if (token !== key) return 401;
  }
  if (full && vendor.connectionLimitExceeded() === undefined) return 429;
  return undefined;
}
