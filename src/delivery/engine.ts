import { type IncomingMessage, ServerResponse } from 'node:http';
import type { TickstreamServer, TickstreamSocket } from './types.js';

/**
 * The one place that reads engine.io's, ws' and Socket.IO's internals (what their typings do not export).
 * Everything else goes through the functions below; test/integration/engineInternals.test.ts checks each
 * assumption against the installed packages, so an upgrade that moves one fails there, not in production.
 */

type EngineSocket = TickstreamSocket['conn'];

/** A Node EventEmitter's listener table, read and replaced beyond its typings. */
type EmitterInternals = {
  _events?: Record<string | symbol, unknown>;
  rawListeners?(event: string): Listener[];
  removeListener?(event: string, listener: Listener): unknown;
};

type Listener = (...args: unknown[]) => unknown;

/** A ws WebSocket as engine.io's websocket transport holds it. */
type WsSocket = EmitterInternals & {
  readyState?: number;
  bufferedAmount?: number;
  terminate?: () => void;
  /** ws' frame queue: frames wait in it only while it deflates or reads a Blob (state other than 0). */
  _sender?: { _state?: number; _queue?: unknown[]; _extensions?: object };
  /** ws' frame parser (a Writable stream). */
  _receiver?: EmitterInternals & { _extensions?: object };
  /** The extensions negotiated, one object shared with the sender and receiver. */
  _extensions?: object;
  /** The TCP socket under it. */
  _socket?: EmitterInternals & { write(data: string | Buffer, encoding?: BufferEncoding): boolean };
};

/** ws' Sender state DEFAULT: nothing in progress, so a frame written now goes out in order. */
const SENDER_IDLE = 0;

/** ws' WebSocket.OPEN. */
const WS_OPEN = 1;

/** What is read of an engine.io socket beyond its typings. */
type EngineInternals = EmitterInternals & {
  id: string;
  /** engine.io's server: its table of open connections. */
  server: { clients: Record<string, unknown>; clientsCount: number };
  readyState: string;
  request: IncomingMessage & { _query?: unknown };
  writeBuffer?: { data?: unknown }[];
  /** What undoes the transport's listeners when it goes (engine.io pushes one entry per transport). */
  cleanupFn?: (() => void)[];
  transport: EmitterInternals & { name: string; perMessageDeflate?: unknown; socket?: WsSocket };
  write(data: string | Buffer, options?: { wsPreEncodedFrame?: (string | Buffer)[] }): void;
  close(discard?: boolean): void;
};

function internals(conn: EngineSocket): EngineInternals {
  return conn as unknown as EngineInternals;
}

function byteSize(data: unknown): number {
  if (typeof data === 'string') return data.length; // pre-encoded JSON: ASCII but for names, close enough
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Bytes queued for a socket and not yet handed to the kernel: engine.io's packet queue (which grows while
 * the websocket has an unacknowledged write, or until a polling client polls again) plus the websocket's own
 * `bufferedAmount` (net.Socket's writable buffer and ws' frames not yet written).
 */
export function pendingBytes(socket: TickstreamSocket): number {
  const conn = internals(socket.conn);
  let bytes = 0;
  for (const packet of conn.writeBuffer ?? []) bytes += byteSize(packet.data);
  if (conn.transport.name === 'websocket') bytes += conn.transport.socket?.bufferedAmount ?? 0;
  return bytes;
}

/**
 * A complete WebSocket frame in one chunk: a Buffer, or a string whose characters are the frame's bytes
 * (latin1), for ASCII text.
 */
export type WsFrame = Buffer | string;

/** A Socket.IO packet already encoded, as a whole WebSocket frame and as an engine.io message. */
export type EncodedPacket = {
  /** The engine.io message's data (what a polling transport sends, and what pending bytes count). */
  readonly message: string | Buffer;
  /** The same as a complete WebSocket frame, for transports that take one. */
  wsFrame(): WsFrame;
};

/**
 * Writes an encoded packet to a socket that is open. Over a websocket it goes as a whole WebSocket frame,
 * in one write, straight to the TCP socket under ws, when ws' sender has nothing in progress (so the frame
 * keeps its place among ws' own): no packet object, events and flush per socket as in engine.io, and no
 * cork and writev of header and payload as in ws. It is the fan-out's hot path. The frame may pass an
 * engine.io packet still queued (an ack, a status): the protocol allows it. Otherwise (polling, compression,
 * a busy sender) it goes through engine.io as a message. Returns whether it was written.
 */
