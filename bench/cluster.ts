/**
 * Delivered updates/s: one all-in-one process against one ingest + two gateways on Redis.
 *
 *   node --import tsx bench/cluster.ts [--mode both|all|cluster] [--clients 400] [--symbols 20] [--hz 4]
 *                                      [--seconds 20] [--publish subscribed|all]
 *
 * Clients are raw WebSockets speaking the Socket.IO protocol (much cheaper than socket.io-client, so the
 * load generator does not starve the servers on a small machine); each subscribes to `symbols` symbols at
 * `hz`. Counts every quote received during the measured window after a warm-up, plus Redis's commands/s and
 * CPU seconds over the same window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { SERVER_NODE_FLAGS } from '../src/cli/nodeFlags.js';
import { listings } from '../src/feeds/universe.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    clients: { type: 'string', default: '400' },
    symbols: { type: 'string', default: '20' },
    hz: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    publish: { type: 'string', default: 'subscribed' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const CLIENTS = Number(values.clients);
const SYMBOLS = Number(values.symbols);
const HZ = Number(values.hz);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const REDIS_URL = values.redis as string;
const FEED = '[{"type":"simulated","id":"sim","seed":42,"ticksPerSecond":2000,"offHoursFactor":1}]';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function start(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, 'bin/tickstream.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match?.[1]) resolve({ child, url: match[1] });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${output}`)));
  });
}

function common(port: number, prefix: string): string[] {
  return [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    '--set',
    'server.dashboard=false',
    '--set',
    `feeds=${FEED}`,
    '--set',
    `cluster.redisUrl=${REDIS_URL}`,
    '--set',
    `cluster.keyPrefix=${prefix}`,
    '--set',
    `cluster.publish=${values.publish}`,
    '--set',
    'limits.maxConnectionsPerIp=100000',
  ];
}

/** A raw Socket.IO v4 client: handshake, one subscribe, then it counts the quotes in `ticks` events. */
function rawClient(url: string, symbols: string[], counter: { quotes: number }): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('0')) ws.send('40');
      else if (text === '2') ws.send('3');
      else if (text.startsWith('40')) ws.send(`420${JSON.stringify(['subscribe', { symbols, maxHz: HZ }])}`);
      else if (text.startsWith('430')) resolve(ws);
      else if (text.startsWith('42["ticks"')) {
        let at = text.indexOf('"seq":');
        while (at !== -1) {
          counter.quotes++;
          at = text.indexOf('"seq":', at + 6);
        }
      }
    });
  });
}

async function redisStats(): Promise<{ commands: number; cpu: number }> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const info = await client.info();
  client.destroy();
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return { commands: field('total_commands_processed'), cpu: field('used_cpu_sys') + field('used_cpu_user') };
}

async function measure(mode: 'all' | 'cluster'): Promise<void> {
  const prefix = `tsbench:${randomUUID().slice(0, 8)}:`;
  const children: ChildProcess[] = [];
  let urls: string[];
  if (mode === 'all') {
    const all = await start(['serve', ...common(3201, prefix)], /serving on (http:\/\/\S+)/);
    children.push(all.child);
    urls = [all.url];
  } else {
    const ingest = await start(['ingest', ...common(3200, prefix)], /metrics on (http:\/\/\S+)\/metrics/);
    children.push(ingest.child);
    const gateways = await Promise.all(
      [3201, 3202].map((port) => start(['gateway', ...common(port, prefix)], /serving on (http:\/\/\S+)/)),
    );
    children.push(...gateways.map((g) => g.child));
    urls = gateways.map((g) => g.url);
    await sleep(2500); // gateways read the symbol directory from Redis
  }
  const universe = listings().map((l) => l.symbol);
  const counter = { quotes: 0 };
  const sockets: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const symbols = Array.from({ length: SYMBOLS }, (_, k) => universe[(i * 7 + k) % universe.length] as string);
    sockets.push(await rawClient(urls[i % urls.length] as string, symbols, counter));
  }
  await sleep(WARMUP * 1000);
  const before = { quotes: counter.quotes, at: performance.now(), redis: await redisStats() };
  await sleep(SECONDS * 1000);
  const after = { quotes: counter.quotes, at: performance.now(), redis: await redisStats() };
  const seconds = (after.at - before.at) / 1000;
  const rate = (after.quotes - before.quotes) / seconds;
  const expected = CLIENTS * SYMBOLS * HZ;
  console.log(
    `${mode.padEnd(8)} ${urls.length} gateway(s) ${CLIENTS} clients x ${SYMBOLS} symbols @ ${HZ} Hz: ` +
      `${rate.toFixed(0)} updates/s delivered (${((100 * rate) / expected).toFixed(1)}% of ${expected}); ` +
      `redis ${((after.redis.commands - before.redis.commands) / seconds).toFixed(0)} commands/s, ` +
      `${(((after.redis.cpu - before.redis.cpu) / seconds) * 100).toFixed(1)}% of a core`,
  );
  for (const ws of sockets) ws.terminate();
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.removeAllListeners('exit');
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
  if (keys.length) await client.del(keys);
  client.destroy();
}

const modes = values.mode === 'both' ? (['all', 'cluster'] as const) : [values.mode as 'all' | 'cluster'];
for (const mode of modes) await measure(mode);
