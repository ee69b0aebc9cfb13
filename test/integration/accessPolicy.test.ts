import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import {
  type AccessRule,
  ADMIN_UI_LOGIN,
  HTTP_ACCESS,
  type HttpRoute,
  METRICS_PORT_ACCESS,
  SOCKET_ACCESS,
} from '../../src/delivery/accessPolicy.js';
import type { ClientToServerEvents } from '../../src/protocol.js';
import { startGateway } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { clusterTestConfig, dropPrefix, uniquePrefix } from '../cluster/helpers.js';
import { ADMIN_PASSWORD_HASH } from '../helpers/adminUi.js';
import { until } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { startTestService, type TestClient } from '../helpers/service.js';

// The walk: every row of the access tables, over real HTTP and real sockets (websocket and polling), for every
// kind of credential, with auth off, on, and on with `required: false`. A route or event the code declares
// without a rule, or a rule that behaves otherwise, fails here.

const LIMITED = 'limited-user-token-0123456789'; // AAPL and MSFT only
const USER = 'plain-user-token-0123456789';
const ADMIN = 'admin-user-token-0123456789';
const WRONG = 'not-a-known-token-0123456789';
const AUTH = {
  tokens: [{ token: LIMITED, symbols: ['AAPL', 'MSFT'] }, { token: USER }, { token: ADMIN, role: 'admin' as const }],
};
type Mode = 'off' | 'required' | 'optional';
const MODE_NAMES: Mode[] = ['off', 'required', 'optional'];
const MODES: Record<Mode, Partial<ConfigInput>> = {
  off: {},
  required: { auth: { ...AUTH, required: true } },
  optional: { auth: { ...AUTH, required: false } },
};
type Credential = 'none' | 'wrong' | 'limited' | 'user' | 'admin';
const TOKENS: Record<Credential, string | undefined> = {
  none: undefined,
  wrong: WRONG,
  limited: LIMITED,
  user: USER,
  admin: ADMIN,
};
const CREDENTIALS: Credential[] = ['none', 'wrong', 'limited', 'user', 'admin'];

type Outcome = 'allowed' | 'unauthenticated' | 'forbidden';

/**
 * The access table of docs/PROTOCOL.md ("Access"), written here by hand: the walk holds the running server to
 * it, not to the code's own tables (HTTP_ACCESS, SOCKET_ACCESS), which a change could move with the server.
 */
const anyone: AccessRule = { audience: 'anyone', symbols: 'all' };
const client: AccessRule = { audience: 'client', symbols: 'all' };
const clientOwnSymbols: AccessRule = { audience: 'client', symbols: 'granted' };
const admin: AccessRule = { audience: 'admin', symbols: 'all' };
const DOCUMENTED_HTTP: Record<HttpRoute, AccessRule> = {
  '/healthz': anyone,
  '/readyz': anyone,
  '/metrics': admin,
  '/api/socket': anyone,
  '/api/symbols': clientOwnSymbols,
  '/api/snapshot': clientOwnSymbols,
  '/api/history': clientOwnSymbols,
  '/admin-ui/*': anyone,
  '/*': anyone,
};
const DOCUMENTED_SOCKET: Record<'handshake' | keyof ClientToServerEvents, AccessRule> = {
  handshake: client,
  subscribe: clientOwnSymbols,
  unsubscribe: client,
  symbols: clientOwnSymbols,
  replay: admin,
};
/** `server.metricsPort`: /metrics alone, open. */
const DOCUMENTED_METRICS_PORT: Record<string, AccessRule> = { '/metrics': anyone };

/** What the docs promise for a rule, written independently of the code that enforces it. */
function promised(rule: AccessRule, mode: Mode, credential: Credential): Outcome {
  if (mode === 'off' || rule.audience === 'anyone') return 'allowed';
  if (credential === 'wrong' || (credential === 'none' && mode === 'required')) return 'unauthenticated';
  // Found on main: no token at all on an admin entry point (auth.required false) was a 403, not a 401.
  if (rule.audience === 'admin' && credential === 'none') return 'unauthenticated';
  if (rule.audience === 'admin' && credential !== 'admin') return 'forbidden';
  return 'allowed';
}

