import { auditTime, defer, finalize, map, merge, type Observable, type Subscription, scan, tap } from 'rxjs';
import msgpackParser from 'socket.io-msgpack-parser';
import {
  type ConnectionState,
  connect,
  type Quote,
  type Status,
  TickstreamError,
} from '../../packages/client/src/index.js';
import { parseCommandArgs } from './args.js';
import { untilSignal } from './signals.js';

export const WATCH_HELP = `tickstream watch: live quotes of some symbols in the terminal

Usage: tickstream watch SYMBOL... [options]

Options:
  --url URL        the tickstream server (default http://localhost:3000; also TICKSTREAM_URL)
  --hz N           at most N updates per symbol per second (default: the server's default rate)
  --json           one quote per line as JSON (NDJSON), for piping; no colours, no redraw
  --token T        access token, when the server requires one (also TICKSTREAM_TOKEN)
  --msgpack        speak Socket.IO with the msgpack parser (for a server with server.parser "msgpack")
  -h, --help       this help

On a terminal it draws a table that updates in place (Ctrl-C quits); otherwise it prints one plain line per
quote. NO_COLOR turns colours off.`;

const WATCH_FLAGS = {
  url: { type: 'string' },
  hz: { type: 'string' },
  json: { type: 'boolean' },
  token: { type: 'string' },
  msgpack: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Output = 'json' | 'lines' | 'table';

/** Everything the table shows. */
export type WatchView = {
  symbols: readonly string[];
  url: string;
  connection: ConnectionState;
  status?: Status;
  rows: ReadonlyMap<string, { quote: Quote; direction: -1 | 0 | 1 }>;
};

type ViewEvent =
  | { kind: 'quote'; quote: Quote }
  | { kind: 'connection'; state: ConnectionState }
  | { kind: 'status'; status: Status };

export function updateView(view: WatchView, event: ViewEvent): WatchView {
  switch (event.kind) {
    case 'connection':
      return { ...view, connection: event.state };
    case 'status':
      return { ...view, status: event.status };
    case 'quote': {
      const previous = view.rows.get(event.quote.symbol);
      const delta = previous ? event.quote.price - previous.quote.price : 0;
      const direction = delta > 0 ? 1 : delta < 0 ? -1 : (previous?.direction ?? 0);
      const rows = new Map(view.rows).set(event.quote.symbol, { quote: event.quote, direction });
      return { ...view, rows };
    }
  }
}

// ANSI: colours (SGR), line clearing and cursor movement for the in-place redraw.
const ESC = '\x1b[';
const SGR = { reset: `${ESC}0m`, bold: `${ESC}1m`, dim: `${ESC}2m`, red: `${ESC}31m`, green: `${ESC}32m` };
export const HIDE_CURSOR = `${ESC}?25l`;
export const SHOW_CURSOR = `${ESC}?25h`;
const CLEAR_LINE = `${ESC}2K`;
const CLEAR_BELOW = `${ESC}0J`;
const cursorUp = (lines: number) => `${ESC}${lines}A`;

type Paint = (text: string, ...styles: (keyof typeof SGR)[]) => string;
const painter =
  (color: boolean): Paint =>
  (text, ...styles) =>
    color && styles.length ? `${styles.map((s) => SGR[s]).join('')}${text}${SGR.reset}` : text;

const decimals = (price: number) => (price < 1 ? 4 : 2);
const fixed = (value: number | undefined, digits: number) => (value === undefined ? '-' : value.toFixed(digits));
const volume = (value: number | undefined) => (value === undefined ? '-' : Math.round(value).toLocaleString('en-US'));
const signed = (value: number, digits: number) => `${value > 0 ? '+' : ''}${value.toFixed(digits)}`;
const pad2 = (n: number) => String(n).padStart(2, '0');

export function clockTime(ts: number): string {
  const d = new Date(ts);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const COLUMNS = [
  ['SYMBOL', -10],
  ['PRICE', 12],
  ['CHANGE', 12],
  ['CHANGE%', 10],
  ['BID', 12],
  ['ASK', 12],
  ['VOLUME', 15],
  ['TIME', 14],
] as const;

const cell = (text: string, width: number) => (width < 0 ? text.padEnd(-width) : text.padStart(width));

/** The status line: where, the connection state, each feed's state, the market session. */
export function statusLine(view: WatchView, paint: Paint): string {
  const dot = { connected: paint('●', 'green'), connecting: paint('●', 'dim'), disconnected: paint('●', 'red') };
  const parts = [`${paint('tickstream', 'bold')} ${view.url}`, `${dot[view.connection]} ${view.connection}`];
  const { status } = view;
  if (status) {
    const feeds = status.feeds.map((f) => `${f.id} ${f.state === 'live' ? f.state : paint(f.state, 'red')}`);
    parts.push(`feeds: ${feeds.join(', ') || 'none'}`);
    if (status.session) parts.push(`session: ${status.session.state}`);
    if (status.replay) parts.push(`replay ${status.replay.paused ? 'paused' : `x${status.replay.speed}`}`);
    if (status.throttled) parts.push(paint('throttled (slow reader)', 'red'));
    if (status.closing) parts.push(paint(`server closing: ${status.closing.message}`, 'red'));
  }
  return parts.join('   ');
}

function tableRow(symbol: string, view: WatchView, paint: Paint): string {
  const row = view.rows.get(symbol);
  if (!row) return [cell(symbol, -10), paint(cell('waiting…', 12), 'dim')].join('');
  const { quote: q, direction } = row;
  const digits = decimals(q.price);
  const tone = (sign: number) => (sign > 0 ? 'green' : sign < 0 ? 'red' : undefined);
  const arrow = (sign: number) => (sign > 0 ? '▲' : sign < 0 ? '▼' : ' ');
  const styled = (text: string, sign: number) => {
    const color = tone(sign);
    return color ? paint(text, color) : text;
  };
  const change = q.change ?? 0;
  const cells = [
    cell(q.symbol, -10),
    styled(cell(`${arrow(direction)} ${q.price.toFixed(digits)}`, 12), direction),
    styled(cell(q.change === undefined ? '-' : `${arrow(change)} ${signed(change, digits)}`, 12), change),
    styled(cell(q.changePct === undefined ? '-' : `${signed(q.changePct, 2)}%`, 10), change),
    cell(fixed(q.bid, digits), 12),
    cell(fixed(q.ask, digits), 12),
    cell(volume(q.volume), 15),
    cell(clockTime(q.ts), 14),
  ];
  return cells.join('');
}

/**
 * The whole table, one string per terminal line, each cut to `width` visible columns and, when the rows do not
 * fit in `height` lines, the last ones summed up (a frame taller than the screen would break the redraw).
 */
export function renderTable(view: WatchView, options: { color: boolean; width: number; height?: number }): string[] {
  const paint = painter(options.color);
  const header = paint(COLUMNS.map(([name, width]) => cell(name, width)).join(''), 'bold');
  const room = Math.max(1, (options.height ?? Number.POSITIVE_INFINITY) - 2);
  const shown = view.symbols.length > room ? view.symbols.slice(0, room - 1) : view.symbols;
  const rows = shown.map((symbol) => tableRow(symbol, view, paint));
  if (shown.length < view.symbols.length) rows.push(paint(`… ${view.symbols.length - shown.length} more`, 'dim'));
  return [statusLine(view, paint), header, ...rows].map((line) => cutVisible(line, options.width));
}

/** Cuts `line` to `width` visible characters, keeping ANSI sequences (so colours still reset). */
export function cutVisible(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      out += line.slice(i, end + 1);
      i = end;
    } else if (visible < width) {
      out += line[i];
      visible++;
    }
  }
  return out;
}

