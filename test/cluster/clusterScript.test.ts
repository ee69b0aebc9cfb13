import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { dropPrefix, freePort, REDIS_URL, redisAvailable, stopChild, uniquePrefix, waitFor } from './helpers.js';

const hasRedis = await redisAvailable();

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

/** The processes `pid` started, by role: what each runs (`ingest` or `gateway`) and its pid. */
function roles(pid: number): { role: string; pid: number }[] {
  if (!alive(pid)) return [];
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean);
  return children.flatMap((child) => {
    const args = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
    const role = args.find((arg) => arg === 'ingest' || arg === 'gateway');
    return role ? [{ role, pid: Number(child) }] : [];
  });
}

const answers = async (url: string) => (await fetch(url).catch(() => undefined))?.ok === true;

describe.skipIf(!hasRedis)('npm run cluster', () => {
  let script: ChildProcess | undefined;
  let prefix = '';
  afterEach(async () => {
    await stopChild(script, 'SIGINT');
    script = undefined;
    await dropPrefix(prefix);
  });

  it('starts a killed ingest again while the gateways keep running; Ctrl-C stops all', async () => {
    prefix = uniquePrefix();
    const [gatewayPort, ingestPort] = [await freePort(), await freePort()];
    script = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/cluster.ts', '--ports', String(gatewayPort), '--ingest-port', String(ingestPort)],
      {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          REDIS_URL,
          TICKSTREAM_CLUSTER__KEY_PREFIX: prefix,
          TICKSTREAM_LOG__LEVEL: 'warn',
          TICKSTREAM_SERVER__DASHBOARD: 'false',
        },
      },
    );
    let stderr = '';
    script.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const pid = script.pid as number;
    const ready = `http://127.0.0.1:${gatewayPort}/readyz`;
    await waitFor(
      () => answers(ready),
      30_000,
      () => `the gateway ready, got:\n${stderr}`,
    );
    const before = roles(pid);
    const ingest = before.find((r) => r.role === 'ingest')?.pid as number;
    const gateway = before.find((r) => r.role === 'gateway')?.pid as number;
    expect(ingest && gateway).toBeTruthy();

    process.kill(ingest, 'SIGKILL');
    await waitFor(
      () => roles(pid).some((r) => r.role === 'ingest' && r.pid !== ingest),
      10_000,
      () => `a new ingest, got:\n${stderr}`,
    );
    await waitFor(() => answers(`http://127.0.0.1:${ingestPort}/healthz`), 20_000, 'the new ingest answering');
    expect(stderr).toContain('cluster: ingest exited (SIGKILL); the others keep running, and it starts again in 1 s');
    // The gateway is the same process, and ready again with the new ingest.
    expect(alive(gateway)).toBe(true);
    await waitFor(() => answers(ready), 20_000, 'the gateway ready with the new ingest');

    const running = roles(pid).map((r) => r.pid);
    const exited = new Promise<number | null>((resolve) => script?.once('exit', (code) => resolve(code)));
    script.kill('SIGINT');
    expect(await exited).toBe(0);
    await waitFor(() => running.every((child) => !alive(child)), 10_000, 'every role stopped');
  });
});
