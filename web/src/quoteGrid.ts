import type { ErrorCode, FeedState, FeedStatus, Quote, Rejection, SymbolInfo } from '../../src/protocol.js';
import { fitColumns, widestQuotes } from './columnFit.js';
import { arrow, ClockFormatter, exchangeZone, formatPrice, formatSigned, formatVolume } from './format.js';

/** A symbol of the simulated universe, as wide as BTC-USD: the symbol column fits at least this. */
const SYMBOL_SAMPLE = 'SYM0000';

export type SortKey = 'symbol' | 'price' | 'change' | 'changePct' | 'bid' | 'ask' | 'volume' | 'ts';
export type SortDirection = 'ascending' | 'descending';

type Cells = {
  priceCell: HTMLElement;
  price: HTMLElement;
  tick: HTMLElement;
  change: HTMLElement;
  changePct: HTMLElement;
  bid: HTMLElement;
  ask: HTMLElement;
  volume: HTMLElement;
  exchangeTime: HTMLElement;
  localTime: HTMLElement;
};

/** Why the server refused a symbol, as the row says it. */
const REFUSALS: Record<ErrorCode, string> = {
  UNKNOWN_SYMBOL: 'unknown symbol',
  UNAUTHORIZED: 'not allowed by your token',
  LIMIT_EXCEEDED: 'over the limit',
  BAD_REQUEST: 'not a valid symbol',
  RATE_LIMITED: 'too many requests, try again',
  INTERNAL: 'server error',
};

/** What rows share to format their cells. */
type RowContext = {
  exchangeClock: ClockFormatter;
  localClock: ClockFormatter;
  localZone: string;
  zoneOf: (symbol: string) => string;
};

/**
 * Every row's markup, parsed once and cloned per symbol. Explicit roles, as withTableRoles below; the cells'
 * `data-field` and classes are what the styles, the column fit and the browser tests find them by.
 */
const ROW_HTML = `<tr role="row">
  <th scope="row" role="rowheader" class="col-symbol"><button type="button" class="symbol"></button></th>
  <td role="cell" class="col-num price" data-field="price"><span class="tick" aria-hidden="true"></span><span class="price-text">–</span></td>
  <td role="cell" class="col-num" data-field="change">–</td>
  <td role="cell" class="col-num" data-field="changePct">–</td>
  <td role="cell" class="col-num col-bid" data-field="bid">–</td>
  <td role="cell" class="col-num col-ask" data-field="ask">–</td>
  <td role="cell" class="col-num col-volume" data-field="volume">–</td>
  <td role="cell" class="col-time" data-field="time"><span class="exchange-time"></span><span class="local-time"></span></td>
  <td role="cell" class="col-actions"><button type="button" class="remove">✕</button></td>
</tr>`.replace(/>\s+</g, '><');

let template: HTMLTemplateElement | undefined;

function rowTemplate(): HTMLTemplateElement {
  if (!template) {
    template = document.createElement('template');
    template.innerHTML = ROW_HTML;
  }
  return template;
}

/** The element at `selector` in a row, of the kind the row's code expects. */
function part<T extends Element>(root: ParentNode, selector: string, kind: new () => T): T {
  const element = root.querySelector(selector);
  if (!(element instanceof kind)) throw new Error(`quote row template: no ${selector}`);
  return element;
}

/**
 * One row, created once per symbol and reused. It always keeps the newest quote (sorting uses it) but writes
 * its cells only while on screen, and then only the cells whose text changed.
 */
class QuoteRow {
  readonly element: HTMLTableRowElement;
  readonly select: HTMLButtonElement;
  /** The newest quote received. */
  quote: Quote | undefined;
  /** Set by the grid's observer, which reports every new row once (within a frame) and then each change. */
  onScreen = false;
  /** The quote the cells show. */
  private shown: Quote | undefined;
  private readonly cells: Cells;
  private readonly written = new Map<HTMLElement, string>();
  private flip = false;
  /** The server's refusal, shown in the row until a quote comes or the row is subscribed again. */
  private refusal: HTMLElement | undefined;
  /** The state of the newest quote's feed when it is not live (stale, down): the price may be old. */
  private feedState: FeedState | undefined;

