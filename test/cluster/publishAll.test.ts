import type { ChildProcess } from 'node:child_process';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/cluster/redisLink.js';
import { createLogger } from '../../src/log.js';
import {
  clusterTestConfig,
  freePort,
  redisAvailable,
  startRedisServer,
  stopChild,
  uniquePrefix,
  waitFor,
} from './helpers.js';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('RedisLink.publishAll on a single Redis', () => {
  let server: ChildProcess | undefined;
  let link: RedisLink | undefined;
  const clients: { destroy(): void }[] = [];
  afterEach(async () => {
    await link?.close();
    link = undefined;
    for (const client of clients.splice(0)) client.destroy();
    await stopChild(server);
    server = undefined;
  });

  // Found in review: any error reply but NOSCRIPT switched the script off for the process's life, so a Redis
  // busy for a moment (BUSY, LOADING) left the ingest publishing one command a quote for good.
  it('keeps its script through a busy Redis: BUSY fails that call only, it is no refusal of scripts', async () => {
    const port = await freePort();
    server = await startRedisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    const admin = createClient({ url });
    clients.push(admin);
    await admin.connect();
    await admin.configSet('busy-reply-threshold', '50');
    link = RedisLink.open(clusterTestConfig('ingest', uniquePrefix(), {}, url).cluster, createLogger('silent'));
    await link.ready();
    const messages = [
      ['ch:a', '1'],
      ['ch:b', '2'],
    ] as const;
    expect(await link.publishAll(messages)).toEqual({ published: 2, failed: 0 });

    const busy = createClient({ url });
    clients.push(busy);
    await busy.connect();
    const spinning = busy.eval('while true do end').catch(() => undefined);
    const current = link;
    await waitFor(async () => (await current.publishAll(messages)).failed === 2, 5000, 'a call refused as BUSY');
    await admin.scriptKill();
    await spinning;

    const evals = async () => Number(/cmdstat_eval:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const before = await evals();
    expect(await link.publishAll(messages)).toEqual({ published: 2, failed: 0 });
    expect(await evals()).toBe(before + 1);
  });
});
