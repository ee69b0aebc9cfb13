import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Metrics } from '../metrics.js';
import { type ErrorCode, errorAck, normalizeSymbol, type Status } from '../protocol.js';
import {
  type AccessPolicy,
  type AccessRule,
  ADMIN_UI_PATH,
  HTTP_ACCESS,
  type HttpRoute,
  METRICS_PORT_ACCESS,
  routeOf,
} from './accessPolicy.js';
import { checkSymbol } from './symbolChecks.js';
import type { Access, EdgeSources, Readiness, Refusal } from './types.js';

/** What every role's HTTP port serves: liveness, readiness, metrics. */
export type HealthDeps = {
  metrics: Metrics;
  status: () => Status;
  readiness: () => Readiness;
  /** Who may use which route (HTTP_ACCESS), asked before every request. */
  access: AccessPolicy;
  /** /metrics is served on an address of its own (`server.metricsPort`), not on this port. */
  metricsApart?: boolean;
};

export type HttpDeps = HealthDeps & {
  sources: Pick<EdgeSources, 'lastValues' | 'directory' | 'history'>;
  maxSymbolsPerRequest: number;
  /** Folder of the built dashboard, when it is served. */
  webRoot?: string;
  /** Folder of the Admin UI's files, when `server.adminUi` is on (`/admin-ui/*`; else that route is 404). */
  adminUiRoot?: string;
  /** How to talk to this process's Socket.IO endpoint (GET /api/socket). */
  socket: SocketInfo;
};

/** What a client needs to know before it connects: the packet parser and the transports on offer. */
export type SocketInfo = { parser: 'json' | 'msgpack'; transports: readonly string[] };

type RouteRequest = { url: URL; res: ServerResponse; allowed: Extract<Access, { ok: true }> };
type RouteHandler = (request: RouteRequest) => void;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/** The HTTP status of a per-symbol refusal answered as a whole (GET /api/history). */
const SYMBOL_STATUS: Partial<Record<ErrorCode, number>> = { BAD_REQUEST: 400, UNKNOWN_SYMBOL: 404, UNAUTHORIZED: 403 };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** Answers with what `compute` resolves to, or 503 with `unavailable` when it fails (Redis on a gateway). */
function sendLater(res: ServerResponse, compute: () => Promise<[number, unknown]>, unavailable: string): void {
  compute().then(
    ([status, body]) => sendJson(res, status, body),
    () => sendJson(res, 503, errorAck('INTERNAL', unavailable)),
  );
}

/** 401 with a Bearer challenge (RFC 6750) when no acceptable token came, 403 when the token does not reach. */
function refuse(res: ServerResponse, refusal: Refusal): void {
  if (refusal.kind === 'forbidden') {
    res.setHeader('www-authenticate', 'Bearer realm="tickstream", error="insufficient_scope"');
    sendJson(res, 403, errorAck('UNAUTHORIZED', 'this needs an admin token'));
    return;
  }
  const missing = refusal.reason === 'missing';
  res.setHeader('www-authenticate', `Bearer realm="tickstream"${missing ? '' : ', error="invalid_token"'}`);
  sendJson(
    res,
    401,
    errorAck(
      'UNAUTHORIZED',
      missing ? 'this server needs a token: send Authorization: Bearer <token>' : `token refused: ${refusal.reason}`,
    ),
  );
}

/**
 * Dispatches a request to its route's handler once the access policy allows it (`rules`: HTTP_ACCESS, or the
 * metrics port's). A path without a handler here is 404; only GET and HEAD are served.
 */
