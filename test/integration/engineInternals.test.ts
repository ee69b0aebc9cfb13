import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { engineAssumptions, pendingBytes, writeEncoded } from '../../src/delivery/engine.js';
import { jsonTicks, msgpackTicks } from '../../src/delivery/ticksFrame.js';
import type { Quote } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { until } from '../helpers/lifecycle.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

// What src/delivery/engine.ts reads of engine.io and ws beyond their typings: if an upgrade moves any of it,
// this fails here rather than a slow-consumer check or a frame write failing quietly in production.
let service: Tickstream | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await service?.close();
  service = undefined;
});

const quote: Quote = { symbol: 'ACME', price: 12.5, ts: 1_700_000_000_000, epoch: 1, seq: 3 };

describe('engine.io and ws internals', () => {
  it.each([
    ['json', jsonTicks],
    ['msgpack', msgpackTicks],
  ] as const)(
    'are where engine.ts reads them, and a pre-encoded %s frame arrives as a ticks event',
    async (parser, encoding) => {
      service = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false, parser } });
      const svc = service;
      client = await connectTestClient(
        svc.url,
        parser === 'msgpack' ? { parser: (await import('socket.io-msgpack-parser')).default } : {},
      );
      await until(() => svc.io.of('/').sockets.size === 1, 2000, 'the server-side socket');
      const [socket] = svc.io.of('/').sockets.values();
      if (!socket) throw new Error('no socket');
      expect(engineAssumptions(socket)).toEqual({
        readyState: true,
        writeBuffer: true,
        transportName: true,
        wsBufferedAmount: true,
        wsTerminate: true,
        wsSenderIdle: true,
        wsTcpWrite: true,
        wsReadyState: true,
        request: true,
        cleanupFn: true,
        decoderCallbacks: true,
        anyListeners: true,
        pollingHeadersDropped: true,
        serverCloseShared: true,
        onceUnwrapped: true,
        receiverEvents: true,
        extensionsShared: true,
        decoderOptions: true,
      });
      expect(pendingBytes(socket)).toBeGreaterThanOrEqual(0);
      const received: Quote[][] = [];
      client.on('ticks', (quotes) => received.push(quotes));
      const next = (seq: number): Quote => ({ ...quote, seq });
      // A frame written in one chunk keeps its place among the packets engine.io and ws write.
      expect(writeEncoded(socket, encoding.packet([encoding.part(quote)]))).toBe(true);
      socket.emit('ticks', [next(4)]);
      expect(writeEncoded(socket, encoding.packet([encoding.part(next(5))]))).toBe(true);
      await until(() => received.length === 3, 2000, 'the frames at the client');
      expect(received).toEqual([[quote], [next(4)], [next(5)]]);
    },
  );
});

