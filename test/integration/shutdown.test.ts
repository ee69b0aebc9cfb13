import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket as NetSocket } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Status } from '../../src/protocol.js';
import { untilDefined } from '../helpers/lifecycle.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

const ROOT = resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
const clients: TestClient[] = [];
const raws: WebSocket[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const r of raws.splice(0)) r.terminate();
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

type Spawned = { child: ChildProcess; exit: Promise<number | null>; output: () => string };

function spawnNode(args: string[]): Spawned {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += String(d);
  });
  child.stderr?.on('data', (d) => {
    output += String(d);
  });
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, exit, output: () => output };
}

async function serve(): Promise<Spawned & { url: string }> {
  const spawned = spawnNode([
    'bin/tickstream.js',
    'serve',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    '--set',
    'server.dashboard=false',
  ]);
  const serving = () => /serving on (http:\/\/[^\s]+) /.exec(spawned.output())?.[1];
  const url = await untilDefined(
    () => {
      if (spawned.child.exitCode !== null) throw new Error(`serve exited before serving:\n${spawned.output()}`);
      return serving();
    },
    20_000,
    () => `serve to start; output so far:\n${spawned.output()}`,
    50,
  );
  return { ...spawned, url };
}

describe('graceful shutdown', () => {
  it('on SIGTERM tells clients, closes them with "io server disconnect" and exits 0, even with a stalled reader', async () => {
    const server = await serve();
    const client = await connectTestClient(server.url);
    clients.push(client);
    const ack = await client.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL', 'MSFT'], maxHz: 20 });
    expect(ack.ok).toBe(true);
    const statuses: Status[] = [];
    client.on('status', (s) => statuses.push(s));
    const reason = new Promise<string>((done) => client.once('disconnect', done));

    // A reader that stopped reading must not hold the shutdown up.
    const stalled = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    raws.push(stalled);
    await new Promise<void>((done) => {
      stalled.on('message', (d) => {
        if (String(d).startsWith('40')) done();
      });
      stalled.once('open', () => stalled.send('40'));
    });
    stalled.send('420["subscribe",{"symbols":["AAPL","MSFT","NVDA"],"maxHz":20}]');
    (stalled as unknown as { _socket: NetSocket })._socket.pause();

    const started = Date.now();
    server.child.kill('SIGTERM');
    expect(await reason).toBe('io server disconnect');
    expect(statuses.at(-1)?.closing).toEqual({ code: 'SHUTDOWN', message: expect.any(String) });
    expect(await server.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
  }, 40_000);
});

describe('closing the edge', () => {
  it('refuses new connections while the open ones drain: a client told to go cannot get back in', async () => {
    const service = await startTestService();
    const wsUrl = `${service.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
    // A reader that stopped reading holds the drain open (up to its timeout): the window a reconnect could use.
    const stalled = new WebSocket(wsUrl);
    raws.push(stalled);
    await new Promise<void>((done) => {
      stalled.on('message', (d) => {
        if (String(d).startsWith('40')) done();
      });
      stalled.once('open', () => stalled.send('40'));
    });
    (stalled as unknown as { _socket: NetSocket })._socket.pause();
    const closed = service.close();
    const port = Number(new URL(service.url).port);
    const attempt = await new Promise<string>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done('accepted');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    });
    expect(attempt).toBe('ECONNREFUSED');
    await closed;
  }, 20_000);
});

describe('closing the edge over long-polling', () => {
  // Found by a client written from the protocol: a polling client got the SHUTDOWN status, then its next
  // poll found the port closed, so it saw "transport error" (and reconnected) instead of "io server disconnect".
  it('tells a polling client and disconnects it with "io server disconnect", as a websocket one', async () => {
    const service = await startTestService();
    const polling = await connectTestClient(service.url, { transports: ['polling'], upgrade: false });
    clients.push(polling);
    expect(await polling.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL'], maxHz: 4 })).toMatchObject({
      ok: true,
    });
    const statuses: Status[] = [];
    polling.on('status', (s) => statuses.push(s));
    const reason = new Promise<string>((done) => polling.once('disconnect', done));
    await service.close();
    expect(await reason).toBe('io server disconnect');
    expect(statuses.at(-1)?.closing).toEqual({ code: 'SHUTDOWN', message: expect.any(String) });
  }, 20_000);

  it('refuses a new handshake, and counts it, while a polling client that stopped polling holds the port open', async () => {
    const service = await startTestService();
    const polling = `${service.url}/socket.io/?EIO=4&transport=polling`;
    // A polling client at the wire level: its handshake and namespace connect, then no poll for its last packets.
    const open = await (await fetch(polling)).text();
    const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    expect(await (await fetch(`${polling}&sid=${sid}`, { method: 'POST', body: '40' })).text()).toBe('ok');
    const closed = service.close();
    const refused = await fetch(polling);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ message: 'the server is shutting down' });
    const counted = (await service.metrics.connectionsRefused.get()).values;
    expect(counted.find((v) => v.labels.reason === 'shutdown')?.value).toBe(1);
    await closed;
  }, 20_000);
});

describe('process guards', () => {
  it('log and count a stray rejection and exception, keep running, and still exit cleanly', async () => {
    const script = `
      import { guardProcess } from './src/cli/runNode.ts';
      import { createLogger } from './src/log.ts';
      import { Metrics } from './src/metrics.ts';
      const metrics = new Metrics();
      const remove = guardProcess(createLogger('error'), metrics);
      Promise.reject(new Error('stray rejection'));
      // The report is queued by the throwing timer itself: it runs once the exception has been handled.
      setTimeout(() => {
        setTimeout(report, 0);
        throw new Error('stray exception');
      }, 10);
      async function report() {
        const text = await metrics.render();
        console.log(text.split('\\n').filter((l) => l.startsWith('tickstream_process_errors_total')).join('\\n'));
        remove();
        metrics.close();
      }
    `;
    const run = spawnNode(['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(await run.exit).toBe(0);
    const output = run.output();
    expect(output).toContain('tickstream_process_errors_total{kind="unhandled_rejection"} 1');
    expect(output).toContain('tickstream_process_errors_total{kind="uncaught_exception"} 1');
    // Visible, with their stacks, in the logs.
    expect(output).toContain('stray rejection');
    expect(output).toContain('stray exception');
  }, 30_000);

  it('exit 1 on a storm of errors rather than limping on', async () => {
    const script = `
      import { guardProcess } from './src/cli/runNode.ts';
      import { createLogger } from './src/log.ts';
      import { Metrics } from './src/metrics.ts';
      guardProcess(createLogger('fatal'), new Metrics());
      for (let i = 0; i < 60; i++) Promise.reject(new Error('again'));
      setInterval(() => {}, 1000);
    `;
    const run = spawnNode(['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain('too many process-level errors');
  }, 30_000);
});
