import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import type { Metrics } from '../metrics.js';
import type { SymbolDirectory } from '../pipeline/symbolDirectory.js';
import { type Bar, errorAck, type Status, SYMBOL_PATTERN } from '../protocol.js';
import type { SnapshotSource } from './types.js';

export type HttpDeps = {
  metrics: Metrics;
  status: () => Status;
  directory: Pick<SymbolDirectory, 'has' | 'list'>;
  cache: SnapshotSource;
  maxSymbolsPerRequest: number;
  /** Folder of the built dashboard, when it is served. */
  webRoot?: string;
  /** Intraday 1-minute bars (GET /api/history); a promise when they live in Redis (cluster gateway). */
  history?: { bars(symbol: string): Bar[] | Promise<Bar[]> };
  /** How to talk to this process's Socket.IO endpoint (GET /api/socket); absent where there is none (ingest). */
  socket?: SocketInfo;
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

/** The HTTP side: health, readiness, metrics, the REST mirror of the socket requests, and the dashboard. */
export function httpRoutes(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, errorAck('BAD_REQUEST', 'only GET is served'));
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        sendJson(res, 200, { ok: true });
        return;
      case '/readyz': {
        const status = deps.status();
        // A cluster role is not ready while Redis is down: it can neither deliver nor publish.
        const ready =
          status.feeds.some((f) => f.state === 'live' || f.state === 'replay') && status.cluster?.redis !== 'down';
        sendJson(res, ready ? 200 : 503, { ok: ready, ...status });
        return;
      }
      case '/metrics':
        deps.metrics.render().then(
          (text) => {
            res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
            res.end(text);
          },
          () => sendJson(res, 500, errorAck('INTERNAL', 'metrics failed')),
        );
        return;
      case '/api/symbols':
        sendJson(res, 200, { ok: true, symbols: deps.directory.list() });
        return;
      case '/api/socket':
        if (deps.socket) sendJson(res, 200, { ok: true, ...deps.socket });
        else sendJson(res, 404, errorAck('BAD_REQUEST', 'no Socket.IO endpoint on this process'));
        return;
      case '/api/snapshot': {
        const param = url.searchParams.get('symbols');
        if (!param) {
          sendJson(res, 400, errorAck('BAD_REQUEST', 'symbols: expected ?symbols=AAPL,MSFT'));
          return;
        }
        const symbols = [
          ...new Set(
            param
              .split(',')
              .map((s) => s.trim().toUpperCase())
              .filter(Boolean),
          ),
        ];
        if (symbols.length > deps.maxSymbolsPerRequest) {
          sendJson(res, 400, errorAck('LIMIT_EXCEEDED', `at most ${deps.maxSymbolsPerRequest} symbols per request`));
          return;
        }
        const rejected = symbols
          .filter((s) => !SYMBOL_PATTERN.test(s) || !deps.directory.has(s))
          .map((symbol) =>
            SYMBOL_PATTERN.test(symbol)
              ? { symbol, code: 'UNKNOWN_SYMBOL', message: `unknown symbol ${symbol}` }
              : { symbol, code: 'BAD_REQUEST', message: 'not a valid symbol' },
          );
        // A promise when the last values live in Redis (cluster gateway).
        Promise.resolve()
          .then(() => deps.cache.snapshot(symbols))
          .then(
            (snapshot) => sendJson(res, 200, { ok: true, snapshot, rejected }),
            () => sendJson(res, 503, errorAck('INTERNAL', 'snapshot unavailable')),
          );
        return;
      }
      case '/api/history': {
        const symbol = url.searchParams.get('symbol')?.trim().toUpperCase();
        if (!symbol || !SYMBOL_PATTERN.test(symbol)) {
          sendJson(res, 400, errorAck('BAD_REQUEST', 'symbol: expected ?symbol=AAPL'));
          return;
        }
        if (!deps.directory.has(symbol)) {
          sendJson(res, 404, errorAck('UNKNOWN_SYMBOL', `unknown symbol ${symbol}`));
          return;
        }
        Promise.resolve()
          .then(() => deps.history?.bars(symbol) ?? [])
          .then(
            (bars) => sendJson(res, 200, { ok: true, symbol, bars }),
            () => sendJson(res, 503, errorAck('INTERNAL', 'history unavailable')),
          );
        return;
      }
      default:
        serveStatic(deps.webRoot, url.pathname, res);
    }
  };
}

function serveStatic(root: string | undefined, pathname: string, res: ServerResponse): void {
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
