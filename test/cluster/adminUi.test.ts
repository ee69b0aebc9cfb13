import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { type GatewayNode, startGateway } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import { ADMIN_PASSWORD, ADMIN_PASSWORD_HASH, adminClient, adminLogin, tierRoomEvents } from '../helpers/adminUi.js';
import { until } from '../helpers/lifecycle.js';
import { connectTestClient } from '../helpers/service.js';
import { clusterTestConfig, dropPrefix, redisAvailable, uniquePrefix } from './helpers.js';

const hasRedis = await redisAvailable();
const silent = createLogger('silent');

describe.skipIf(!hasRedis)('Socket.IO Admin UI on cluster gateways', () => {
  const prefix = uniquePrefix();
  const nodes: { close(): Promise<void> }[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    for (const node of nodes.splice(0).reverse()) await node.close();
    await dropPrefix(prefix);
  });

  const adminUi = { passwordHash: ADMIN_PASSWORD_HASH };
  async function gateway(): Promise<GatewayNode> {
    const node = await startGateway({
      config: clusterTestConfig('gateway', prefix, {
        server: { host: '127.0.0.1', port: 0, dashboard: false, adminUi },
      }),
      logger: silent,
    });
    nodes.push(node);
    await node.link.ready();
    return node;
  }

  it('each gateway has its own admin namespace, login and server id, and shows its own clients', async () => {
    const ingest = await startIngest({ config: clusterTestConfig('ingest', prefix), logger: silent });
    nodes.push(ingest);
    const [a, b] = [await gateway(), await gateway()];
    const login = async (url: string) => {
      const admin = adminClient(url, { username: 'admin', password: ADMIN_PASSWORD });
      sockets.push(admin);
      const rooms = tierRoomEvents(admin);
      const serverIds = new Set<string>();
      admin.on('server_stats', (stats: { serverId: string }) => serverIds.add(stats.serverId));
      await adminLogin(admin);
      return { rooms, serverIds };
    };
    const refused = adminClient(a.url, { username: 'admin', password: 'wrong' });
    sockets.push(refused);
    await expect(adminLogin(refused)).rejects.toThrow('invalid credentials');
    const [onA, onB] = [await login(a.url), await login(b.url)];

    const viewer = await connectTestClient(b.url);
    sockets.push(viewer);
    const ticks: unknown[] = [];
    viewer.on('ticks', (quotes) => ticks.push(...quotes));
    await until(
      async () => (await viewer.emitWithAck('subscribe', { symbols: ['AAPL'], maxHz: 2 })).ok,
      10_000,
      'the gateway to know its symbols',
    );
    await until(() => onB.rooms.joined.includes('q:AAPL@2'), 5000, "gateway B's admin to see the room");
    await until(() => ticks.length > 0, 10_000, 'ticks through Redis to the viewer');
    expect(onA.rooms.joined).toEqual([]);
    await until(() => onA.serverIds.size > 0 && onB.serverIds.size > 0, 5000, 'server stats from both');
    expect([...onA.serverIds][0]).toMatch(new RegExp(`^gateway .+:${a.port}$`));
    expect([...onB.serverIds][0]).toMatch(new RegExp(`^gateway .+:${b.port}$`));
  });
});
