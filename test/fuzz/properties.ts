/**
 * Fuzz properties shared by the test suite (test/fuzz/*.test.ts, a few thousand cases) and `npm run fuzz`
 * (scripts/fuzz.ts, as many as asked). Plain node:assert, so they run outside vitest too.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { io as ioClient, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { decodeUpstreamText, UPSTREAM_FORMATS } from '../../src/feeds/sseFormats.js';
import { VENDOR_FORMATS, vendorCodec } from '../../src/feeds/vendors/index.js';
import { validateQuote } from '../../src/pipeline/normalizeQuote.js';
import { ERROR_CODES, SYMBOL_PATTERN } from '../../src/protocol.js';

export type FuzzOptions = { numRuns: number; seed?: number };

const KNOWN_EVENTS = ['subscribe', 'unsubscribe', 'symbols', 'replay'] as const;
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const PROTOCOL_KEYS = ['symbols', 'maxHz', 'action', 'speed', 'position'];

/** Values that look almost right: the protocol's own keys, nasty keys, odd numbers, long and odd strings. */
const nearMiss: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('AAPL', 'msft', ' nvda ', 'BRK.B', '', 'pause', 'resume', 'speed', 'seek', 'max'),
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.double(),
    fc.integer(),
    fc.constantFrom(0, -1, 1e308, Number.MAX_SAFE_INTEGER, 0.5, 50, 1000),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc
      .array(fc.tuple(fc.constantFrom(...PROTOCOL_KEYS, ...NASTY_KEYS, 'x'), tie('value')), { maxLength: 4 })
      .map((entries) => {
        // JSON.parse on the server gives `__proto__` as an own key; build it the same way here.
        const object: Record<string, unknown> = {};
        for (const [key, value] of entries)
          Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
        return object;
      }),
  ),
})).value;

const payload = fc.oneof(nearMiss, fc.anything({ maxDepth: 3, withNullPrototype: true }));

/** `depth` nested arrays or objects: parsers and validators must not recurse into a stack overflow. */
export function deeplyNested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 'AAPL';
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { symbols: value };
  return value;
}

type AnySocket = Socket & { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };

function connect(url: string): Promise<AnySocket> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false }) as AnySocket;
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function assertAck(response: unknown): void {
  assert.ok(response !== null && typeof response === 'object', 'ack is an object');
  const ack = response as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof ack.ok, 'boolean', 'ack has ok');
  if (ack.ok === false) {
    assert.ok(ERROR_CODES.includes(ack.error?.code as never), `known error code, got ${String(ack.error?.code)}`);
    assert.equal(typeof ack.error?.message, 'string');
  }
}

/** The server answers a valid subscribe: the check after each batch that it still serves. */
export async function assertServes(url: string): Promise<void> {
  const socket = await connect(url);
  try {
    const ack = (await socket.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL'] })) as {
      ok: boolean;
      subscribed?: string[];
    };
    assert.equal(ack.ok, true);
    assert.deepEqual(ack.subscribed, ['AAPL']);
  } finally {
    socket.close();
  }
}

/**
 * Every client event, known or not, with 0..4 arbitrary arguments before the ack: known events always get a
 * well-formed ack (ok, or an error with a protocol code), unknown ones are ignored, and the connection holds.
 * Requires a server whose request rate limit will not be hit (else every answer is RATE_LIMITED).
 */
export async function fuzzClientEvents(url: string, options: FuzzOptions): Promise<void> {
  const socket = await connect(url);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...KNOWN_EVENTS) },
          { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...NASTY_KEYS)) },
        ),
        fc.array(payload, { maxLength: 4 }),
        fc.boolean(),
        async (event, args, withAck) => {
          const known = (KNOWN_EVENTS as readonly string[]).includes(event);
          if (known && withAck) {
            assertAck(await socket.timeout(5000).emitWithAck(event, ...args));
          } else if (
            !['connect', 'disconnect', 'connect_error', 'disconnecting', 'newListener', 'removeListener'].includes(
              event,
            )
          ) {
            socket.emit(event, ...args);
          }
          assert.ok(socket.connected, 'the connection survives any payload');
        },
      ),
      { numRuns: options.numRuns, seed: options.seed, endOnFailure: true },
    );
  } finally {
    socket.close();
  }
}

/** Payloads at the edges: huge strings, deep nesting, prototype keys, as raw JSON the client would not make. */
export async function fuzzEdgePayloads(url: string, maxBytes: number): Promise<void> {
  const socket = await connect(url);
  try {
    const huge = 'A'.repeat(Math.floor(maxBytes / 2));
    const cases: unknown[] = [
      { symbols: [huge] },
      { symbols: Array.from({ length: 2000 }, () => 'AAPL') },
      { symbols: ['AAPL'], maxHz: huge },
      deeplyNested(1000, 'array'),
      deeplyNested(1000, 'object'),
      { symbols: deeplyNested(1000, 'array') },
      JSON.parse('{"__proto__":{"admin":true,"ok":true},"symbols":["AAPL"]}'),
      JSON.parse('{"constructor":{"prototype":{"admin":true}},"symbols":["AAPL"]}'),
      { action: 'seek', position: huge },
    ];
    for (const event of KNOWN_EVENTS) {
      for (const value of cases) assertAck(await socket.timeout(5000).emitWithAck(event, value));
    }
    assert.equal(({} as { admin?: unknown }).admin, undefined, 'no prototype pollution');
  } finally {
    socket.close();
  }
}