/** Whether a use beyond the token's symbols is refused: only for the limited token, on rules that say so. */
const limitedHere = (rule: AccessRule, mode: Mode, credential: Credential) =>
  mode !== 'off' && credential === 'limited' && rule.symbols === 'granted';

type Body = {
  error?: { code?: string };
  rejected?: { code: string }[];
  snapshot?: unknown[];
  symbols?: { symbol: string }[];
};
type HttpAnswer = { status: number; body: Body; challenge: string | null };

/**
 * A request per route, in and (for rules that limit symbols) beyond the limited token's symbols. Keyed by
 * HttpRoute: a route added to the policy without a sample here does not compile.
 */
const HTTP_SAMPLES: Record<HttpRoute, { path: string; beyond?: { path: string; refused(a: HttpAnswer): boolean } }> = {
  '/healthz': { path: '/healthz' },
  '/readyz': { path: '/readyz' },
  '/metrics': { path: '/metrics' },
  '/api/socket': { path: '/api/socket' },
  '/api/symbols': {
    path: '/api/symbols',
    beyond: {
      path: '/api/symbols',
      refused: ({ body }) => JSON.stringify(body.symbols?.map((s) => s.symbol)) === '["AAPL","MSFT"]',
    },
  },
  '/api/snapshot': {
    path: '/api/snapshot?symbols=AAPL',
    beyond: {
      path: '/api/snapshot?symbols=NVDA',
      refused: ({ status, body }) =>
        status === 200 && body.snapshot?.length === 0 && body.rejected?.[0]?.code === 'UNAUTHORIZED',
    },
  },
  '/api/history': {
    path: '/api/history?symbol=AAPL',
    beyond: {
      path: '/api/history?symbol=nvda',
      refused: ({ status, body }) => status === 403 && body.error?.code === 'UNAUTHORIZED',
    },
  },
  '/admin-ui/*': { path: '/admin-ui/' },
  '/*': { path: '/some/dashboard/page' },
};

type EventName = keyof ClientToServerEvents;
type Ack = { ok: boolean; error?: { code: string }; rejected?: { code: string }[]; symbols?: { symbol: string }[] };
const EVENT_SAMPLES: Record<EventName, { payload: unknown; beyond?: { payload: unknown; refused(a: Ack): boolean } }> =
  {
    subscribe: {
      payload: { symbols: ['AAPL'] },
      beyond: {
        payload: { symbols: ['NVDA'] },
        refused: (ack) => ack.ok && ack.rejected?.[0]?.code === 'UNAUTHORIZED',
      },
    },
    unsubscribe: { payload: { symbols: ['AAPL'] } },
    symbols: {
      payload: {},
      beyond: {
        payload: {},
        refused: (ack) => JSON.stringify(ack.symbols?.map((s) => s.symbol)) === '["AAPL","MSFT"]',
      },
    },
    // No replay runs here: an allowed command is answered BAD_REQUEST, a refused one UNAUTHORIZED.
    replay: { payload: { action: 'pause' } },
  };

const ROUTES = Object.keys(HTTP_ACCESS).filter((route): route is HttpRoute => route in HTTP_SAMPLES);
const EVENTS = Object.keys(SOCKET_ACCESS).filter((event): event is EventName => event in EVENT_SAMPLES);

/** Socket.IO's own event names, which are not requests (it listens to `error` itself, so that one cannot crash). */
const RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'error',
  'newListener',
  'removeListener',
]);