  constructor(
    readonly symbol: string,
    info: SymbolInfo | undefined,
    onRemove: (symbol: string) => void,
  ) {
    const row = rowTemplate().content.firstElementChild?.cloneNode(true);
    if (!(row instanceof HTMLTableRowElement)) throw new Error('quote row template: no row');
    row.dataset.symbol = symbol;
    this.select = part(row, 'button.symbol', HTMLButtonElement);
    this.select.textContent = symbol;
    this.select.title = info?.name ? `${info.name}: show chart` : 'Show chart';
    const remove = part(row, 'button.remove', HTMLButtonElement);
    remove.setAttribute('aria-label', `Remove ${symbol}`);
    remove.addEventListener('click', () => onRemove(symbol));
    this.element = row;
    const field = (name: string, inner = '') => part(row, `[data-field="${name}"]${inner}`, HTMLElement);
    this.cells = {
      priceCell: field('price'),
      price: field('price', ' > .price-text'),
      tick: field('price', ' > .tick'),
      change: field('change'),
      changePct: field('changePct'),
      bid: field('bid'),
      ask: field('ask'),
      volume: field('volume'),
      exchangeTime: field('time', ' > .exchange-time'),
      localTime: field('time', ' > .local-time'),
    };
  }

  /** Shows why the server refused this symbol; the row and its remove control stay. */
  refuse(rejection: Rejection): void {
    if (!this.refusal) {
      // One cell across the quote's columns (hidden while refused), so the reason reads in full.
      this.refusal = document.createElement('td');
      this.refusal.setAttribute('role', 'cell');
      this.refusal.className = 'refusal';
      this.element.querySelector('th')?.after(this.refusal);
    }
    // The limit's message says which limit; the others' only repeat the symbol.
    this.refusal.textContent =
      rejection.code === 'LIMIT_EXCEEDED'
        ? `${REFUSALS[rejection.code]}: ${rejection.message}`
        : REFUSALS[rejection.code];
    this.refusal.title = rejection.message;
    this.element.dataset.refused = rejection.code;
  }

  clearRefusal(): void {
    if (!this.refusal) return;
    this.refusal.remove();
    this.refusal = undefined;
    delete this.element.dataset.refused;
  }

  /** Takes the newest quote; returns whether it was painted. */
  receive(quote: Quote, context: RowContext): boolean {
    this.clearRefusal();
    this.quote = quote;
    if (!this.onScreen) return false;
    this.render(context);
    return true;
  }

  /**
   * Marks the row while the feed of its newest quote is stale or down (styles.css dims it) and says so in its
   * tooltip. Another feed's quote (a failover) clears it.
   */
  markFeed(notLive: ReadonlyMap<string, FeedState>): void {
    const source = this.quote?.source;
    const state = source === undefined ? undefined : notLive.get(source);
    if (state === this.feedState) return;
    this.feedState = state;
    if (state) {
      this.element.dataset.feedState = state;
      this.element.title = `${this.symbol}: its feed ${source} is ${state}, the price may be old`;
    } else {
      delete this.element.dataset.feedState;
      this.element.removeAttribute('title');
    }
  }