/**
 * Raw Engine.IO frames, most of them broken (bad packet types, bad JSON, binary placeholders, huge ids):
 * a broken frame may close that connection and nothing else. After each frame a valid `symbols` request
 * probes the connection: it is answered, or the server closed the connection, or (a frame left it waiting,
 * e.g. for binary attachments) it is replaced.
 */
export async function fuzzRawFrames(url: string, options: FuzzOptions): Promise<{ answered: number; closed: number }> {
  const wsUrl = `${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
  let ws: WebSocket | undefined;
  let answered = 0;
  let closed = 0;
  let probeId = 0;
  const open = async () => {
    const next = new WebSocket(wsUrl);
    await new Promise<void>((resolve, reject) => {
      next.on('message', (data) => {
        const frame = String(data);
        if (frame === '2') next.send('3');
        if (frame.startsWith('40')) resolve();
      });
      next.once('open', () => next.send('40'));
      next.once('error', reject);
    });
    return next;
  };
  const probe = (socket: WebSocket) =>
    new Promise<'answered' | 'closed' | 'silent'>((resolve) => {
      const id = 1_000_000 + probeId++;
      const onMessage = (data: unknown) => {
        if (String(data).startsWith(`43${id}[`)) done('answered');
      };
      const onClose = () => done('closed');
      const timer = setTimeout(() => done('silent'), 500);
      const done = (outcome: 'answered' | 'closed' | 'silent') => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        socket.off('close', onClose);
        resolve(outcome);
      };
      socket.on('message', onMessage);
      socket.once('close', onClose);
      if (socket.readyState === WebSocket.OPEN) socket.send(`42${id}["symbols",{}]`);
      else done('closed');
    });
  const frame = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc
      .tuple(
        fc.constantFrom('4', '42', '420', '43', '45', '451-', '40', '44', '46', '4299999999999', '6', '1'),
        payload,
      )
      .map(([prefix, value]) => `${prefix}${JSON.stringify(value) ?? ''}`),
    fc
      .tuple(fc.constantFrom(...KNOWN_EVENTS, 'x'), fc.array(payload, { maxLength: 3 }))
      .map(([event, args]) => `421${JSON.stringify([event, ...args])}`),
    fc.constantFrom('42["subscribe",{"_placeholder":true,"num":0}]', '451-["subscribe",{"_placeholder":true,"num":9}]'),
  );
  try {
    await fc.assert(
      fc.asyncProperty(frame, async (text) => {
        if (!ws || ws.readyState !== WebSocket.OPEN) ws = await open();
        ws.send(text);
        const outcome = await probe(ws);
        if (outcome === 'answered') answered++;
        else if (outcome === 'closed') closed++;
        else {
          ws.terminate();
          ws = undefined;
        }
      }),
      { numRuns: options.numRuns, seed: options.seed, endOnFailure: true },
    );
  } finally {
    ws?.terminate();
  }
  return { answered, closed };
}

/** Upstream parsers: any text or value in, never a throw out, and what validateQuote accepts is a Quote. */
export function fuzzUpstreamParsers(options: FuzzOptions): void {
  const checkCandidate = (candidate: unknown) => {
    const quote = validateQuote(candidate, () => {});
    if (!quote) return;
    assert.ok(SYMBOL_PATTERN.test(quote.symbol), 'valid symbol');
    assert.ok(Number.isFinite(quote.price) && quote.price > 0, 'positive finite price');
    assert.ok(Number.isFinite(quote.ts) && quote.ts > 0, 'positive finite ts');
    for (const field of ['bid', 'ask', 'open', 'high', 'low', 'prevClose'] as const) {
      const v = quote[field];
      assert.ok(v === undefined || (Number.isFinite(v) && v > 0), `${field} positive`);
    }
  };
  const quoteLike = fc.record(
    {
      symbol: fc.oneof(fc.constantFrom('AAPL', 'brk.b', ' x ', ''), fc.string({ maxLength: 25 }), payload),
      price: fc.oneof(fc.double(), payload),
      ts: fc.oneof(fc.integer({ min: -1, max: 2e12 }), fc.double(), payload),
      bid: fc.oneof(fc.double(), payload),
      size: fc.oneof(fc.double(), payload),
      source: payload,
    },
    { requiredKeys: [] },
  );
  const text = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.oneof(quoteLike, fc.array(quoteLike, { maxLength: 3 }), payload).map((v) => JSON.stringify(v) ?? 'null'),
  );
  fc.assert(
    fc.property(fc.oneof(quoteLike, payload), (value) => checkCandidate(value)),
    { numRuns: options.numRuns, seed: options.seed },
  );
  fc.assert(
    fc.property(fc.constantFrom(...UPSTREAM_FORMATS), text, (format, body) => {
      for (const candidate of decodeUpstreamText(format, body)) checkCandidate(candidate);
    }),
    { numRuns: options.numRuns, seed: options.seed },
  );
  fc.assert(
    fc.property(fc.constantFrom(...VENDOR_FORMATS), text, (format, body) => {
      const events = vendorCodec(format).decode(body);
      assert.ok(Array.isArray(events));
      for (const event of events) {
        if (event.kind === 'tick') checkCandidate(event.tick);
      }
    }),
    { numRuns: options.numRuns, seed: options.seed },
  );
}