let webRoot: string;
beforeAll(() => {
  webRoot = mkdtempSync(join(tmpdir(), 'tickstream-access-'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>dashboard</title>');
});
afterAll(() => rmSync(webRoot, { recursive: true, force: true }));

async function get(url: string, token: string | undefined): Promise<HttpAnswer> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: Body = {};
  try {
    body = JSON.parse(text) as Body;
  } catch {
    // Prometheus text, or the dashboard's HTML.
  }
  return { status: res.status, body, challenge: res.headers.get('www-authenticate') };
}

/** The outcome an HTTP answer shows: 401 and 403 carry the protocol's UNAUTHORIZED and a Bearer challenge. */
function httpOutcome(answer: HttpAnswer): Outcome {
  if (answer.status !== 401 && answer.status !== 403) return 'allowed';
  expect(answer.body.error?.code).toBe('UNAUTHORIZED');
  expect(answer.challenge).toMatch(/^Bearer realm="tickstream"/);
  return answer.status === 401 ? 'unauthenticated' : 'forbidden';
}

/** What the walk needs of a server: its address and its Socket.IO server (to read the events it registered). */
type Walked = Pick<Tickstream, 'url' | 'io' | 'close'>;

/** The walk's servers have the Admin UI on, so its files (`/admin-ui/*`) are served and walked too. */
const WITH_ADMIN_UI = {
  server: { host: '127.0.0.1', port: 0, dashboard: false, adminUi: { passwordHash: ADMIN_PASSWORD_HASH } },
};

async function startFor(mode: Mode, extra: Partial<ConfigInput> = {}): Promise<Tickstream> {
  const feed = manualFeed(['AAPL', 'MSFT', 'NVDA']);
  const service = await startTestService({ ...WITH_ADMIN_UI, ...MODES[mode], ...extra }, { feeds: [feed], webRoot });
  for (const symbol of ['AAPL', 'MSFT', 'NVDA']) feed.push(symbol, 100);
  return service;
}

/** A gateway (over the real Redis) with an ingest behind it, both with the mode's auth; ready before the walk. */
async function startGatewayFor(mode: Mode): Promise<Walked> {
  const prefix = uniquePrefix();
  const feed = manualFeed(['AAPL', 'MSFT', 'NVDA']);
  const ingest = await startIngest({ config: clusterTestConfig('ingest', prefix, MODES[mode]), feeds: [feed] });
  const gateway = await startGateway({
    config: clusterTestConfig('gateway', prefix, { ...WITH_ADMIN_UI, ...MODES[mode] }),
    webRoot,
  });
  for (const symbol of ['AAPL', 'MSFT', 'NVDA']) feed.push(symbol, 100);
  await until(async () => (await fetch(`${gateway.url}/readyz`)).ok, 10_000, 'the gateway ready');
  return {
    url: gateway.url,
    io: gateway.io,
    async close() {
      await gateway.close();
      await ingest.close();
      await dropPrefix(prefix);
    },
  };
}

type Admission = { ok: true; socket: TestClient } | { ok: false; message: string; reason: unknown };

function admit(url: string, transport: 'websocket' | 'polling', token: string | undefined): Promise<Admission> {
  const socket: TestClient = ioClient(url, {
    transports: [transport],
    reconnection: false,
    ...(token ? { auth: { token } } : {}),
  });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ ok: true, socket }));
    socket.once('connect_error', (err: Error & { data?: { reason?: unknown } }) => {
      socket.close();
      resolve({ ok: false, message: err.message, reason: err.data?.reason });
    });
  });
}

/** Sends an event outside the typed map (the samples are typed by event name only). */
const request = (socket: TestClient, event: EventName, payload: unknown): Promise<Ack> =>
  (socket as unknown as { timeout(ms: number): { emitWithAck(e: string, p: unknown): Promise<Ack> } })
    .timeout(5000)
    .emitWithAck(event, payload);

