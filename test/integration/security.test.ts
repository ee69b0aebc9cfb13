import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { signJwt } from '../../src/delivery/auth.js';
import type { Quote, ReplayAck, Status, SubscribeAck } from '../../src/protocol.js';
import { startIngest } from '../../src/roles/ingest.js';
import { clusterTestConfig, dropPrefix, uniquePrefix } from '../cluster/helpers.js';
import { ADMIN_PASSWORD_HASH } from '../helpers/adminUi.js';
import { ownedPerTest, until, within } from '../helpers/lifecycle.js';
import { serviceStarter, type TestClient } from '../helpers/service.js';

const SECRET = 'integration-secret-0123456789-abcdefghij';
const USER_TOKEN = 'static-user-token-0123456789';
const ADMIN_TOKEN = 'static-admin-token-0123456789';
const AUTH: ConfigInput['auth'] = {
  tokens: [
    { token: USER_TOKEN, symbols: ['AAPL'] },
    { token: ADMIN_TOKEN, role: 'admin' },
  ],
  jwtSecret: SECRET,
};

const { owned } = ownedPerTest();
const start = serviceStarter(owned);

const nowSeconds = () => Math.floor(Date.now() / 1000);

type ConnectOptions = Parameters<typeof ioClient>[1];
type Outcome = { ok: true; socket: TestClient } | { ok: false; message: string; data?: unknown };

/** Connects and reports whether the server let the client in (and if not, the connect_error). */
function attempt(url: string, options: ConnectOptions = {}): Promise<Outcome> {
  const socket: TestClient = ioClient(url, { transports: ['websocket'], reconnection: false, ...options });
  owned(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ ok: true, socket }));
    socket.once('connect_error', (err: Error & { data?: unknown }) =>
      resolve({ ok: false, message: err.message, data: err.data }),
    );
  });
}

async function connected(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const outcome = await attempt(url, options);
  if (!outcome.ok) throw new Error(`connect failed: ${outcome.message}`);
  return outcome.socket;
}

const subscribe = (c: TestClient, payload: unknown) =>
  c.timeout(5000).emitWithAck('subscribe', payload as never) as Promise<SubscribeAck>;

/** Emits without an ack and outside the typed event map. */
const sendRaw = (c: TestClient, event: string, payload: unknown) =>
  (c as unknown as { emit(event: string, payload: unknown): void }).emit(event, payload);

/** Metric lines; with auth on, /metrics needs an admin token (docs/PROTOCOL.md, "Extension: access"). */
async function metric(url: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  return text.split('\n').filter((line) => line.startsWith(name));
}