/** One plain line per quote (no terminal): `AAPL 230.12 +0.25 +0.11% bid 230.11 ask 230.13 vol 1,234 10:31:02.123`. */
export function plainLine(q: Quote): string {
  const digits = decimals(q.price);
  return [
    q.symbol,
    q.price.toFixed(digits),
    q.change === undefined ? '-' : signed(q.change, digits),
    q.changePct === undefined ? '-' : `${signed(q.changePct, 2)}%`,
    `bid ${fixed(q.bid, digits)}`,
    `ask ${fixed(q.ask, digits)}`,
    `vol ${volume(q.volume)}`,
    clockTime(q.ts),
  ].join(' ');
}

/** Redraws the table in place: back up over the previous frame, rewrite each line, clear what is left. */
class TerminalTable {
  private drawn = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly color: boolean,
  ) {}

  start(): void {
    this.out.write(HIDE_CURSOR);
  }

  draw(view: WatchView): void {
    // A terminal that reports no size (0 columns, 0 rows) gets the whole frame rather than none.
    const width = this.out.columns > 0 ? this.out.columns - 1 : Number.POSITIVE_INFINITY;
    const height = this.out.rows > 0 ? this.out.rows - 1 : Number.POSITIVE_INFINITY;
    const lines = renderTable(view, { color: this.color, width, height });
    const back = this.drawn ? cursorUp(this.drawn) : '';
    this.out.write(`${back}${lines.map((line) => `${CLEAR_LINE}${line}\n`).join('')}${CLEAR_BELOW}`);
    this.drawn = lines.length;
  }

  stop(): void {
    this.out.write(SHOW_CURSOR);
  }
}