const ROLES = ['serve', 'gateway'] as const;
describe.each(ROLES.flatMap((role) => MODE_NAMES.map((mode) => [role, mode] as const)))(
  '%s, with auth %s',
  (role, mode) => {
    let service: Walked;
    beforeAll(async () => {
      service = role === 'serve' ? await startFor(mode) : await startGatewayFor(mode);
    });
    afterAll(async () => {
      await service?.close();
    });

    it('answers every HTTP route as its rule says, for every credential (Authorization: Bearer)', async () => {
      expect(Object.keys(HTTP_SAMPLES)).toEqual(Object.keys(HTTP_ACCESS));
      expect(ROUTES).toEqual(Object.keys(HTTP_ACCESS));
      for (const route of ROUTES) {
        const rule = DOCUMENTED_HTTP[route];
        const sample = HTTP_SAMPLES[route];
        if (rule.symbols === 'granted')
          expect(sample.beyond, `${route} limits symbols: a sample beyond them`).toBeDefined();
        for (const credential of CREDENTIALS) {
          const token = TOKENS[credential];
          const answer = await get(`${service.url}${sample.path}`, token);
          const what = `${mode} ${credential} GET ${sample.path}`;
          expect(httpOutcome(answer), what).toBe(promised(rule, mode, credential));
          // Served by its handler, not a router miss (the dashboard's files included).
          if (httpOutcome(answer) === 'allowed') expect(answer.status, what).not.toBe(404);
          if (sample.beyond && promised(rule, mode, credential) === 'allowed') {
            const beyond = await get(`${service.url}${sample.beyond.path}`, token);
            expect(sample.beyond.refused(beyond), `${what} beyond the token's symbols`).toBe(
              limitedHere(rule, mode, credential),
            );
          }
        }
      }
    });

    it.each(['websocket', 'polling'] as const)(
      'admits the handshake and answers every event as the rules say, over %s',
      async (transport) => {
        for (const credential of CREDENTIALS) {
          const what = `${mode} ${credential} ${transport}`;
          const admission = await admit(service.url, transport, TOKENS[credential]);
          const expected = promised(DOCUMENTED_SOCKET.handshake, mode, credential);
          if (!admission.ok) {
            expect(expected, `${what} handshake: ${admission.message}`).not.toBe('allowed');
            expect(admission.message).toBe('unauthorized');
            expect(admission.reason).toBe(credential === 'none' ? 'missing' : 'unknown_token');
            continue;
          }
          try {
            expect(expected, `${what} handshake admitted`).toBe('allowed');
            // The events this server's code registered on the socket: each must have a rule and a sample.
            const server = [...service.io.of('/').sockets.values()].find((s) => s.id === admission.socket.id);
            const declared =
              server
                ?.eventNames()
                .map(String)
                .filter((name) => !RESERVED.has(name)) ?? [];
            const ruled = Object.keys(SOCKET_ACCESS).filter((name) => name !== 'handshake');
            expect(declared.sort()).toEqual(ruled.sort());
            expect(EVENTS.sort()).toEqual(ruled.sort());
            for (const event of EVENTS) {
              const rule = DOCUMENTED_SOCKET[event];
              const sample = EVENT_SAMPLES[event];
              if (rule.symbols === 'granted')
                expect(sample.beyond, `${event}: a sample beyond the symbols`).toBeDefined();
              const ack = await request(admission.socket, event, sample.payload);
              const refused = !ack.ok && ack.error?.code === 'UNAUTHORIZED';
              const outcome = promised(rule, mode, credential);
              expect(refused, `${what} ${event}: ${JSON.stringify(ack)}`).toBe(outcome !== 'allowed');
              if (sample.beyond && outcome === 'allowed') {
                const beyond = await request(admission.socket, event, sample.beyond.payload);
                expect(sample.beyond.refused(beyond), `${what} ${event} beyond the token's symbols`).toBe(
                  limitedHere(rule, mode, credential),
                );
              }
            }
          } finally {
            admission.socket.close();
          }
        }
      },
    );
  },
);

describe.each(MODE_NAMES)('ingest, with auth %s', (mode) => {
  it('answers health, readiness and metrics as their rules say, and has no other route', async () => {
    const prefix = uniquePrefix();
    const ingest = await startIngest({
      config: clusterTestConfig('ingest', prefix, MODES[mode]),
      feeds: [manualFeed(['AAPL'])],
    });
    try {
      for (const route of ['/healthz', '/readyz', '/metrics'] as const) {
        for (const credential of CREDENTIALS) {
          const answer = await get(`${ingest.url}${route}`, TOKENS[credential]);
          expect(httpOutcome(answer), `ingest ${mode} ${credential} GET ${route}`).toBe(
            promised(DOCUMENTED_HTTP[route], mode, credential),
          );
        }
      }
      expect((await get(`${ingest.url}/api/symbols`, ADMIN)).status).toBe(404);
      expect((await get(`${ingest.url}/admin-ui/`, ADMIN)).status).toBe(404);
    } finally {
      await ingest.close();
      await dropPrefix(prefix);
    }
  });
});

