import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runTickstream } from '../helpers/cli.js';
import { within } from '../helpers/lifecycle.js';
import { dropPrefix, redisAvailable, roleFlags, uniquePrefix } from './helpers.js';

const hasRedis = await redisAvailable();

/** A listener on 127.0.0.1 that holds a port, so a role told to listen there cannot. */
async function occupiedPort(servers: Server[]): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

// Found on main: each role died of a raw EADDRINUSE stack with exit 1 (naming no setting); once that was an
// error naming the setting, ingest and gateway hung with their Redis connections open.
describe.skipIf(!hasRedis)('a role that cannot take its address', () => {
  const children: ChildProcess[] = [];
  const servers: Server[] = [];
  const prefix = uniquePrefix();
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const server of servers.splice(0)) server.close();
    await dropPrefix(prefix);
  });
  const roleArgs = (role: string, port: number, ...settings: string[]) => [
    role,
    ...roleFlags(prefix, { port, settings }),
  ];

  for (const role of ['serve', 'ingest', 'gateway']) {
    it(`${role}: a port in use stops start-up naming server.port, exit 2, and the process ends`, async () => {
      const port = await occupiedPort(servers);
      const run = await within(
        runTickstream(roleArgs(role, port), children).done,
        15_000,
        `tickstream ${role} that could not listen`,
      );
      expect(run.stderr).toContain(`tickstream: server.port: 127.0.0.1:${port} is in use by another process`);
      expect(run.code).toBe(2);
    });
  }

  it('names server.metricsPort when the metrics port is the one in use', async () => {
    const port = await occupiedPort(servers);
    const args = roleArgs('ingest', 0, `server.metricsPort=${port}`);
    const run = await within(runTickstream(args, children).done, 15_000, 'tickstream ingest that could not listen');
    expect(run.stderr).toContain(`server.metricsPort: 127.0.0.1:${port} is in use by another process`);
    expect(run.code).toBe(2);
  });

  it('names server.host when the host is not an address of this machine', async () => {
    const args = roleArgs('serve', 0, 'server.host=192.0.2.1');
    const run = await within(runTickstream(args, children).done, 15_000, 'tickstream serve that could not listen');
    expect(run.stderr).toContain('server.host: 192.0.2.1:0 is not an address of this machine');
    expect(run.code).toBe(2);
  });
});
