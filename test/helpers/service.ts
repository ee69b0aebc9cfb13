import { io as connectClient, type Socket } from 'socket.io-client';
import { parseConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/protocol.js';
import { type ServeOptions, startServe, type Tickstream } from '../../src/roles/serve.js';

export type TestClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A config for tests: loopback, an ephemeral port, silent logs, a busy simulator at all hours. */
export function testConfig(overrides: Partial<ConfigInput> = {}): Config {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0, dashboard: false },
    feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 2000, offHoursFactor: 1 }],
    log: { level: 'silent' },
    ...overrides,
  });
}

/** Starts a real tickstream on 127.0.0.1:0; close it in afterEach/afterAll. */
export async function startTestService(
  overrides: Partial<ConfigInput> = {},
  options: Omit<ServeOptions, 'config'> = {},
): Promise<Tickstream> {
  const config = testConfig(overrides);
  return startServe({ config, logger: createLogger('silent'), ...options });
}

/**
 * startTestService for a test file that closes what it opens with ownedPerTest:
 * `const start = serviceStarter(owned)`, then `const service = await start(...)`, closed after the test.
 */
export function serviceStarter(owned: (service: Tickstream) => Tickstream) {
  return async (...args: Parameters<typeof startTestService>): Promise<Tickstream> =>
    owned(await startTestService(...args));
}

/** A socket.io-client connected to `url` (websocket transport unless told otherwise). */
export async function connectTestClient(
  url: string,
  options: Parameters<typeof connectClient>[1] = {},
): Promise<TestClient> {
  const socket: TestClient = connectClient(url, { transports: ['websocket'], reconnection: false, ...options });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}