describe('server.metricsPort', () => {
  it.each(['off', 'required'] as const)(
    'with auth %s: /metrics is served open on its own address, and not on the main port',
    async (mode) => {
      const service = await startFor(mode, {
        server: { host: '127.0.0.1', port: 0, dashboard: false, metricsPort: 0, metricsHost: '127.0.0.1' },
      });
      try {
        expect(service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const apart = `${service.metricsUrl}`;
        expect(Object.keys(METRICS_PORT_ACCESS)).toEqual(Object.keys(DOCUMENTED_METRICS_PORT));
        for (const [route, rule] of Object.entries(DOCUMENTED_METRICS_PORT)) {
          for (const credential of CREDENTIALS) {
            const answer = await get(`${apart}${route}`, TOKENS[credential]);
            expect(httpOutcome(answer), `${credential} ${route}`).toBe(promised(rule, mode, credential));
            expect(answer.status).toBe(200);
          }
        }
        // Only /metrics there; and the main port no longer has it, even for an admin.
        expect((await get(`${apart}/api/symbols`, ADMIN)).status).toBe(404);
        expect((await get(`${service.url}/metrics`, ADMIN)).status).toBe(404);
      } finally {
        await service.close();
      }
    },
  );
});

describe('docs/PROTOCOL.md', () => {
  const WORDS: Record<string, AccessRule> = {
    anyone: { audience: 'anyone', symbols: 'all' },
    token: { audience: 'client', symbols: 'all' },
    'token, its symbols': { audience: 'client', symbols: 'granted' },
    'admin token': { audience: 'admin', symbols: 'all' },
  };

  it('has the access table, one row per rule of the policy, saying what the rule does', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'docs/PROTOCOL.md'), 'utf8');
    const section = text.slice(text.indexOf('## Extension: access'));
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| entry point'))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    const documented = new Map<string, { off: string; on: string }>();
    for (const [, entry = '', off = '', on = ''] of rows) {
      const http = /^`GET (\S+)`( on `server\.metricsPort`)?/.exec(entry);
      const event = /^`(\w+)` event/.exec(entry);
      const key = http
        ? `${http[2] ? 'metricsPort' : 'http'} ${http[1]}`
        : event
          ? `socket ${event[1]}`
          : entry.startsWith('Socket.IO handshake')
            ? 'socket handshake'
            : entry.startsWith('Socket.IO namespace `/admin` handshake')
              ? 'admin handshake'
              : entry;
      documented.set(key, { off, on });
    }
    const policy = new Map<string, AccessRule>([
      ...Object.entries(HTTP_ACCESS).map(([route, rule]): [string, AccessRule] => [`http ${route}`, rule]),
      ...Object.entries(METRICS_PORT_ACCESS).map(([route, rule]): [string, AccessRule] => [
        `metricsPort ${route}`,
        rule,
      ]),
      ...Object.entries(SOCKET_ACCESS).map(([event, rule]): [string, AccessRule] => [`socket ${event}`, rule]),
    ]);
    // The Admin UI's namespace: its own login, the same with auth on or off (admin tokens only when on).
    expect(documented.get('admin handshake')).toEqual({ off: 'admin login', on: 'admin login' });
    expect(ADMIN_UI_LOGIN).toEqual(WORDS['admin token']);
    documented.delete('admin handshake');
    expect([...documented.keys()].sort()).toEqual([...policy.keys()].sort());
    for (const [key, rule] of policy) {
      const row = documented.get(key);
      expect(row?.off, key).toBe('anyone');
      expect(WORDS[row?.on ?? ''], `${key}: "${row?.on}"`).toEqual(rule);
    }
  });
});