export function writeEncoded(socket: TickstreamSocket, packet: EncodedPacket): boolean {
  const conn = internals(socket.conn);
  if (conn.readyState !== 'open') return false;
  const { transport } = conn;
  const ws = transport.socket;
  if (transport.name === 'websocket' && !transport.perMessageDeflate && ws) {
    if (ws.readyState !== WS_OPEN) return false;
    const sender = ws._sender;
    if (ws._socket && sender?._state === SENDER_IDLE && sender._queue?.length === 0) {
      const frame = packet.wsFrame();
      if (typeof frame === 'string') ws._socket.write(frame, 'latin1');
      else ws._socket.write(frame);
      return true;
    }
  }
  conn.write(packet.message);
  return true;
}

/**
 * Request headers not kept once a socket is accepted: those that only served the websocket upgrade itself
 * (RFC 6455 section 4.1), and the client's credentials, checked by then: the Admin UI shows every socket's
 * headers to whoever opens it, and a token or a cookie is not theirs to see.
 */
const UNKEPT_HEADERS = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'authorization',
  'cookie',
]);

/**
 * engine.io keeps a connection's first HTTP request (the upgrade, or the first poll) for the connection's
 * life, with its stream state and raw headers. Once a socket is accepted only what Socket.IO builds a
 * handshake from is kept (a client may still connect another namespace on the same connection): the
 * headers, query, url and whether it was TLS (one of two shared objects). The headers lose those of the
 * upgrade's own mechanics and the credentials (UNKEPT_HEADERS), in the request and in the socket's handshake
 * alike (one object, as Socket.IO shares it). The handshake's values that most sockets have alike are shared too: an empty `auth` (one
 * frozen object), and its `time` (a date of some 60 characters, to the second) with the socket accepted
 * before it when they are the same.
 */
export function slimHandshakeRequest(socket: TickstreamSocket): void {
  const conn = internals(socket.conn);
  const { headers: all, _query, url, socket: tcp } = conn.request;
  const headers: IncomingMessage['headers'] = {};
  for (const [name, value] of Object.entries(all)) if (!UNKEPT_HEADERS.has(name)) headers[name] = value;
  const connection = (tcp as { encrypted?: boolean } | null)?.encrypted === true ? OVER_TLS : IN_CLEAR;
  conn.request = { headers, _query, url, connection } as unknown as EngineInternals['request'];
  const { handshake } = socket;
  handshake.headers = headers;
  if (isEmptyRecord(handshake.auth)) handshake.auth = NO_AUTH;
  if (handshake.time === lastHandshakeTime) handshake.time = lastHandshakeTime;
  else lastHandshakeTime = handshake.time;
}

/** What Socket.IO reads of a request's TCP socket: whether it was TLS. */
const OVER_TLS = Object.freeze({ encrypted: true });
const IN_CLEAR = Object.freeze({ encrypted: false });

/** The handshake `auth` of every client that sent none (Socket.IO makes an empty object for each). */
const NO_AUTH = Object.freeze({});

/** The `time` of the last handshake slimmed: the next socket accepted within the same second shares it. */
let lastHandshakeTime = '';

function isEmptyRecord(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Reflect.ownKeys(value).length === 0
  );
}

/**
 * engine.io answers a websocket upgrade with a stand-in response that holds the upgrade request for as long
 * as the TCP socket lives: it forwards the socket's 'close' to itself, for HTTP middlewares that wait for a
 * response to end (the only engine middleware here is this one, which does not). Once ws has read the
 * response headers ('headers'), nothing uses the response again, so the socket's forwarding listener goes,
 * and with it the response, its closure and the request: with slimHandshakeRequest, no upgrade request or
 * response stays alive per connection.
 */