function chooseOutput(json: boolean | undefined, out: NodeJS.WriteStream): Output {
  if (json) return 'json';
  return out.isTTY ? 'table' : 'lines';
}

const useColor = (env: NodeJS.ProcessEnv) => !env.NO_COLOR;

export async function watchCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, WATCH_FLAGS);
  if (values.help) {
    console.log(WATCH_HELP);
    return 0;
  }
  const symbols = [...new Set(positionals.map((s) => s.trim().toUpperCase()).filter(Boolean))];
  if (!symbols.length) {
    console.error('tickstream watch: name at least one symbol, e.g. tickstream watch AAPL MSFT');
    return 2;
  }
  const maxHz = values.hz === undefined ? undefined : Number(values.hz);
  if (maxHz !== undefined && !(Number.isFinite(maxHz) && maxHz > 0)) {
    console.error(`tickstream watch: --hz must be a positive number, got "${values.hz}"`);
    return 2;
  }
  const url = values.url ?? env.TICKSTREAM_URL ?? 'http://localhost:3000';
  const token = values.token ?? env.TICKSTREAM_TOKEN;
  const out = process.stdout;
  const output = chooseOutput(values.json, out);
  const client = connect(url, {
    ...(token === undefined ? {} : { token }),
    ...(values.msgpack ? { parser: msgpackParser } : {}),
  });

  const quotes$ = client.watch(symbols, maxHz === undefined ? {} : { maxHz });
  const session$ =
    output === 'table'
      ? tableSession(quotes$, client.connection$, client.status$, { symbols, url, color: useColor(env), out })
      : lineSession(quotes$, client.connection$, output, out);

  let subscription: Subscription | undefined;
  const ended = new Promise<Error | undefined>((resolve) => {
    out.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EPIPE' ? undefined : err));
    subscription = session$.subscribe({
      error: (err: unknown) => resolve(err instanceof Error ? err : new Error(String(err))),
      complete: () => resolve(undefined),
    });
  });
  const outcome = await Promise.race([untilSignal().then(() => undefined), ended]);
  subscription?.unsubscribe();
  client.close();
  if (outcome) {
    const what = outcome instanceof TickstreamError ? `${outcome.code}: ${outcome.message}` : outcome.message;
    console.error(`tickstream watch: ${what}`);
    return 1;
  }
  return 0;
}

/** Draws the table while subscribed; restores the cursor when it ends, whatever the reason. */
function tableSession(
  quotes$: Observable<Quote>,
  connection$: Observable<ConnectionState>,
  status$: Observable<Status>,
  options: { symbols: string[]; url: string; color: boolean; out: NodeJS.WriteStream },
): Observable<WatchView> {
  return defer(() => {
    const table = new TerminalTable(options.out, options.color);
    const initial: WatchView = {
      symbols: options.symbols,
      url: options.url,
      connection: 'connecting',
      rows: new Map(),
    };
    table.start();
    table.draw(initial);
    return merge(
      quotes$.pipe(map((quote): ViewEvent => ({ kind: 'quote', quote }))),
      connection$.pipe(map((state): ViewEvent => ({ kind: 'connection', state }))),
      status$.pipe(map((status): ViewEvent => ({ kind: 'status', status }))),
    ).pipe(
      scan(updateView, initial),
      // At most ten frames a second, always the newest view.
      auditTime(100),
      tap((view) => table.draw(view)),
      finalize(() => table.stop()),
    );
  });
}

/** Prints one line per quote (NDJSON or plain); connection changes go to stderr so stdout stays pure data. */
function lineSession(
  quotes$: Observable<Quote>,
  connection$: Observable<ConnectionState>,
  output: 'json' | 'lines',
  out: NodeJS.WriteStream,
): Observable<unknown> {
  const format = output === 'json' ? (q: Quote) => JSON.stringify(q) : plainLine;
  return merge(
    quotes$.pipe(tap((q) => out.write(`${format(q)}\n`))),
    connection$.pipe(tap((state) => process.stderr.write(`tickstream watch: ${state}\n`))),
  );
}
