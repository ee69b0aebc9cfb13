import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import type { Metrics } from '../metrics.js';
import { errorAck, normalizeSymbol, type Status, SYMBOL_PATTERN } from '../protocol.js';
import type { EdgeSources, Readiness } from './types.js';

/** What every role's HTTP port serves: liveness, readiness, metrics. */
export type HealthDeps = {
  metrics: Metrics;
  status: () => Status;
  readiness: () => Readiness;
};

export type HttpDeps = HealthDeps & {
  sources: Pick<EdgeSources, 'lastValues' | 'directory' | 'history'>;
  maxSymbolsPerRequest: number;
  /** Folder of the built dashboard, when it is served. */
  webRoot?: string;
  /** How to talk to this process's Socket.IO endpoint (GET /api/socket). */
  socket: SocketInfo;
};

/** What a client needs to know before it connects: the packet parser and the transports on offer. */
export type SocketInfo = { parser: 'json' | 'msgpack'; transports: readonly string[] };

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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Answers /healthz, /readyz and /metrics; returns false for any other path. `/readyz` is 503 with the
 * reason while the process cannot serve (no live feed, Redis down, symbols not known yet).
 */
export function answerHealth(deps: HealthDeps, pathname: string, res: ServerResponse): boolean {
  switch (pathname) {
    case '/healthz':
      sendJson(res, 200, { ok: true });
      return true;
    case '/readyz': {
      const readiness = deps.readiness();
      const body = readiness.ready ? { ok: true } : { ok: false, reason: readiness.reason };
      sendJson(res, readiness.ready ? 200 : 503, { ...body, ...deps.status() });
      return true;
    }
    case '/metrics':
      deps.metrics.render().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          res.end(text);
        },
        () => sendJson(res, 500, errorAck('INTERNAL', 'metrics failed')),
      );
      return true;
    default:
      return false;
  }
}

/** The HTTP port of a process with no clients (the ingest role): health, readiness and metrics only. */
export function healthRoutes(deps: HealthDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (!answerHealth(deps, pathname, res)) sendJson(res, 404, errorAck('BAD_REQUEST', 'not found'));
  };
}

/** The edge's HTTP side: health, readiness, metrics, the REST mirror of the socket requests, and the dashboard. */
export function httpRoutes(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { directory, lastValues, history } = deps.sources;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, errorAck('BAD_REQUEST', 'only GET is served'));
      return;
    }
    if (answerHealth(deps, url.pathname, res)) return;
    switch (url.pathname) {
      case '/api/symbols':
        sendJson(res, 200, { ok: true, symbols: directory.list() });
        return;
      case '/api/socket':
        sendJson(res, 200, { ok: true, ...deps.socket });
        return;
      case '/api/snapshot': {
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
        // A gateway that has just started may not know the symbols yet: it waits for them, as a subscribe does.
        Promise.resolve(directory.known?.())
          .then(async () => {
            const rejected = symbols
              .filter((s) => !SYMBOL_PATTERN.test(s) || !directory.has(s))
              .map((symbol) =>
                SYMBOL_PATTERN.test(symbol)
                  ? { symbol, code: 'UNKNOWN_SYMBOL', message: `unknown symbol ${symbol}` }
                  : { symbol, code: 'BAD_REQUEST', message: 'not a valid symbol' },
              );
            // A promise when the last values live in Redis (cluster gateway).
            const snapshot = await lastValues.snapshot(symbols.filter((s) => directory.has(s)));
            return { ok: true, snapshot, rejected };
          })
          .then(
            (body) => sendJson(res, 200, body),
            () => sendJson(res, 503, errorAck('INTERNAL', 'snapshot unavailable')),
          );
        return;
      }
      case '/api/history': {
        const param = url.searchParams.get('symbol');
        const symbol = param === null ? undefined : normalizeSymbol(param);
        if (!symbol || !SYMBOL_PATTERN.test(symbol)) {
          sendJson(res, 400, errorAck('BAD_REQUEST', 'symbol: expected ?symbol=AAPL'));
          return;
        }
        Promise.resolve(directory.known?.())
          .then(async () => {
            if (!directory.has(symbol)) return undefined;
            return (await history?.bars(symbol)) ?? [];
          })
          .then(
            (bars) =>
              bars
                ? sendJson(res, 200, { ok: true, symbol, bars })
                : sendJson(res, 404, errorAck('UNKNOWN_SYMBOL', `unknown symbol ${symbol}`)),
            () => sendJson(res, 503, errorAck('INTERNAL', 'history unavailable')),
          );
        return;
      }
      default:
        serveStatic(deps.webRoot, url.pathname, res);
    }
  };
}

/** Serves the file at `pathname` under `root`, or its index.html (a page's own routes); never outside `root`. */
export function serveStatic(root: string | undefined, pathname: string, res: ServerResponse): void {
  if (!root) {
    sendJson(res, 404, errorAck('BAD_REQUEST', 'not found'));
    return;
  }
  const base = resolve(root);
  let file = normalize(join(base, decodeURIComponent(pathname)));
  if (!file.startsWith(base)) {
    sendJson(res, 404, errorAck('BAD_REQUEST', 'not found'));
    return;
  }
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(base, 'index.html');
  if (!existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('dashboard not built: run `npm run build:web`');
    return;
  }
  const immutable = file.includes(`${join(base, 'assets')}`);
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  createReadStream(file).pipe(res);
}