  /** Writes the newest quote into the cells, if they do not show it yet. */
  render(context: RowContext): void {
    const quote = this.quote;
    const previous = this.shown;
    if (!quote || quote === previous) return;
    this.shown = quote;
    const { exchangeClock, localClock, localZone } = context;
    const zone = context.zoneOf(quote.symbol);
    const c = this.cells;
    this.write(c.price, formatPrice(quote.price));
    if (previous && quote.price !== previous.price) {
      const up = quote.price > previous.price;
      // Two identical animations under different names: swapping restarts the flash without a reflow.
      this.flip = !this.flip;
      // On the cell, not the row: a row attribute would make the browser restyle every cell of the row.
      this.cells.priceCell.dataset.flash = `${up ? 'up' : 'down'}-${this.flip ? 'a' : 'b'}`;
      this.write(c.tick, arrow(up ? 1 : -1));
    }
    const direction = Math.sign(quote.change ?? 0);
    this.write(c.change, quote.change === undefined ? '–' : `${arrow(direction)} ${formatSigned(quote.change)}`.trim());
    this.write(c.changePct, formatSigned(quote.changePct, '%'));
    const trend = direction > 0 ? 'up' : direction < 0 ? 'down' : 'flat';
    if (c.change.dataset.trend !== trend) {
      c.change.dataset.trend = trend;
      c.changePct.dataset.trend = trend;
    }
    this.write(c.bid, formatPrice(quote.bid));
    this.write(c.ask, formatPrice(quote.ask));
    this.write(c.volume, formatVolume(quote.volume));
    this.write(c.exchangeTime, exchangeClock.format(quote.ts, zone));
    this.write(c.localTime, localClock.format(quote.ts, localZone));
  }

  private write(element: HTMLElement, text: string): void {
    if (this.written.get(element) === text) return;
    this.written.set(element, text);
    element.textContent = text;
  }
}

export type QuoteGridOptions = {
  onRemove: (symbol: string) => void;
  onSelect: (symbol: string) => void;
  info: (symbol: string) => SymbolInfo | undefined;
  /** How often a sort on a moving column re-orders rows: every frame would make them jump about. */
  resortEveryMs?: number;
};

/** The watchlist table: rows per symbol, sorting by column (header buttons with aria-sort), Delete to remove. */
export class QuoteGrid {
  private readonly rows = new Map<string, QuoteRow>();
  private readonly body: HTMLTableSectionElement;
  private readonly context: RowContext;
  /** Off-screen rows (most of them in a long watchlist) keep their quote but are not written to. */
  private readonly onScreen: IntersectionObserver;
  private order: string[] = [];
  private sort: { key: SortKey; direction: SortDirection } | undefined;
  private lastSort = 0;
  private readonly abort = new AbortController();
  /** The feeds that are not live (stale, down), from the server's last status. */
  private notLive = new Map<string, FeedState>();

  constructor(
    private readonly table: HTMLTableElement,
    private readonly options: QuoteGridOptions,
  ) {
    this.body = table.tBodies[0] ?? table.createTBody();
    withTableRoles(table);
    this.context = {
      exchangeClock: new ClockFormatter({ zoneName: true }),
      localClock: new ClockFormatter({ zoneName: false }),
      localZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      zoneOf: (symbol) => exchangeZone(options.info(symbol)?.exchange),
    };
    this.onScreen = new IntersectionObserver((entries) => this.onVisibility(entries), { rootMargin: '100px 0px' });
    const signal = this.abort.signal;
    for (const th of table.querySelectorAll<HTMLTableCellElement>('thead th[data-key]')) {
      th.querySelector('button')?.addEventListener('click', () => this.toggleSort(th.dataset.key as SortKey), {
        signal,
      });
    }
    this.body.addEventListener('click', (event) => this.onClick(event), { signal });
    this.body.addEventListener('keydown', (event) => this.onKey(event), { signal });
    // Column widths depend on the font (once loaded) and on the layout (the narrow one, styles.css' 680 px, is smaller).
    this.fit();
    void document.fonts?.ready.then(() => this.fit());
    matchMedia('(max-width: 680px)').addEventListener('change', () => this.fit(), { signal });
  }