describe('auth', () => {
  it('refuses a missing, unknown, forged or expired token with connect_error "unauthorized"', async () => {
    const service = await start({ auth: AUTH });
    const cases: [string, ConnectOptions][] = [
      ['missing', {}],
      ['unknown_token', { auth: { token: 'wrong-token-0123456789' } }],
      ['bad_signature', { auth: { token: signJwt({ exp: nowSeconds() + 60 }, `${SECRET}-other`) } }],
      ['expired', { auth: { token: signJwt({ exp: nowSeconds() - 1 }, SECRET) } }],
      ['malformed', { auth: { token: 12345 } }],
    ];
    for (const [reason, options] of cases) {
      const outcome = await attempt(service.url, options);
      expect(outcome, reason).toEqual({ ok: false, message: 'unauthorized', data: { reason } });
    }
    // Polling is refused the same way.
    const polling = await attempt(service.url, { transports: ['polling'] });
    expect(polling).toMatchObject({ ok: false, message: 'unauthorized' });
    const failures = await metric(service.url, 'tickstream_auth_failures_total');
    expect(failures).toContain('tickstream_auth_failures_total{reason="missing"} 2');
    expect(failures).toContain('tickstream_auth_failures_total{reason="expired"} 1');
  });

  it("restricts subscribe to the token's symbols and replay controls to admins", async () => {
    const service = await start({ auth: AUTH });
    const jwt = signJwt({ sub: 'ana', exp: nowSeconds() + 600, symbols: ['MSFT', 'NVDA'] }, SECRET);
    const viaJwt = await connected(service.url, { auth: { token: jwt } });
    const ack = await subscribe(viaJwt, { symbols: ['MSFT', 'AAPL', 'nvda'] });
    expect(ack).toMatchObject({
      ok: true,
      subscribed: ['MSFT', 'NVDA'],
      rejected: [{ symbol: 'AAPL', code: 'UNAUTHORIZED' }],
    });
    const viaStatic = await connected(service.url, { auth: { token: USER_TOKEN } });
    expect(await subscribe(viaStatic, { symbols: ['AAPL', 'MSFT'] })).toMatchObject({
      ok: true,
      subscribed: ['AAPL'],
      rejected: [{ symbol: 'MSFT', code: 'UNAUTHORIZED' }],
    });
    const replay = (c: TestClient) => c.timeout(5000).emitWithAck('replay', { action: 'pause' }) as Promise<ReplayAck>;
    expect(await replay(viaStatic)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(await replay(viaJwt)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    // An admin passes the check (and is told there is no replay to control).
    const admin = await connected(service.url, { auth: { token: ADMIN_TOKEN } });
    expect(await replay(admin)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    // Programs may send the token as a Bearer header instead.
    const viaHeader = await connected(service.url, { extraHeaders: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await replay(viaHeader)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const adminJwt = await connected(service.url, {
      auth: { token: signJwt({ exp: nowSeconds() + 60, role: 'admin' }, SECRET) },
    });
    expect(await replay(adminJwt)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('closes a connection when its token expires, saying why', async () => {
    const service = await start({ auth: AUTH });
    const c = await connected(service.url, { auth: { token: signJwt({ exp: nowSeconds() + 2 }, SECRET) } });
    const statuses: Status[] = [];
    c.on('status', (s) => statuses.push(s));
    const reason = await new Promise<string>((resolve) => c.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
    expect(statuses.at(-1)?.closing).toEqual({ code: 'TOKEN_EXPIRED', message: expect.any(String) });
    expect(await metric(service.url, 'tickstream_disconnects_total')).toContain(
      'tickstream_disconnects_total{reason="token_expired"} 1',
    );
  });

  it('lets anonymous clients in when auth is not required, without admin or restricted symbols', async () => {
    const service = await start({ auth: { ...AUTH, required: false } });
    const anonymous = await connected(service.url);
    expect(await subscribe(anonymous, { symbols: ['AAPL', 'MSFT'] })).toMatchObject({ ok: true, rejected: [] });
    expect(await anonymous.timeout(5000).emitWithAck('replay', { action: 'pause' })).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    expect(await attempt(service.url, { auth: { token: 'wrong-token-0123456789' } })).toMatchObject({
      ok: false,
      message: 'unauthorized',
    });
  });
});

describe('the HTTP API with auth on (the README static tokens)', () => {
  const README_AUTH: ConfigInput['auth'] = {
    tokens: [
      { token: 'a-long-random-string-1', symbols: ['AAPL', 'MSFT'] },
      { token: 'a-long-random-string-2', role: 'admin', name: 'ops' },
    ],
    jwtSecret: 'at-least-32-characters-of-secret........',
    required: true,
  };

  // Found on main: /api/snapshot, /api/history and /api/symbols answered 200 with live data without a token.
  it('asks for a token as the socket does, and holds a token to its symbols', async () => {
    const service = await start({ auth: README_AUTH });
    const get = async (path: string, token?: string) => {
      const res = await fetch(`${service.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    for (const path of ['/api/snapshot?symbols=NVDA', '/api/history?symbol=NVDA', '/api/symbols']) {
      expect(await get(path), path).toMatchObject({
        status: 401,
        body: { ok: false, error: { code: 'UNAUTHORIZED' } },
      });
      expect((await get(path, 'a-wrong-token-0123456789')).status, path).toBe(401);
    }
    const limited = 'a-long-random-string-1';
    const snapshot = await get('/api/snapshot?symbols=NVDA,AAPL', limited);
    expect(snapshot.status).toBe(200);
    expect(snapshot.body.rejected).toEqual([
      { symbol: 'NVDA', code: 'UNAUTHORIZED', message: 'this token does not allow NVDA' },
    ]);
    expect((snapshot.body.snapshot as Quote[]).every((q) => q.symbol === 'AAPL')).toBe(true);
    expect((await get('/api/history?symbol=NVDA', limited)).status).toBe(403);
    expect((await get('/api/history?symbol=AAPL', limited)).status).toBe(200);
    const symbols = (await get('/api/symbols', limited)).body.symbols as { symbol: string }[];
    expect(symbols.map((s) => s.symbol)).toEqual(['AAPL', 'MSFT']);
    const admin = await get('/api/snapshot?symbols=NVDA', 'a-long-random-string-2');
    expect(admin).toMatchObject({ status: 200, body: { rejected: [] } });
    // Liveness and readiness stay open; metrics are for admins.
    expect((await get('/healthz')).status).toBe(200);
    expect((await fetch(`${service.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${limited}` } })).status).toBe(
      403,
    );
  });
});

describe("the dashboard's files", () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  // Found on main: GET /%E0%A4%A threw a URIError out of the request handler (the process ended), and
  // /..%2f<root>-secret%2fkey.txt served a file from a sibling folder whose name starts with the root's.
  it('answers a malformed path 400 and a path outside the folder 404, and goes on serving', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tickstream-web-'));
    const sibling = `${root}-secret`;
    folders.push(root, sibling);
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>dashboard</title>');
    mkdirSync(sibling);
    writeFileSync(join(sibling, 'key.txt'), 'not for the web');
    const service = await start({}, { webRoot: root });
    const get = async (path: string) => {
      const res = await fetch(`${service.url}${path}`);
      return { status: res.status, body: await res.text() };
    };
    const malformed = await get('/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'malformed URL path' },
    });
    for (const path of [`/..%2f${basename(sibling)}%2fkey.txt`, '/..%2f..%2fetc%2fpasswd']) {
      const outside = await get(path);
      expect(outside.status, path).toBe(404);
      expect(outside.body, path).not.toContain('not for the web');
    }
    // Found on main: a mistyped API path got the dashboard's page, 200.
    const mistyped = await get('/api/snapshots?symbols=AAPL');
    expect(mistyped.status).toBe(404);
    expect(JSON.parse(mistyped.body)).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: 'not found' } });
    expect(await get('/')).toEqual({ status: 200, body: '<!doctype html><title>dashboard</title>' });
  });
});

/**
 * The status line and body of a raw HTTP/1.1 request whose target is `target` as written (fetch and
 * node:http would refuse to send one that does not parse).
 */
function rawRequest(url: string, target: string): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(url);
  const answer = new Promise<{ statusLine: string; body: string }>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', raw = ''] = text.split('\r\n\r\n');
      const chunked = /^transfer-encoding: chunked$/im.test(head);
      resolve({ statusLine: head.split('\r\n')[0] ?? '', body: chunked ? unchunked(raw) : raw });
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
  });
  return within(answer, 5000, `the answer to GET ${target}`);
}

/** The body of a chunked HTTP/1.1 message (each chunk: its size in hex, CRLF, the data, CRLF; 0 ends it). */
function unchunked(raw: string): string {
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.slice(at, lineEnd), 16);
    if (!(size > 0)) return body;
    body += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

describe('request targets that do not parse', () => {
  // Found on main: `GET http://[ HTTP/1.1` threw "Invalid URL" out of the request handler: no answer, and an
  // uncaught exception each, so 51 such requests in a minute made `tickstream serve` exit (any role, any port).
  const MALFORMED = ['http://[', '//['];
  const refusedAsMalformed = async (url: string) => {
    for (const target of MALFORMED) {
      const { statusLine, body } = await rawRequest(url, target);
      expect(statusLine, `${url} GET ${target}`).toBe('HTTP/1.1 400 Bad Request');
      expect(JSON.parse(body)).toEqual({
        ok: false,
        error: { code: 'BAD_REQUEST', message: 'malformed request target' },
      });
    }
    expect((await fetch(`${url}/healthz`)).status).not.toBe(400);
  };

  it('are a 400 on the main port (with the Admin UI on) and on the metrics port', async () => {
    const service = await start({
      server: {
        host: '127.0.0.1',
        port: 0,
        dashboard: false,
        metricsPort: 0,
        adminUi: { passwordHash: ADMIN_PASSWORD_HASH },
      },
    });
    await refusedAsMalformed(service.url);
    await refusedAsMalformed(`${service.metricsUrl}`);
  });

  it("are a 400 on the ingest's port", async () => {
    const prefix = uniquePrefix();
    const ingest = await startIngest({ config: clusterTestConfig('ingest', prefix) });
    owned({
      close: async () => {
        await ingest.close();
        await dropPrefix(prefix);
      },
    });
    await refusedAsMalformed(ingest.url);
  });
});

/** The HTTP answer to a raw engine.io websocket upgrade (no Socket.IO client in between, to see the status). */
function upgradeAnswer(url: string, headers: Record<string, string> = {}): Promise<{ status?: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/socket.io/?EIO=4&transport=websocket`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const json = res.headers['content-type']?.startsWith('application/json');
        resolve({ status: res.statusCode, body: json ? JSON.parse(text) : text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the request budget', () => {
  // Found on main: an event outside the protocol, sent with an ack, was answered BAD_REQUEST without taking
  // from the socket's budget, so a client could have any number of acks a second out of the server.
  it("counts requests for events outside the protocol, as for the protocol's own", async () => {
    const service = await start({ limits: { requestsPerSecond: 0.001, requestBurst: 3 } });
    const socket = await connected(service.url);
    const emitUnknown = () =>
      (socket as unknown as { timeout(ms: number): { emitWithAck(event: string, p: unknown): Promise<unknown> } })
        .timeout(5000)
        .emitWithAck('no-such-event', {});
    const acks = await Promise.all(Array.from({ length: 6 }, emitUnknown));
    const codes = acks.map((ack) => (ack as { error?: { code?: string } }).error?.code);
    expect(codes).toEqual([
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'RATE_LIMITED',
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
    // One budget for both: a protocol request right after is over it too.
    expect(await socket.timeout(5000).emitWithAck('symbols', {} as never)).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED' },
    });
  });
});

describe('origins and connection limits', () => {
  it('refuses a foreign Origin on websocket and polling, and admits allowed and same-host ones', async () => {
    const service = await start({
      server: { host: '127.0.0.1', port: 0, dashboard: false, allowedOrigins: ['https://app.example.com'] },
    });
    const evil = { extraHeaders: { origin: 'https://evil.example.net' } };
    expect(await attempt(service.url, { ...evil, transports: ['websocket'] })).toMatchObject({ ok: false });
    expect(await attempt(service.url, { ...evil, transports: ['polling'] })).toMatchObject({ ok: false });
    const good = { extraHeaders: { origin: 'https://app.example.com' } };
    expect(await attempt(service.url, { ...good, transports: ['websocket'] })).toMatchObject({ ok: true });
    expect(await attempt(service.url, { ...good, transports: ['polling'] })).toMatchObject({ ok: true });
    // The dashboard served by this server: its own origin.
    const self = { extraHeaders: { origin: service.url } };
    expect(await attempt(service.url, { ...self, transports: ['websocket'] })).toMatchObject({ ok: true });
    // Programs send no Origin at all.
    expect(await attempt(service.url)).toMatchObject({ ok: true });
    expect(await metric(service.url, 'tickstream_connections_refused_total')).toContain(
      'tickstream_connections_refused_total{reason="origin"} 2',
    );
    // Found on main: a refused websocket upgrade was answered 400 (engine.io's answer to any refused upgrade).
    expect(await upgradeAnswer(service.url, { origin: 'https://evil.example.net' })).toEqual({
      status: 403,
      body: { code: 4, message: 'origin not allowed' },
    });
  });

  it('caps connections per address, and frees the slot when one leaves', async () => {
    const service = await start({ limits: { maxConnectionsPerIp: 3 } });
    const first = await connected(service.url);
    await connected(service.url, { transports: ['polling'] });
    await connected(service.url);
    expect(await attempt(service.url)).toMatchObject({ ok: false });
    expect(await attempt(service.url, { transports: ['polling'] })).toMatchObject({ ok: false });
    first.close();
    const running = service;
    // The per-address count drops when the engine.io connection closes, as the engine's own count does.
    await until(() => running.io.engine.clientsCount === 2, 5000, 'the closed connection to be gone');
    expect(await attempt(service.url)).toMatchObject({ ok: true });
    expect(await upgradeAnswer(service.url)).toEqual({
      status: 403,
      body: { code: 4, message: 'too many connections from this address' },
    });
    expect(await metric(service.url, 'tickstream_connections_refused_total')).toContain(
      'tickstream_connections_refused_total{reason="ip_limit"} 3',
    );
  });
});

describe('oversized frames', () => {
  it('close the sender only; others stay connected and keep receiving', async () => {
    const service = await start({
      server: { host: '127.0.0.1', port: 0, dashboard: false, maxHttpBufferSize: 16_384 },
    });
    const bystander = await connected(service.url);
    await subscribe(bystander, { symbols: ['AAPL'], maxHz: 10 });
    const ticks: Quote[] = [];
    bystander.on('ticks', (batch) => ticks.push(...batch));
    const sender = await connected(service.url);
    const reasons = new Promise<string>((resolve) => sender.once('disconnect', resolve));
    sendRaw(sender, 'subscribe', { symbols: ['A'.repeat(64 * 1024)] });
    expect(await reasons).toBe('transport close');
    const before = ticks.length;
    await until(() => ticks.length > before, 5000, 'ticks to the bystander after the sender was cut');
    expect(bystander.connected).toBe(true);
    // Polling: the oversized POST is refused and that client is cut too.
    const polling = await connected(service.url, { transports: ['polling'] });
    const pollingGone = new Promise<string>((resolve) => polling.once('disconnect', resolve));
    sendRaw(polling, 'subscribe', { symbols: ['A'.repeat(64 * 1024)] });
    expect(await pollingGone).toMatch(/transport (close|error)/);
    expect(bystander.connected).toBe(true);
  });
});
