import {
  arrow,
  ClockFormatter,
  type ConnectFailure,
  type ConnectionState,
  formatPrice,
  formatSigned,
  formatVolume,
  type NumberStyle,
  priceDigits,
  type Quote,
  type Rejection,
  type Status,
} from '../../packages/client/src/index.js';

/** Everything the table shows. */
export type WatchView = {
  symbols: readonly string[];
  url: string;
  connection: ConnectionState;
  status?: Status;
  rows: ReadonlyMap<string, { quote: Quote; direction: -1 | 0 | 1 }>;
  /** Symbols the server refused while the others go on. */
  refused?: ReadonlyMap<string, Rejection>;
  /** The last failed attempt to connect, while not connected. */
  failure?: ConnectFailure;
  /** When the watch gives up if still not connected (epoch ms); none while connected or with --timeout 0. */
  giveUpAt?: number;
  /** The zone to show a symbol's times in. */
  zoneOf: (symbol: string) => string;
};

/** What changes the view. */
export type ViewEvent =
  | { kind: 'quote'; quote: Quote }
  | { kind: 'connection'; state: ConnectionState }
  | { kind: 'status'; status: Status }
  | { kind: 'failure'; failure: ConnectFailure }
  | { kind: 'rejected'; rejection: Rejection }
  | { kind: 'deadline'; giveUpAt: number | undefined }
  | { kind: 'zones'; zoneOf: (symbol: string) => string };

/** The view after `event`. */
export function updateView(view: WatchView, event: ViewEvent): WatchView {
  switch (event.kind) {
    case 'connection':
      // A failure explains a wait for a connection; once connected it is history.
      return event.state === 'connected'
        ? { ...view, connection: event.state, failure: undefined }
        : { ...view, connection: event.state };
    case 'status':
      return { ...view, status: event.status };
    case 'failure':
      return { ...view, failure: event.failure };
    case 'rejected':
      return { ...view, refused: new Map(view.refused).set(event.rejection.symbol, event.rejection) };
    case 'deadline':
      return { ...view, giveUpAt: event.giveUpAt };
    case 'zones':
      return { ...view, zoneOf: event.zoneOf };
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

// Times with milliseconds, then the zone's short name: "10:31:02.123 EST".
const clock = new ClockFormatter({ milliseconds: true });

const COLUMNS = [
  ['SYMBOL', -10],
  ['PRICE', 13],
  ['CHANGE', 12],
  ['CHANGE%', 10],
  ['BID', 12],
  ['ASK', 12],
  ['VOLUME', 10],
  ['TIME', 19],
] as const;

const cell = (text: string, width: number) => (width < 0 ? text.padEnd(-width) : text.padStart(width));

/** "connecting: connection refused (attempt 3, giving up in 7 s)", while not connected. */
function connectionText(view: WatchView, now: number): string {
  if (view.connection === 'connected' || !view.failure) return view.connection;
  const left =
    view.giveUpAt === undefined ? '' : `, giving up in ${Math.max(0, Math.ceil((view.giveUpAt - now) / 1000))} s`;
  return `${view.connection}: ${view.failure.message} (attempt ${view.failure.attempt}${left})`;
}

/** The status line: where, the connection state, each feed's state, the market session. */
export function statusLine(view: WatchView, paint: Paint, now = Date.now()): string {
  const dot = { connected: paint('●', 'green'), connecting: paint('●', 'dim'), disconnected: paint('●', 'red') };
  const parts = [`${paint('tickstream', 'bold')} ${view.url}`, `${dot[view.connection]} ${connectionText(view, now)}`];
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

/** A quote's fields as text, in `style`, with bid, ask and change to the price's decimals. */
function quoteCells(q: Quote, style: NumberStyle) {
  const digits = priceDigits(q.price);
  return {
    price: formatPrice(q.price, { style }),
    change: formatSigned(q.change, '', { style, digits }),
    changePct: formatSigned(q.changePct, '%', { style }),
    bid: formatPrice(q.bid, { style, digits }),
    ask: formatPrice(q.ask, { style, digits }),
    volume: formatVolume(q.volume, { style }),
  };
}

function tableRow(symbol: string, view: WatchView, paint: Paint): string {
  const row = view.rows.get(symbol);
  const refused = view.refused?.get(symbol);
  if (!row) {
    const note = refused ? paint(`refused: ${refused.code}`, 'red') : paint(cell('waiting…', 13), 'dim');
    return [cell(symbol, -10), note].join('');
  }
  const { quote: q, direction } = row;
  const text = quoteCells(q, 'display');
  const tone = (sign: number) => (sign > 0 ? 'green' : sign < 0 ? 'red' : undefined);
  const styled = (value: string, sign: number) => {
    const color = tone(sign);
    return color ? paint(value, color) : value;
  };
  // The price's arrow is its last move; the change's is against the previous close. A space when flat keeps
  // the numbers aligned.
  const marked = (sign: number, value: string) => `${arrow(sign) || ' '} ${value}`;
  const change = Math.sign(q.change ?? 0);
  const cells = [
    cell(q.symbol, -10),
    styled(cell(marked(direction, text.price), 13), direction),
    styled(cell(q.change === undefined ? text.change : marked(change, text.change), 12), change),
    styled(cell(text.changePct, 10), change),
    cell(text.bid, 12),
    cell(text.ask, 12),
    cell(text.volume, 10),
    cell(clock.format(q.ts, view.zoneOf(q.symbol)), 19),
  ];
  return cells.join('');
}

/**
 * The whole table, one string per terminal line, each cut to `width` visible columns and, when the rows do not
 * fit in `height` lines, the last ones summed up (a frame taller than the screen would break the redraw).
 */
export function renderTable(
  view: WatchView,
  options: { color: boolean; width: number; height?: number; now?: number },
): string[] {
  const paint = painter(options.color);
  const header = paint(COLUMNS.map(([name, width]) => cell(name, width)).join(''), 'bold');
  const room = Math.max(1, (options.height ?? Number.POSITIVE_INFINITY) - 2);
  const shown = view.symbols.length > room ? view.symbols.slice(0, room - 1) : view.symbols;
  const rows = shown.map((symbol) => tableRow(symbol, view, paint));
  if (shown.length < view.symbols.length) rows.push(paint(`… ${view.symbols.length - shown.length} more`, 'dim'));
  return [statusLine(view, paint, options.now), header, ...rows].map((line) => cutVisible(line, options.width));
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

/**
 * One plain line per quote (no terminal), ASCII numbers for scripts:
 * `AAPL 230.12 +0.25 +0.11% bid 230.11 ask 230.13 vol 1234567 10:31:02.123 EST`.
 */
export function plainLine(q: Quote, zone: string): string {
  const text = quoteCells(q, 'plain');
  return [
    q.symbol,
    text.price,
    text.change,
    text.changePct,
    `bid ${text.bid}`,
    `ask ${text.ask}`,
    `vol ${text.volume}`,
    clock.format(q.ts, zone),
  ].join(' ');
}

/** Redraws the table in place: back up over the previous frame, rewrite each line, clear what is left. */
export class TerminalTable {
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
