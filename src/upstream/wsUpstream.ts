import { createServer, type Server as HttpServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { createSimulator } from '../feeds/simulated.js';
import { type Listing, listings } from '../feeds/universe.js';
import { cryptoListings } from '../feeds/vendors/cryptoListings.js';
import type { VendorFormat } from '../feeds/vendors/index.js';
import type { DemoUpstream, DemoUpstreamOptions } from './types.js';
import {
  type UpstreamSession,
  type UpstreamTick,
  type VendorServer,
  type VendorServerLimits,
  vendorServer,
} from './vendors/index.js';

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

type Timer = ReturnType<typeof setTimeout>;

/** What one demo upstream serves and allows, fixed at its start; every part below reads it. */
type UpstreamSetup = {
  format: VendorFormat;
  vendor: VendorServer;
  limits: VendorServerLimits;
  expected: { key: string; secret: string };
  maxSymbols: number;
  maxConnections: number;
  universe: Listing[];
  known: ReadonlySet<string>;
  stats: WsUpstreamStats;
  connections: OpenConnections;
};

function defaultUniverse(format: VendorFormat, count: number | undefined): Listing[] {
  return format === 'coinbase' || format === 'binance' || format === 'kraken'
    ? cryptoListings(format)
    : listings(count);
}

function emptyStats(): WsUpstreamStats {
  return {
    connections: 0,
    authSuccesses: 0,
    authFailures: 0,
    badRequests: 0,
    cut: { deadline: 0, rate: 0, lifetime: 0, pong: 0 },
    listings: 0,
    pings: 0,
  };
}

/** The open connections and what goes out on them: nothing at all while silent (a dead link that stays open). */
class OpenConnections implements Iterable<Connection> {
  silent = false;
  private readonly open = new Set<Connection>();

  get size(): number {
    return this.open.size;
  }

  add(connection: Connection): void {
    this.open.add(connection);
  }

  delete(connection: Connection): void {
    this.open.delete(connection);
  }

  [Symbol.iterator](): Iterator<Connection> {
    return this.open[Symbol.iterator]();
  }

  send(socket: WebSocket, frame: string | undefined): void {
    if (frame !== undefined && !this.silent && socket.readyState === socket.OPEN) socket.send(frame);
  }

  /** Symbols subscribed over all of them, sorted. */
  subscriptions(): string[] {
    return [...new Set([...this.open].flatMap((c) => [...c.session.symbols]))].sort();
  }

  terminateAll(): void {
    for (const { socket } of this.open) socket.terminate();
  }
}

/**
 * The market behind every connection: one simulator, so two clients see the same prices, with each symbol's
 * vendor sequence number and its range since the start.
 */
class SimulatedMarket {
  private readonly simulator: ReturnType<typeof createSimulator>;
  private readonly ranges = new Map<string, { sequence: number; high: number; low: number }>();
  private lastStep = Date.now();

  constructor(format: VendorFormat, universe: readonly Listing[], options: WsUpstreamOptions) {
    this.simulator = createSimulator({
      seed: options.seed ?? 42,
      listings: [...universe],
      ticksPerSecond: options.ticksPerSecond ?? 100,
      source: format,
    });
  }

  /** The ticks since the last step, each with its sequence number and range. */
  step(now: number): UpstreamTick[] {
    const ticks = this.simulator.step(now, now - this.lastStep).map((quote) => {
      // The range starts at the reference price, as a day's (or 24 hours') high and low include the open.
      const start = quote.prevClose ?? quote.price;
      const range = this.ranges.get(quote.symbol) ?? { sequence: 1_000_000, high: start, low: start };
      range.sequence++;
      range.high = Math.max(range.high, quote.price);
      range.low = Math.min(range.low, quote.price);
      this.ranges.set(quote.symbol, range);
      return { ...quote, open: quote.prevClose, high: range.high, low: range.low, sequence: range.sequence };
    });
    this.lastStep = now;
    return ticks;
  }

  sequenceOf(symbol: string): number {
    return this.ranges.get(symbol)?.sequence ?? 1_000_000;
  }
}

/**
 * A local WebSocket server speaking one vendor's protocol as its documentation describes it (auth with a demo
 * key, subscriptions, the vendor's errors, keep-alives and limits: Coinbase's 5 s subscribe deadline, Binance's
 * 5 frames a second, 24 h lifetime and pings), with the vendor's HTTP symbol listing beside it where it has one,
 * serving simulated ticks for subscribed symbols only: US listings for the stock vendors, BTC, ETH and SOL in
 * each crypto vendor's spelling, with per-product sequence numbers.
 */
export async function startWsUpstream(format: VendorFormat, options: WsUpstreamOptions): Promise<WsUpstream> {
  const setup = upstreamSetup(format, options);
  const { vendor, universe, stats, connections } = setup;

  const http = createServer(listingHandler(setup));
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  http.on('upgrade', (request: IncomingMessage, stream: Duplex, head: Buffer) => {
    if (refusedUpgrade(setup, request, stream)) return;
    wss.handleUpgrade(request, stream, head, (socket) => accept(setup, socket));
  });

  const market = new SimulatedMarket(format, universe, options);
  const stepper = setInterval(() => sendTicks(setup, market.step(Date.now())), options.stepMs ?? 50);
  const keepAlive = setInterval(() => sendKeepAlives(setup, market), options.keepAliveMs ?? 1000);

  const host = options.host ?? '127.0.0.1';
  const port = await listenOn(http, options.port, host);

  return {
    format,
    port,
    url: `ws://${host}:${port}${vendor.path}`,
    listings: universe,
    stats,
    subscriptions: () => connections.subscriptions(),
    openConnections: () => connections.size,
    dropConnections() {
      connections.terminateAll();
    },
    broadcastRaw(frame) {
      for (const { socket } of connections) connections.send(socket, frame);
    },
    setSilent(value) {
      connections.silent = value;
    },
    async close() {
      clearInterval(stepper);
      clearInterval(keepAlive);
      connections.terminateAll();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function upstreamSetup(format: VendorFormat, options: WsUpstreamOptions): UpstreamSetup {
  const vendor = vendorServer(format);
  const limits: VendorServerLimits = { ...vendor.limits, ...options.limits };
  const universe = options.listings ? [...options.listings] : defaultUniverse(format, options.symbols);
  return {
    format,
    vendor,
    limits,
    expected: { key: options.key ?? DEMO_KEY, secret: options.secret ?? DEMO_SECRET },
    maxSymbols: options.maxSymbols ?? limits.maxSymbols ?? 1000,
    maxConnections: options.maxConnections ?? 10,
    universe,
    known: new Set(universe.map((l) => l.symbol)),
    stats: emptyStats(),
    connections: new OpenConnections(),
  };
}

/** The vendor's HTTP symbol listing where it has one; anything else over plain HTTP is refused. */
function listingHandler({ vendor, universe, stats }: UpstreamSetup): RequestListener {
  return (req, res) => {
    const listing = vendor.restListing;
    if (listing && req.method === 'GET' && new URL(req.url ?? '/', 'http://upstream').pathname === listing.path) {
      stats.listings++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(listing.body(universe)));
      return;
    }
    res.writeHead(426).end('WebSocket only\n');
  };
}

/** Ends an upgrade the vendor would refuse (a wrong URL token, too many connections); whether it did. */
function refusedUpgrade(setup: UpstreamSetup, request: IncomingMessage, stream: Duplex): boolean {
  const full = setup.connections.size >= setup.maxConnections;
  const refusal = refuseUpgrade(setup.vendor, request, setup.expected.key, full);
  if (!refusal) return false;
  if (refusal === 401) setup.stats.authFailures++;
  stream.end(
    `HTTP/1.1 ${refusal} ${refusal === 401 ? 'Unauthorized' : 'Too Many Requests'}\r\nConnection: close\r\n\r\n`,
  );
  return true;
}

/** A new WebSocket: over the vendor's connection limit it is told so and closed, else it is served. */
function accept(setup: UpstreamSetup, socket: WebSocket): void {
  const { vendor, stats, connections } = setup;
  stats.connections++;
  const session: UpstreamSession = {
    authenticated: vendor.auth !== 'frame',
    symbols: new Set(),
    heartbeats: new Set(),
    subscribedOnce: false,
  };
  const connection: Connection = { socket, session };
  if (connections.size >= setup.maxConnections) {
    connections.send(socket, vendor.connectionLimitExceeded());
    socket.close(1008, 'connection limit exceeded');
    return;
  }
  // A token in the URL was checked at the upgrade.
  if (vendor.auth === 'url') stats.authSuccesses++;
  connections.add(connection);
  const timers = enforceLimits(setup, connection);
  const closed = () => {
    connections.delete(connection);
    for (const t of timers) clearTimeout(t);
  };
  socket.on('close', closed);
  socket.on('error', closed);
  socket.on('ping', (data) => {
    if (!connections.silent) socket.pong(data);
  });
  socket.on('message', (data) => {
    for (const reply of answer(setup, connection, data.toString())) connections.send(socket, reply);
    if (vendor.auth === 'frame' && connection.session.closing) socket.close(1008, 'authentication failed');
  });
  connections.send(socket, vendor.hello());
}

/** The vendor's documented limits on one connection: each breach closes it, as the vendor would. */
function enforceLimits(setup: UpstreamSetup, { socket, session }: Connection): Timer[] {
  const { limits, vendor, stats, connections } = setup;
  const timers: Timer[] = [];
  const cut = (why: keyof WsUpstreamStats['cut'], reason: string) => {
    if (socket.readyState !== socket.OPEN) return;
    stats.cut[why]++;
    socket.close(1008, reason);
  };
  if (limits.subscribeDeadlineMs !== undefined) {
    const deadline = limits.subscribeDeadlineMs;
    timers.push(setTimeout(() => session.subscribedOnce || cut('deadline', 'no subscribe in time'), deadline));
  }
  if (limits.framesPerSecond !== undefined) limitFrameRate(socket, limits.framesPerSecond, cut);
  if (limits.maxConnectionMs !== undefined) {
    timers.push(
      setTimeout(() => {
        connections.send(socket, vendor.closingNotice?.(Date.now()));
        cut('lifetime', 'connection lifetime reached');
      }, limits.maxConnectionMs),
    );
  }
  if (limits.pingEveryMs !== undefined) {
    const pingEveryMs = limits.pingEveryMs;
    const pongTimeoutMs = limits.pongTimeoutMs ?? pingEveryMs * 3;
    timers.push(pingUntilSilent(setup, socket, pingEveryMs, pongTimeoutMs, cut));
  }
  return timers;
}

type Cut = (why: keyof WsUpstreamStats['cut'], reason: string) => void;

/** Binance's rule: more than `perSecond` messages, pings and pongs from the client in a second end it. */
function limitFrameRate(socket: WebSocket, perSecond: number, cut: Cut): void {
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

/** Pings every `everyMs` (none while silent) and cuts a connection whose pongs stopped for `timeoutMs`. */
function pingUntilSilent(setup: UpstreamSetup, socket: WebSocket, everyMs: number, timeoutMs: number, cut: Cut): Timer {
  let lastPong = Date.now();
  socket.on('pong', () => {
    lastPong = Date.now();
  });
  return setInterval(() => {
    if (Date.now() - lastPong > timeoutMs) cut('pong', 'no pong');
    else if (!setup.connections.silent && socket.readyState === socket.OPEN) {
      setup.stats.pings++;
      socket.ping();
    }
  }, everyMs);
}

/** The vendor's replies to one frame from a client. */
function answer(setup: UpstreamSetup, connection: Connection, frame: string): (string | undefined)[] {
  const { vendor, stats, universe } = setup;
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
    case 'auth':
      return [authenticate(setup, session, request.key, request.secret)];
    case 'subscribe':
      if (!session.authenticated) return [vendor.notAuthenticated()];
      return subscribe(setup, session, request.symbols, request.heartbeats ?? []);
    case 'unsubscribe':
      if (!session.authenticated) return [vendor.notAuthenticated()];
      for (const symbol of request.symbols) session.symbols.delete(symbol);
      for (const product of request.heartbeats ?? []) session.heartbeats.delete(product);
      return vendor.subscribed(request.symbols, session, 'unsubscribe');
  }
}

/** An auth frame: the demo key (and, for Alpaca, the secret) or the vendor's failure, which then closes. */
function authenticate(
  { vendor, format, expected, stats }: UpstreamSetup,
  session: UpstreamSession,
  key: string | undefined,
  secret: string | undefined,
): string | undefined {
  if (vendor.auth !== 'frame') return vendor.badRequest('unexpected auth');
  const ok = key === expected.key && (format !== 'alpaca' || secret === expected.secret);
  if (!ok) {
    stats.authFailures++;
    session.closing = true;
    return vendor.authFailed();
  }
  stats.authSuccesses++;
  session.authenticated = true;
  return vendor.authSucceeded();
}

/** A subscribe frame: unknown symbols refused one by one, the rest taken unless over the symbol limit. */
function subscribe(
  { vendor, known, maxSymbols }: UpstreamSetup,
  session: UpstreamSession,
  symbols: readonly string[],
  heartbeats: readonly string[],
): (string | undefined)[] {
  session.subscribedOnce = true;
  const replies: (string | undefined)[] = [];
  for (const product of heartbeats) {
    if (known.has(product)) session.heartbeats.add(product);
    else replies.push(vendor.subscriptionRefused('unknown_symbol', product));
  }
  const fresh = symbols.filter((s) => !session.symbols.has(s));
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

/** Each authenticated connection gets the ticks of the symbols it subscribed to, in the vendor's frames. */
function sendTicks({ vendor, connections }: UpstreamSetup, ticks: readonly UpstreamTick[]): void {
  for (const { socket, session } of connections) {
    if (!session.authenticated || session.symbols.size === 0) continue;
    const mine = ticks.filter((t) => session.symbols.has(t.symbol));
    for (const frame of vendor.ticks(mine)) connections.send(socket, frame);
  }
}

/** Finnhub's pings, Coinbase's heartbeats: whatever the vendor sends an authenticated connection to keep it. */
function sendKeepAlives({ vendor, connections }: UpstreamSetup, market: SimulatedMarket): void {
  const now = Date.now();
  for (const { socket, session } of connections) {
    if (!session.authenticated) continue;
    for (const frame of vendor.keepAlive(session, now, (s) => market.sequenceOf(s))) connections.send(socket, frame);
  }
}

async function listenOn(http: HttpServer, port: number | undefined, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return (http.address() as AddressInfo).port;
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