// A full GC on demand, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('what a connection keeps', () => {
  it.each([['websocket'], ['polling', 'websocket']])(
    'lets go of every HTTP request once a %s client is connected',
    async (...transports) => {
      service = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false } });
      const svc = service;
      // engine.io emits 'headers' for each request it answers: the first poll or the upgrade, then the upgrade.
      const requests: WeakRef<IncomingMessage>[] = [];
      svc.io.engine.on('headers', (_headers: unknown, req: IncomingMessage) => requests.push(new WeakRef(req)));
      client = await connectTestClient(svc.url, { transports, upgrade: transports.length > 1 });
      const connected = client;
      await until(() => connected.io.engine.transport.name === 'websocket', 5000, 'the websocket transport');
      await until(() => requests.length >= transports.length, 2000, 'the requests seen');
      await until(
        () => {
          collectGarbage();
          return requests.every((ref) => ref.deref() === undefined);
        },
        5000,
        'every handshake and upgrade request collected',
      );
      // The connection still works: the server's listeners (copied tables) still fire.
      const ack = await connected.timeout(2000).emitWithAck('symbols', {});
      expect(ack).toMatchObject({ ok: true });
    },
  );

  it('keeps no upgrade response, no upgrade-only header and no spent listener once a websocket client is connected', async () => {
    service = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false } });
    const svc = service;
    // Registered after tickstream's own middleware, so it sees the same stand-in response.
    const responses: WeakRef<object>[] = [];
    svc.io.engine.use((_req: IncomingMessage, res: object, next: () => void) => {
      responses.push(new WeakRef(res));
      next();
    });
    client = await connectTestClient(svc.url);
    await until(() => svc.io.of('/').sockets.size === 1, 2000, 'the server-side socket');
    const [socket] = svc.io.of('/').sockets.values();
    if (!socket) throw new Error('no socket');
    // The handshake keeps what tells who connected, not how the upgrade went.
    expect(socket.handshake.headers.host).toBeDefined();
    expect(Object.keys(socket.handshake.headers)).not.toContain('sec-websocket-key');
    expect(Object.keys(socket.handshake.headers)).not.toContain('upgrade');
    const ws = (socket.conn as unknown as { transport: { socket: EventEmitter & { _socket: EventEmitter } } }).transport
      .socket;
    expect(ws.listeners('error').map((listener) => listener.name)).not.toContain('onUpgradeError');
    // The TCP socket's 'close': the drain's and ws' own, not the stand-in response's forwarding.
    expect(ws._socket.listenerCount('close')).toBe(2);
    await until(
      () => {
        collectGarbage();
        return responses.length === 1 && responses.every((ref) => ref.deref() === undefined);
      },
      5000,
      'the upgrade response collected',
    );
    // Still a working connection: requests are answered, and closing it frees everything.
    const ack = await client.timeout(2000).emitWithAck('symbols', {});
    expect(ack).toMatchObject({ ok: true });
    client.close();
    await until(() => svc.io.engine.clientsCount === 0, 5000, 'the connection gone');
  });

  it('counts a connection off the server once, when it closes, whatever else closes with it', async () => {
    service = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false } });
    const svc = service;
    const engine = svc.io.engine as unknown as { clients: Record<string, EventEmitter>; clientsCount: number };
    client = await connectTestClient(svc.url);
    const other = await connectTestClient(svc.url);
    try {
      await until(() => svc.io.of('/').sockets.size === 2, 2000, 'both server-side sockets');
      const [first] = svc.io.of('/').sockets.values();
      if (!first) throw new Error('no socket');
      const conn = first.conn as unknown as EventEmitter & { id: string };
      const disconnects: string[] = [];
      first.on('disconnect', (reason) => disconnects.push(reason));
      client.close();
      await until(() => engine.clientsCount === 1, 5000, 'the closed connection counted off');
      expect(Object.keys(engine.clients)).not.toContain(conn.id);
      // A 'close' heard again (engine.io's own listener was a once-listener) counts nothing off twice.
      conn.emit('close', 'transport close');
      expect(engine.clientsCount).toBe(1);
      expect(Object.keys(engine.clients)).toHaveLength(1);
      expect(disconnects).toEqual(['client namespace disconnect']);
      // The other connection still works.
      expect(await other.timeout(2000).emitWithAck('symbols', {})).toMatchObject({ ok: true });
    } finally {
      other.close();
    }
    await until(() => engine.clientsCount === 0, 5000, 'every connection counted off');
  });

  it('closes a websocket connection whose TCP socket is cut, once, from the transport up', async () => {
    service = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false } });
    const svc = service;
    client = await connectTestClient(svc.url);
    await until(() => svc.io.of('/').sockets.size === 1, 2000, 'the server-side socket');
    const [socket] = svc.io.of('/').sockets.values();
    if (!socket) throw new Error('no socket');
    const transport = (
      socket.conn as unknown as { transport: EventEmitter & { socket: { _socket: { destroy(): void } } } }
    ).transport;
    let transportCloses = 0;
    transport.on('close', () => transportCloses++);
    const disconnects: string[] = [];
    socket.on('disconnect', (reason) => disconnects.push(reason));
    transport.socket._socket.destroy();
    await until(() => disconnects.length === 1, 5000, 'the socket disconnected');
    await until(() => svc.io.engine.clientsCount === 0, 5000, 'the connection counted off');
    expect(disconnects).toEqual(['transport close']);
    expect(transportCloses).toBe(1);
  });
});