export function releaseUpgradeRequests(engine: TickstreamServer['engine']): void {
  const responses = new WeakMap<IncomingMessage, UpgradeResponse>();
  engine.use((req: IncomingMessage, res: object, next: () => void) => {
    if (!(res instanceof ServerResponse)) responses.set(req, res);
    next();
  });
  engine.on('headers', (_headers: unknown, req: IncomingMessage) => {
    const res = responses.get(req);
    if (!res) return;
    responses.delete(req);
    res.req = undefined;
    const forward = res.socket?.rawListeners('close').find(isResponseCloseForward);
    if (forward) res.socket?.removeListener('close', forward);
  });
}

/** engine.io's WebSocketResponse, as far as it is read here. */
type UpgradeResponse = {
  req?: unknown;
  socket?: {
    rawListeners(event: 'close'): ((...args: unknown[]) => void)[];
    removeListener(event: 'close', listener: (...args: unknown[]) => void): unknown;
  };
};

/** WebSocketResponse's constructor: `socket.once("close", () => this.emit("close"))` (a once-wrapper). */
const RESPONSE_CLOSE_FORWARD = '() => this.emit("close")';

function isResponseCloseForward(listener: unknown): boolean {
  const wrapped = (listener as { listener?: unknown }).listener;
  return typeof wrapped === 'function' && String(wrapped) === RESPONSE_CLOSE_FORWARD;
}

/** The ws 'error' guard engine.io adds before a transport takes errors over (a function declaration). */
const UPGRADE_ERROR_GUARD = 'onUpgradeError';

/**
 * What a connection keeps for its whole life that it needs no more once the socket is accepted (a client
 * may still connect another namespace, so what a handshake is built from stays):
 * - engine.io's ws 'error' guard: it drops it when a polling client upgrades, not when a client opened
 *   with a websocket, though the transport has its own error listener by then;
 * - engine.io's 'headers' listener on a websocket transport, which only a polling transport emits (a
 *   websocket's headers come through ws' own event, once, before the transport exists);
 * - engine.io's own 'close' listener per connection (a closure and a once-wrapper that take it out of the
 *   server's table): one shared function does the same, reading the connection from `this`;
 * - the once-wrappers (a bound function and a state object each) around the websocket transport's 'error'
 *   and 'close' listeners and ws' 'close' one: ws emits 'close' once, and each listener is engine.io's
 *   own, which ends the socket (or the transport) and is a no-op or is removed once it has;
 * - Node's EventEmitter keeps its listeners in a prototype-less object, which V8 makes a hash table (a few
 *   hundred bytes each); a connection has six of them (TCP socket, websocket and its frame parser, engine.io's
 *   transport and socket, the Socket.IO socket). A copy made from a literal and given no prototype afterwards
 *   keeps V8's compact layout, with the very same listeners and still no inherited keys. Listener lists (the
 *   Socket.IO socket's catch-all listeners, its decoder's and engine.io's transport cleanups too) are copied
 *   to their length: V8 gives a list grown by push room for 17;
 * - ws' empty extensions object (one per connection, shared by the websocket, its sender and receiver): one
 *   frozen empty object for every connection without an extension, as ws only looks extensions up;
 * - socket.io-parser's decoder options, the same for every connection (see DEFAULT_DECODER_OPTIONS).
 * Tables that change later may grow again, which is only memory.
 */
export function compactConnection(socket: TickstreamSocket): void {
  const conn = internals(socket.conn);
  const { transport } = conn;
  const ws = transport.socket;
  const guard = ws?.rawListeners?.('error').find((listener) => listener.name === UPGRADE_ERROR_GUARD);
  if (guard) ws?.removeListener?.('error', guard);
  if (transport.name === 'websocket') {
    const forward = transport.rawListeners?.('headers').find(isPollingHeadersForward);
    if (forward) transport.removeListener?.('headers', forward);
    unwrapOnce(transport, 'error');
    unwrapOnce(transport, 'close');
    if (ws) unwrapOnce(ws, 'close');
    if (ws) shareEmptyExtensions(ws);
  }
  const connEvents = conn._events;
  if (connEvents?.close !== undefined) connEvents.close = eachListener(connEvents.close, sharedForget);
  for (const emitter of [socket, socket.conn, transport, ws, ws?._receiver, ws?._socket]) {
    const owner = emitter as EmitterInternals | undefined;
    if (owner?._events) owner._events = Object.setPrototypeOf(tightLists(owner._events), null);
  }
  if (conn.cleanupFn) conn.cleanupFn = conn.cleanupFn.slice();
  const sio = socket as unknown as SocketIoInternals;
  if (sio._anyListeners) sio._anyListeners = sio._anyListeners.slice();
  const decoder = sio.client?.decoder;
  if (decoder?._callbacks) decoder._callbacks = tightLists(decoder._callbacks);
  if (decoder && isDefaultDecoderOptions(decoder.opts)) decoder.opts = DEFAULT_DECODER_OPTIONS;
}