function router(
  deps: Pick<HealthDeps, 'access' | 'metrics'>,
  handlers: Partial<Record<HttpRoute, RouteHandler>>,
  rules: Partial<Record<HttpRoute, AccessRule>> = HTTP_ACCESS,
): RequestListener {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // A 405 names the methods the resource has (RFC 9110 section 15.5.6).
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, errorAck('BAD_REQUEST', 'only GET is served'));
      return;
    }
    const target = requestUrl(req.url);
    if (!target.ok) {
      sendJson(res, 400, errorAck('BAD_REQUEST', 'malformed request target'));
      return;
    }
    const { url } = target;
    const route = routeOf(url.pathname);
    const handle = route && handlers[route];
    const rule = route && rules[route];
    if (!handle || !rule) {
      sendJson(res, 404, errorAck('BAD_REQUEST', 'not found'));
      return;
    }
    const allowed = deps.access.http(rule, req.headers);
    if (!allowed.ok) {
      deps.metrics.authFailures.inc({ reason: allowed.refusal.reason });
      refuse(res, allowed.refusal);
      return;
    }
    handle({ url, res, allowed });
  };
}

/**
 * A request's target as a URL. One that does not parse (`GET http://[ HTTP/1.1`, which Node's parser lets
 * through) is `malformed`, for a 400: a throw here would leave the request unanswered and count as a process
 * error, and enough of them end the process.
 */
export function requestUrl(target: string | undefined): { ok: true; url: URL } | { ok: false; reason: 'malformed' } {
  try {
    return { ok: true, url: new URL(target ?? '/', 'http://localhost') };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** Prometheus text of `metrics`. */
function metricsHandler(metrics: Metrics): RouteHandler {
  return ({ res }) =>
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      },
      () => sendJson(res, 500, errorAck('INTERNAL', 'metrics failed')),
    );
}

/**
 * /healthz, /readyz and (unless it is served apart) /metrics. `/readyz` is 503 with the reason while the
 * process cannot serve (no live feed, Redis down, symbols not known yet).
 */
function healthHandlers(deps: HealthDeps): Pick<Record<HttpRoute, RouteHandler>, '/healthz' | '/readyz'> & {
  '/metrics'?: RouteHandler;
} {
  return {
    '/healthz': ({ res }) => sendJson(res, 200, { ok: true }),
    '/readyz': ({ res }) => {
      const readiness = deps.readiness();
      const body = readiness.ready ? { ok: true } : { ok: false, reason: readiness.reason };
      sendJson(res, readiness.ready ? 200 : 503, { ...body, ...deps.status() });
    },
    ...(deps.metricsApart ? {} : { '/metrics': metricsHandler(deps.metrics) }),
  };
}

/** The HTTP port of a process with no clients (the ingest role): health, readiness and metrics only. */
export function healthRoutes(deps: HealthDeps): RequestListener {
  return router(deps, healthHandlers(deps));
}

/** `server.metricsPort`'s listener: /metrics alone, open (METRICS_PORT_ACCESS). */
export function metricsPortRoutes(deps: Pick<HealthDeps, 'access' | 'metrics'>): RequestListener {
  return router(deps, { '/metrics': metricsHandler(deps.metrics) }, METRICS_PORT_ACCESS);
}