  /**
   * Sizes the columns to the widest values they show (columnFit.ts): sample quotes rendered by the rows' own
   * code, and a bare row of each symbol of the list (the symbol column fits the widest of them).
   */
  fit(): void {
    const samples = widestQuotes(SYMBOL_SAMPLE).map(({ quote, zone }) => {
      const row = new QuoteRow(SYMBOL_SAMPLE, undefined, () => {});
      row.onScreen = true;
      const context = { ...this.context, zoneOf: () => zone };
      // Two quotes, so the price cell also shows its tick arrow.
      row.receive({ ...quote, price: quote.price - 1 }, context);
      row.receive(quote, context);
      return row.element;
    });
    const symbols = [...this.rows.keys()].map((symbol) => new QuoteRow(symbol, undefined, () => {}).element);
    const probes = [...samples, ...symbols];
    fitColumns(this.table, probes);
  }

  /** Makes the rows match the watchlist: new symbols get a row, removed ones lose theirs. */
  setSymbols(symbols: readonly string[]): void {
    const wanted = new Set(symbols);
    for (const [symbol, row] of this.rows) {
      if (!wanted.has(symbol)) {
        this.onScreen.unobserve(row.element);
        row.element.remove();
        this.rows.delete(symbol);
      }
    }
    for (const symbol of symbols) {
      if (!this.rows.has(symbol)) {
        const row = new QuoteRow(symbol, this.options.info(symbol), this.options.onRemove);
        this.rows.set(symbol, row);
        this.onScreen.observe(row.element);
      }
    }
    this.order = [...symbols];
    this.arrange(true);
    // A list change may bring (or take away) the widest symbol.
    this.fit();
  }

  /** Marks the rows of refused symbols with the reason (a symbol not in the grid is ignored). */
  refuse(rejections: Iterable<Rejection>): void {
    for (const rejection of rejections) this.rows.get(rejection.symbol)?.refuse(rejection);
  }

  /** Before subscribing again: the answer marks the rows that are still refused. */
  clearRefusals(): void {
    for (const row of this.rows.values()) row.clearRefusal();
  }

  /** Takes a frame's quotes; returns those painted (rows on screen). */
  update(quotes: Iterable<Quote>, now = Date.now()): Quote[] {
    const painted: Quote[] = [];
    for (const quote of quotes) {
      const row = this.rows.get(quote.symbol);
      if (!row) continue;
      if (row.receive(quote, this.context)) painted.push(quote);
      row.markFeed(this.notLive);
    }
    if (this.sort && this.sort.key !== 'symbol' && now - this.lastSort >= (this.options.resortEveryMs ?? 1000)) {
      this.arrange(false, now);
    }
    return painted;
  }

  /** Takes the feeds' states from the server's status: rows whose quotes come from a feed not live are marked. */
  setFeedStates(feeds: readonly FeedStatus[]): void {
    this.notLive = new Map(
      feeds.filter((feed) => feed.state === 'stale' || feed.state === 'down').map((feed) => [feed.id, feed.state]),
    );
    for (const row of this.rows.values()) row.markFeed(this.notLive);
  }

  /**
   * Without a connection the prices stop where they were: the grid says they are not live (styles.css dims
   * them and stops the flashes) until the connection is back.
   */
  setOffline(offline: boolean): void {
    if (offline) this.table.dataset.offline = '';
    else delete this.table.dataset.offline;
  }

  toggleSort(key: SortKey): void {
    const direction: SortDirection =
      this.sort?.key === key && this.sort.direction === 'ascending' ? 'descending' : 'ascending';
    this.sort = { key, direction };
    for (const th of this.table.querySelectorAll<HTMLTableCellElement>('thead th[data-key]')) {
      th.setAttribute('aria-sort', th.dataset.key === key ? direction : 'none');
    }
    this.arrange(true);
  }

  dispose(): void {
    this.abort.abort();
    this.onScreen.disconnect();
  }

