import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { redisAnswers } from '../../src/cluster/redisLink.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import { freePort, until } from '../helpers/lifecycle.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

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
  redis: string | string[] = REDIS_URL,
): Config {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0, dashboard: false },
    feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 2000, offHoursFactor: 1 }],
    log: { level: 'silent' },
    cluster: {
      role,
      redis,
      keyPrefix: prefix,
      demandPollMs: 200,
      statusTtlMs: 1000,
      reconnect: { initialMs: 50, maxMs: 500 },
    },
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

/** Deletes every key of a test prefix, on a single Redis or on every node of a Redis Cluster. */
export async function dropPrefix(prefix: string, redis: string | string[] = REDIS_URL): Promise<void> {
  for (const url of typeof redis === 'string' ? [redis] : redis) {
    const client = await rawRedis(url);
    try {
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
      // One at a time: on a cluster node, a multi-key DEL must not span slots.
      for (const key of keys) await client.del(key).catch(() => 0);
    } finally {
      client.destroy();
    }
  }
}

export type LocalRedisCluster = { nodes: string[]; stop(): Promise<void> };

/**
 * A throwaway 3-master Redis Cluster on free loopback ports (no persistence, no replicas), as
 * `redis-server --cluster-enabled yes` and `redis-cli --cluster create` make one; `stop()` ends the nodes and
 * removes their files.
 */
export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await freePort();
    // The cluster bus listens on port + 10000: both must be free.
    if (port < 55_000 && !ports.includes(port) && (await portFree(port + 10_000))) ports.push(port);
  }
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
  const nodes = ports.map((port) => `redis://127.0.0.1:${port}`);
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const url of nodes) await waitFor(() => redisAnswers(url), 10_000, `cluster node ${url}`);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitFor(
      async () => {
        for (const url of nodes) {
          const client = await rawRedis(url);
          try {
            if (!String(await client.sendCommand(['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return false;
          } finally {
            client.destroy();
          }
        }
        return true;
      },
      20_000,
      'the Redis Cluster to be ok on every node',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, stop };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export { freePort };

/** lifecycle's `until`, polling every 50 ms (processes and Redis answer slower than in-process checks). */
export const waitFor = (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)) =>
  until(check, timeoutMs, what, 50);

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

/**
 * Flags of a role process in the tests: on loopback (`port`, 0 unless given), warnings only, no dashboard (a
 * stale web/dist would be built first), `redis` (the test Redis unless given) under a key prefix of its own, and
 * `settings` as more `--set PATH=VALUE`.
 */
export function roleFlags(
  prefix: string,
  options: { port?: number; redis?: string; settings?: string[] } = {},
): string[] {
  const settings = [
    'server.dashboard=false',
    `cluster.redis=${options.redis ?? REDIS_URL}`,
    `cluster.keyPrefix=${prefix}`,
    ...(options.settings ?? []),
  ];
  return [
    ...['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--log-level', 'warn'],
    ...settings.flatMap((setting) => ['--set', setting]),
  ];
}

/** A busy simulated feed for role processes (1,000 ticks a second, trading hours or not). */
export const BUSY_SIM_FEED =
  'feeds=[{"type":"simulated","id":"sim","seed":7,"ticksPerSecond":1000,"offHoursFactor":1}]';

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