/** The edge's HTTP side: health, readiness, metrics, the REST mirror of the socket requests, and the dashboard. */
export function httpRoutes(deps: HttpDeps): RequestListener {
  const { directory, lastValues, history } = deps.sources;
  const handlers: Omit<Record<HttpRoute, RouteHandler>, '/metrics' | '/admin-ui/*'> &
    Partial<Record<'/admin-ui/*', RouteHandler>> = {
    ...healthHandlers(deps),
    '/api/symbols': ({ res, allowed }) =>
      sendJson(res, 200, { ok: true, symbols: directory.list().filter((info) => allowed.mayWatch(info.symbol)) }),
    '/api/socket': ({ res }) => sendJson(res, 200, { ok: true, ...deps.socket }),
    '/api/snapshot': ({ url, res, allowed }) => {
      const param = url.searchParams.get('symbols');
      if (!param) {
        sendJson(res, 400, errorAck('BAD_REQUEST', 'symbols: expected ?symbols=AAPL,MSFT'));
        return;
      }
      const symbols = [...new Set(param.split(',').map(normalizeSymbol).filter(Boolean))];
      if (symbols.length > deps.maxSymbolsPerRequest) {
        sendJson(res, 400, errorAck('LIMIT_EXCEEDED', `at most ${deps.maxSymbolsPerRequest} symbols per request`));
        return;
      }
      sendLater(
        res,
        async () => {
          // A gateway that has just started may not know the symbols yet: it waits for them, as a subscribe does.
          await directory.known?.();
          const checks = symbols.map((symbol) => checkSymbol(symbol, directory, allowed.mayWatch));
          // A promise when the last values live in Redis (cluster gateway).
          const snapshot = await lastValues.snapshot(checks.flatMap((c) => (c.ok ? [c.symbol] : [])));
          return [200, { ok: true, snapshot, rejected: checks.flatMap((c) => (c.ok ? [] : [c.rejection])) }];
        },
        'snapshot unavailable',
      );
    },
    '/api/history': ({ url, res, allowed }) => {
      const param = url.searchParams.get('symbol');
      if (!param?.trim()) {
        sendJson(res, 400, errorAck('BAD_REQUEST', 'symbol: expected ?symbol=AAPL'));
        return;
      }
      sendLater(
        res,
        async () => {
          await directory.known?.();
          const checked = checkSymbol(param, directory, allowed.mayWatch);
          if (!checked.ok) {
            const { code, message } = checked.rejection;
            return [SYMBOL_STATUS[code] ?? 400, errorAck(code, message)];
          }
          const bars = (await history?.bars(checked.symbol)) ?? [];
          return [200, { ok: true, symbol: checked.symbol, bars }];
        },
        'history unavailable',
      );
    },
    ...(deps.adminUiRoot ? { '/admin-ui/*': adminUiPages(deps.adminUiRoot) } : {}),
    '/*': ({ url, res }) => serveStatic(deps.webRoot, url.pathname, res),
  };
  return router(deps, handlers);
}

/**
 * The Admin UI's files, served by the process itself so the UI is same-origin (no CORS, allowed by the Origin
 * check, no mixed content on a plain-http host) and needs no outside site. They hold no secret: the login is
 * checked on the admin namespace.
 */
function adminUiPages(root: string): RouteHandler {
  const bare = ADMIN_UI_PATH.slice(0, -1);
  return ({ url, res }) => {
    if (url.pathname === bare) {
      // Its files are linked relatively (js/app.js): the page must be at the folder's address.
      res.writeHead(301, { location: ADMIN_UI_PATH });
      res.end();
      return;
    }
    serveStatic(root, url.pathname.slice(bare.length), res);
  };
}

/** Serves the file at `pathname` under `root`, or its index.html (a page's own routes); never outside `root`. */
export function serveStatic(root: string | undefined, pathname: string, res: ServerResponse): void {
  if (!root) {
    sendJson(res, 404, errorAck('BAD_REQUEST', 'not found'));
    return;
  }
  const base = resolve(root);
  const named = fileUnder(base, pathname);
  if (!named.ok) {
    const [status, message] = named.reason === 'malformed' ? [400, 'malformed URL path'] : [404, 'not found'];
    sendJson(res, status, errorAck('BAD_REQUEST', message));
    return;
  }
  let file = named.file;
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(base, 'index.html');
  if (!existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('dashboard not built: run `npm run build:web`');
    return;
  }
  const immutable = isWithin(join(base, 'assets'), file);
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  createReadStream(file).pipe(res);
}

/**
 * The file a URL path names under `base`. A path whose percent-encoding does not decode is malformed (an
 * uncaught URIError here would end the request's process); one that leaves `base`, through `..` or an encoded
 * slash, is outside, even where it lands in a sibling folder whose name starts with base's.
 */
function fileUnder(
  base: string,
  pathname: string,
): { ok: true; file: string } | { ok: false; reason: 'malformed' | 'outside' } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const file = join(base, decoded);
  return isWithin(base, file) ? { ok: true, file } : { ok: false, reason: 'outside' };
}

/** Whether `file` is the folder `dir` or below it (not a sibling whose name shares its prefix). */
function isWithin(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
