/**
 * `npm run bench:frame-write`: what one frame write costs the server, by way of writing. The same frames go
 * to the same loopback sockets (read by a child process) in lane-sized bursts, alternately
 * - as ws' sender writes them (`sendFrame([header, payload])`: cork, two writes, uncork, one writev), as
 *   tickstream did before, and
 * - as tickstream writes them now (`writeEncoded`: the whole frame in one chunk, one write),
 * and the process's own user and system CPU per frame are compared round by round. A third of each burst's
 * sockets share one frame (a default watchlist), the rest get one each, as in the realistic workload.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { type EncodedQuote, jsonTicks, wsFrameHeader } from '../src/delivery/ticksFrame.js';
import { median } from './median.js';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '6' },
    reader: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    `npm run bench:frame-write -- [--sockets N (2000)] [--rounds N (3)] [--seconds S (6, per way per round)]`,
  );
  process.exit(0);
}

type Way = 'ws sender' | 'one chunk';
/** ws' Sender method that writes a frame already made (not in its typings). */
type WsSender = { sendFrame(list: (Buffer | string)[]): void };
/** ws exports its Sender class at run time; its typings do not. */
const { Sender } = createRequire(import.meta.url)('ws') as { Sender: new (socket: net.Socket) => WsSender };

if (values.reader) {
  // The child: open the sockets and read whatever comes.
  const [port, count] = values.reader.split(':').map(Number) as [number, number];
  let open = 0;
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (++open === count) process.send?.('ready');
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
  }
} else {
  await main();
}

async function main(): Promise<void> {
  const count = Number(values.sockets);
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const reader = fork(new URL(import.meta.url).pathname, ['--reader', `${port}:${count}`], {
    execArgv: process.execArgv,
  });
  const deadline = Date.now() + 60_000;
  await new Promise<void>((resolve, reject) => {
    reader.on('message', (m) => m === 'ready' && resolve());
    reader.on('exit', (code) => reject(new Error(`the reader exited (${code}) before its sockets opened`)));
  });
  while (sockets.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${sockets.length} of ${count} sockets accepted in 60 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }

  // 100 sets of 15 quotes' parts, as tier delivery caches them: a frame is made from a set per socket.
  const sets: EncodedQuote[][] = Array.from({ length: 100 }, (_, s) =>
    Array.from({ length: 15 }, (_, i) =>
      jsonTicks.part({ symbol: `S${s}X${i}`, price: 100 + i / 7, ts: Date.now(), epoch: 1, seq: s * 15 + i }),
    ),
  );
  let next = 0;
  const packet = () => jsonTicks.packet(sets[next++ % sets.length] as EncodedQuote[]);
  const senders = new Map(sockets.map((socket) => [socket, new Sender(socket)]));
  type Packet = ReturnType<typeof packet>;
  // Each way makes its frame once per packet (as tier delivery did and does), then writes it per socket.
  const ways: Record<Way, (p: Packet) => (socket: net.Socket) => void> = {
    'ws sender': (p) => {
      const payload = `4${p.message}`;
      const frame: [Buffer, string] = [wsFrameHeader(0x1, Buffer.byteLength(payload)), payload];
      return (socket) => senders.get(socket)?.sendFrame(frame);
    },
    'one chunk': (p) => {
      const frame = p.wsFrame();
      return typeof frame === 'string' ? (socket) => socket.write(frame, 'latin1') : (socket) => socket.write(frame);
    },
  };

  const shared = Math.floor(count / 3);
  async function measure(way: Way) {
    const before = process.cpuUsage();
    const start = Date.now();
    let frames = 0;
    while (Date.now() - start < seconds * 1000) {
      const burst = Date.now();
      const common = ways[way](packet());
      for (let i = 0; i < count; i++) (i < shared ? common : ways[way](packet()))(sockets[i] as net.Socket);
      frames += count;
      // 16 bursts a second: 4 lanes at 4 Hz.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 62.5 - (Date.now() - burst))));
    }
    const used = process.cpuUsage(before);
    return { way, user: used.user / frames, system: used.system / frames };
  }

  const rows: { round: number; way: Way; user: number; system: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const way of ['ws sender', 'one chunk'] as const) {
      const row = { round, ...(await measure(way)) };
      rows.push(row);
      console.log(
        `round ${round}, ${way}: ${row.user.toFixed(2)} us user + ${row.system.toFixed(2)} us system per frame`,
      );
    }
  }
  const total = (way: Way) => median(rows.filter((r) => r.way === way).map((r) => r.user + r.system));
  const user = (way: Way) => median(rows.filter((r) => r.way === way).map((r) => r.user));
  console.log(
    `\nmedians, ${count} sockets: ws sender ${total('ws sender').toFixed(2)} us per frame (user ${user('ws sender').toFixed(2)}), ` +
      `one chunk ${total('one chunk').toFixed(2)} us (user ${user('one chunk').toFixed(2)}): ` +
      `${(total('one chunk') / total('ws sender')).toFixed(2)}x`,
  );
  reader.kill();
  for (const socket of sockets) socket.destroy();
  server.close();
}
