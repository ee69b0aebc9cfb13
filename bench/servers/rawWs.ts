import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Quote } from '../../src/protocol.js';
import { announce, serverArgs, statsServer } from './args.js';
import { type BenchServerStats, runSimSource } from './simSource.js';

/**
 * The practical upper bound for Node with the same delivery semantics as tickstream (per symbol at most
 * `hz`, the newest value within one interval): plain `ws`, no Socket.IO/engine.io framing, one timer per
 * interval, each dirty symbol serialized once, one pre-joined JSON array frame per socket per interval.
 * Protocol: the client sends `{"subscribe":[...symbols]}`, the server answers `{"ok":true}`, then frames are
 * `[quote, ...]`.
 */
const args = serverArgs(process.argv.slice(2));
const stats: BenchServerStats = { sent: 0, ticks: 0 };
const http = statsServer(stats);
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
const subscribers = new Map<string, Set<WebSocket>>();
const latest = new Map<string, Quote>();

wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.on('message', (data) => {
    try {
      const request = JSON.parse(String(data)) as { subscribe?: unknown };
      if (!Array.isArray(request.subscribe)) throw new Error('expected {"subscribe":[...]}');
      for (const symbol of request.subscribe) {
        if (typeof symbol !== 'string') continue;
        mine.add(symbol);
        const set = subscribers.get(symbol) ?? new Set<WebSocket>();
        subscribers.set(symbol, set);
        set.add(ws);
      }
      ws.send('{"ok":true}');
    } catch (err) {
      ws.send(JSON.stringify({ ok: false, error: (err as Error).message }));
    }
  });
  ws.on('close', () => {
    for (const symbol of mine) subscribers.get(symbol)?.delete(ws);
  });
});

runSimSource(args, (quote) => {
  stats.ticks += 1;
  latest.set(quote.symbol, quote);
});

const pending = new Map<WebSocket, string[]>();
setInterval(() => {
  for (const [symbol, quote] of latest) {
    const set = subscribers.get(symbol);
    if (!set || set.size === 0) continue;
    const json = JSON.stringify(quote);
    for (const ws of set) {
      const parts = pending.get(ws);
      if (parts) parts.push(json);
      else pending.set(ws, [json]);
    }
  }
  latest.clear();
  for (const [ws, parts] of pending) {
    stats.sent += parts.length;
    ws.send(`[${parts.join(',')}]`);
  }
  pending.clear();
}, 1000 / args.hz);

http.listen(args.port, '127.0.0.1', () => announce((http.address() as AddressInfo).port));
