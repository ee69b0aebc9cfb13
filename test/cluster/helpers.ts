import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { redisAnswers } from '../../src/cluster/redisLink.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';

export const REDIS_URL = process.env.TICKSTREAM_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Whether the shared test Redis answers; CI must have it, so a missing Redis only skips outside CI. */
export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  if (await redisAnswers(url)) return true;
  if (process.env.CI) throw new Error(`cluster tests need Redis at ${url} (CI is set, so they do not skip)`);
  console.warn(`cluster tests skipped: no Redis at ${url} (start one, or set CI to make this an error)`);
  return false;
}

/** A key prefix of its own per test, so parallel runs on one Redis never see each other. */
export function uniquePrefix(): string {
  return `tstest:${randomUUID().slice(0, 8)}:`;
}

/** A cluster config for tests: loopback, ephemeral port, silent, fast polling. */
export function clusterTestConfig(
  role: 'ingest' | 'gateway',
  prefix: string,
  overrides: Partial<ConfigInput> = {},
  redisUrl = REDIS_URL,
): Config {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0, dashboard: false },
    feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 2000, offHoursFactor: 1 }],
    log: { level: 'silent' },
    cluster: { role, redisUrl, keyPrefix: prefix, demandPollMs: 200, reconnect: { initialMs: 50, maxMs: 500 } },
    ...overrides,
  });
}

/** A raw Redis client for assertions (its own connection). */
export async function rawRedis(url = REDIS_URL) {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Deletes every key of a test prefix. */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = await rawRedis(url);
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
    if (keys.length) await client.del(keys);
  } finally {
    client.destroy();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A throwaway redis-server on `port` (no persistence), for fault tests. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(() => redisAnswers(url), 10_000, `redis-server on ${port}`);
  return child;
}

export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs `node bin/tickstream.js <args>` and resolves once it printed its URL. */
export async function spawnTickstream(
  args: string[],
  pattern: RegExp,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['bin/tickstream.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: process.env.CI ?? '' },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL from tickstream ${args[0]}:\n${output}`)), 20_000);
    const onData = () => {
      const match = pattern.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tickstream ${args[0]} exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}
