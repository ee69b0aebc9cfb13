import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { announce, serverArgs, statsServer } from './args.js';
import type { BenchServerStats } from './simSource.js';
import { runSimSource } from './simSource.js';

/**
 * What most tutorials write: a room per symbol and `io.to(symbol).emit('tick', quote)` for every tick,
 * no conflation, no batching. Same simulator, same Socket.IO version, websocket only.
 */
const args = serverArgs(process.argv.slice(2));
const stats: BenchServerStats = { sent: 0, ticks: 0 };
const http = statsServer(stats);
const io = new Server(http, { transports: ['websocket'], serveClient: false });
const rooms = io.of('/').adapter.rooms;

io.on('connection', (socket) => {
  socket.on('subscribe', (request: { symbols?: unknown }, ack?: (r: unknown) => void) => {
    const symbols = Array.isArray(request?.symbols) ? request.symbols.filter((s) => typeof s === 'string') : [];
    socket.join(symbols);
    ack?.({ ok: true, subscribed: symbols });
  });
});

runSimSource(args, (quote) => {
  stats.ticks += 1;
  const members = rooms.get(quote.symbol)?.size ?? 0;
  if (members === 0) return;
  stats.sent += members;
  io.to(quote.symbol).emit('tick', quote);
});

http.listen(args.port, '127.0.0.1', () => announce((http.address() as AddressInfo).port));