  private onVisibility(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const row = this.rows.get((entry.target as HTMLElement).dataset.symbol ?? '');
      if (!row) continue;
      row.onScreen = entry.isIntersecting;
      if (row.onScreen) row.render(this.context);
    }
  }

  /** Puts the rows in watchlist or sort order, moving DOM nodes only when the order changed. */
  private arrange(force: boolean, now = Date.now()): void {
    this.lastSort = now;
    const rows = this.order.map((s) => this.rows.get(s)).filter((r): r is QuoteRow => r !== undefined);
    if (this.sort) {
      const { key, direction } = this.sort;
      const sign = direction === 'ascending' ? 1 : -1;
      rows.sort((a, b) => compareRows(a, b, key, sign));
    }
    const current = this.body.children;
    const same = !force && rows.length === current.length && rows.every((row, i) => current[i] === row.element);
    if (same) return;
    const focused = document.activeElement;
    this.body.replaceChildren(...rows.map((row) => row.element));
    if (focused instanceof HTMLElement && this.body.contains(focused)) focused.focus({ preventScroll: true });
  }

  private onClick(event: Event): void {
    const target = event.target as HTMLElement;
    if (!target.closest('button.symbol')) return;
    const row = target.closest('tr');
    // A refused symbol has no chart to open: its row already says why.
    if (row?.dataset.symbol && row.dataset.refused === undefined) this.options.onSelect(row.dataset.symbol);
  }

  private onKey(event: KeyboardEvent): void {
    const row = (event.target as HTMLElement).closest('tr');
    const symbol = row?.dataset.symbol;
    if (!row || !symbol) return;
    const target = this.rowFor(event.key, row);
    if (target !== undefined) {
      // Arrow keys, Home and End move between rows (to the same kind of control: symbol or remove button).
      event.preventDefault();
      const kind = (event.target as HTMLElement).closest('button.remove') ? 'button.remove' : 'button.symbol';
      target?.querySelector<HTMLButtonElement>(kind)?.focus();
      return;
    }
    if (event.key !== 'Delete' && event.key !== 'Backspace') return;
    event.preventDefault();
    // Keep the keyboard user's place: focus moves to the next row (or the previous one at the end).
    const next = (row.nextElementSibling ?? row.previousElementSibling) as HTMLTableRowElement | null;
    this.options.onRemove(symbol);
    next?.querySelector<HTMLButtonElement>('button.symbol')?.focus();
  }

  /** The row a navigation key goes to from `row` (null: none that way); undefined for other keys. */
  private rowFor(key: string, row: HTMLTableRowElement): Element | null | undefined {
    switch (key) {
      case 'ArrowDown':
        return row.nextElementSibling;
      case 'ArrowUp':
        return row.previousElementSibling;
      case 'Home':
        return this.body.firstElementChild;
      case 'End':
        return this.body.lastElementChild;
      default:
        return undefined;
    }
  }
}

function compareRows(a: QuoteRow, b: QuoteRow, key: SortKey, sign: number): number {
  const bySymbol = a.symbol.localeCompare(b.symbol);
  if (key === 'symbol') return sign * bySymbol;
  const x = a.quote?.[key];
  const y = b.quote?.[key];
  // Rows without a value yet go last, whichever the direction.
  if (x === undefined || y === undefined) return x === y ? bySymbol : x === undefined ? 1 : -1;
  return x === y ? bySymbol : sign * (x < y ? -1 : 1);
}

/**
 * Explicit table roles: the rows are laid out as CSS grids (styles.css), and a table whose parts are not
 * displayed as table parts can lose its table semantics in the accessibility tree.
 */
function withTableRoles(table: HTMLTableElement): void {
  table.setAttribute('role', 'table');
  for (const group of table.querySelectorAll('thead, tbody')) group.setAttribute('role', 'rowgroup');
  for (const row of table.querySelectorAll('thead tr')) row.setAttribute('role', 'row');
  for (const cell of table.querySelectorAll('thead th')) cell.setAttribute('role', 'columnheader');
}
