/** A `tickstream replay` server in its own process, for the replay benchmarks (bench/replayPacing.ts, bench/replayDay.ts). */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { REPLAY_NODE_FLAGS } from '../src/cli/nodeFlags.js';
import { PROJECT_ROOT } from '../src/config/load.js';

export type ReplayServerOptions = {
  files: string[];
  /** tickstream replay's flags after the files (--speed...). */
  args: string[];
  /** V8 flags instead of the replay's own (REPLAY_NODE_FLAGS: with them it does not start itself again). */
  nodeFlags?: string[];
  traceGc?: boolean;
  /** The tickstream to run (default this checkout's). */
  bin?: string;
};

export type ReplayServer = {
  child: ChildProcess;
  url: string;
  /** GC pauses (ms) the server's --trace-gc printed so far. */
  gcPauses: number[];
  stop(): Promise<void>;
};

export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const args = [
    ...(options.nodeFlags ?? REPLAY_NODE_FLAGS),
    ...(options.traceGc ? ['--trace-gc'] : []),
    resolve(options.bin ?? resolve(PROJECT_ROOT, 'bin/tickstream.js')),
    'replay',
    ...options.files,
    ...options.args,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'warn',
    '--set',
    'server.dashboard=false',
    '--set',
    'server.transports=["websocket"]',
  ];
  // The process measured is the server: with other flags than its own it must not start itself again.
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REPLAY_V8_RELAUNCH: '0' },
  });
  const gcPauses: number[] = [];
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += String(chunk);
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    // --trace-gc: "... Scavenge 10.2 (12.0) -> 9.8 (13.0) MB, 1.23 / 0.00 ms ..."; the first figure is the pause.
    for (const line of lines) {
      const pause = /MB, ([\d.]+) \/ [\d.]+ ms/.exec(line)?.[1];
      if (pause) gcPauses.push(Number(pause));
      if (pause && Number(pause) > 5 && process.env.BENCH_GC_LINES) console.error(line.slice(0, 160));
    }
  });
  let err = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the replay did not start in 10 min:\n${err}`)), 600_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += String(chunk);
      const found = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1];
      if (found) {
        clearTimeout(timer);
        done(found);
      }
    });
    child.once('exit', (code) => fail(new Error(`the replay exited (${code}):\n${err}`)));
  });
  return {
    child,
    url,
    gcPauses,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGINT');
      await exited;
    },
  };
}