/**
 * socket.io-parser's decoder options as Socket.IO makes them for each connection (it passes none): one
 * frozen copy for every connection, as the decoder only reads them.
 */
const DEFAULT_DECODER_OPTIONS = Object.freeze({ reviver: undefined, maxAttachments: 10 });

function isDefaultDecoderOptions(opts: unknown): boolean {
  if (typeof opts !== 'object' || opts === null) return false;
  const keys = Reflect.ownKeys(opts);
  const { reviver, maxAttachments } = opts as { reviver?: unknown; maxAttachments?: unknown };
  return keys.length === 2 && keys.includes('reviver') && reviver === undefined && maxAttachments === 10;
}

/**
 * What is read of a Socket.IO socket beyond its typings: its catch-all listeners (`onAny`) and its client's
 * packet decoder (a component-emitter).
 */
type SocketIoInternals = {
  _anyListeners?: unknown[];
  client?: { decoder?: { _callbacks?: Record<string, unknown>; opts?: object } };
};

/** A copy of a listener table with each list cut to its length, and without the keys Node presets to `undefined`. */
function tightLists(table: Record<string | symbol, unknown>): Record<string | symbol, unknown> {
  const copy: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(table)) {
    const value = table[key];
    if (value !== undefined) copy[key] = Array.isArray(value) ? value.slice() : value;
  }
  return copy;
}

/** Node's `once` wrapper: a bound function with the listener it wraps as `listener`. */
type OnceWrapper = Listener & { listener?: Listener };

/** The once-wrapper's name (`onceWrapper.bind(state)`). */
const ONCE_WRAPPER = 'bound onceWrapper';

function onceWrapped(listener: unknown): Listener | undefined {
  if (typeof listener !== 'function' || listener.name !== ONCE_WRAPPER) return undefined;
  const wrapped = (listener as OnceWrapper).listener;
  return typeof wrapped === 'function' ? wrapped : undefined;
}

/**
 * Puts an engine.io listener of an event fired once in the place of its once-wrapper (in the same place in
 * the list, so the listeners still run in order). engine.io removes it by the listener, which matches either.
 */
function unwrapOnce(emitter: EmitterInternals, event: 'error' | 'close'): void {
  const events = emitter._events;
  if (events?.[event] === undefined) return;
  events[event] = eachListener(events[event], (listener) => {
    const wrapped = onceWrapped(listener);
    return isEngineListener(wrapped) ? wrapped : listener;
  });
}

/** An event's entry in a listener table (one function, or a list) with each listener mapped. */
function eachListener(entry: unknown, map: (listener: unknown) => unknown): unknown {
  return Array.isArray(entry) ? entry.map(map) : map(entry);
}

/** engine.io's own listeners that it adds with `once`: bound methods (`onError`, `onClose` of its socket or transport). */
function isEngineListener(listener: Listener | undefined): listener is Listener {
  return listener?.name === 'bound onError' || listener?.name === 'bound onClose';
}

/**
 * The 'close' listener engine.io's server adds to each connection it opens (server.js, handshake):
 * `socket.once("close", () => { delete this.clients[id]; this.clientsCount--; })`, whitespace aside.
 */
const SERVER_FORGET_CLIENT = '() => { delete this.clients[id]; this.clientsCount--; }';

/** engine.io's per-connection 'close' listener, once-wrapped, becomes the shared one; any other listener stays. */
function sharedForget(listener: unknown): unknown {
  const wrapped = onceWrapped(listener);
  if (!wrapped || String(wrapped).replace(/\s+/g, ' ') !== SERVER_FORGET_CLIENT) return listener;
  return forgetClient;
}

/**
 * engine.io's per-connection 'close' listener for every connection: the server forgets the connection. Once,
 * as engine.io's once-listener: a connection its server no longer holds is not counted off again.
 */
function forgetClient(this: EngineSocket): void {
  const conn = internals(this);
  const { server } = conn;
  if (server.clients[conn.id] !== this) return;
  delete server.clients[conn.id];
  server.clientsCount--;
}

/** The 'headers' listener engine.io's server adds to each transport: it forwards a polling response's headers. */
function isPollingHeadersForward(listener: unknown): boolean {
  return typeof listener === 'function' && String(listener).includes('"initial_headers"');
}

/** The extensions of every connection that has none: ws only looks them up (per-message deflate). */
const NO_EXTENSIONS = Object.freeze({});

function shareEmptyExtensions(ws: WsSocket): void {
  const { _extensions: extensions, _sender: sender, _receiver: receiver } = ws;
  if (!extensions || Reflect.ownKeys(extensions).length > 0) return;
  if (sender?._extensions !== extensions || receiver?._extensions !== extensions) return;
  ws._extensions = NO_EXTENSIONS;
  sender._extensions = NO_EXTENSIONS;
  receiver._extensions = NO_EXTENSIONS;
}

/**
 * Resolves once a long-polling client has collected what is queued for it (engine.io's 'drain': it polled
 * again), or its connection closed; at once for a websocket, which is written to without asking, or when
 * nothing waits. A polling client only gets its last packets (a DISCONNECT) by polling for them.
 */
export function queueCollected(socket: TickstreamSocket): Promise<void> {
  const conn = internals(socket.conn);
  if (conn.transport.name !== 'polling' || !conn.writeBuffer?.length || conn.readyState === 'closed')
    return Promise.resolve();
  return new Promise((resolve) => {
    socket.conn.once('drain', () => resolve());
    socket.conn.once('close', () => resolve());
  });
}

/** Drops a socket's connection now, queue and all: for a reader that stopped (it would never drain). */
export function terminate(socket: TickstreamSocket): void {
  const conn = internals(socket.conn);
  conn.close(true);
  conn.transport.socket?.terminate?.();
}

/** Whether each internal the functions above rely on is where they expect it, on a live websocket socket. */
export function engineAssumptions(socket: TickstreamSocket): Record<string, boolean> {
  const conn = internals(socket.conn);
  const ws = conn.transport.socket;
  const sio = socket as unknown as SocketIoInternals;
  const decoder = sio.client?.decoder;
  return {
    readyState: typeof conn.readyState === 'string',
    writeBuffer: Array.isArray(conn.writeBuffer),
    transportName: conn.transport.name === 'websocket',
    wsBufferedAmount: typeof ws?.bufferedAmount === 'number',
    wsTerminate: typeof ws?.terminate === 'function',
    wsSenderIdle: ws?._sender?._state === SENDER_IDLE && Array.isArray(ws._sender._queue),
    wsTcpWrite: typeof ws?._socket?.write === 'function',
    wsReadyState: ws?.readyState === WS_OPEN,
    request: typeof conn.request === 'object' && conn.request !== null && 'headers' in conn.request,
    cleanupFn: Array.isArray(conn.cleanupFn),
    decoderCallbacks: typeof decoder?._callbacks === 'object',
    // What compactConnection looks for, found (so replaced or dropped) on a connection it compacted:
    anyListeners: Array.isArray(sio._anyListeners),
    pollingHeadersDropped: conn.transport.rawListeners?.('headers').length === 0,
    serverCloseShared: conn.rawListeners?.('close').includes(forgetClient) === true,
    onceUnwrapped: [
      conn.transport.rawListeners?.('error'),
      conn.transport.rawListeners?.('close'),
      ws?.rawListeners?.('close'),
    ].every((listeners) => listeners?.length === 1 && isEngineListener(listeners[0])),
    receiverEvents: typeof ws?._receiver?._events === 'object',
    extensionsShared:
      ws?._extensions === NO_EXTENSIONS &&
      ws._sender?._extensions === NO_EXTENSIONS &&
      ws._receiver?._extensions === NO_EXTENSIONS,
    // The msgpack parser's decoder has no options.
    decoderOptions: decoder?.opts === undefined || decoder.opts === DEFAULT_DECODER_OPTIONS,
  };
}
