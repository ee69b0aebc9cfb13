import {
  catchError,
  combineLatest,
  distinctUntilChanged,
  EMPTY,
  filter,
  fromEvent,
  interval,
  map,
  type Observable,
  Subscription,
  skip,
  startWith,
  switchMap,
} from 'rxjs';
import {
  type ConnectOptions,
  connect,
  type TickstreamClient,
  TickstreamError,
} from '../../packages/client/src/index.js';
import type { Quote, SymbolInfo } from '../../src/protocol.js';
import { refusedByServer, showRefused } from './accessNotice.js';
import { ChartPanel } from './chartPanel.js';
import { dashboardToken, restartOnNewToken } from './credentials.js';
import { exchangeZone } from './format.js';
import { LatencyWindow } from './latencyWindow.js';
import { latestPerFrame } from './latestPerFrame.js';
import { QuoteGrid } from './quoteGrid.js';
import { ReplayClock } from './replayClock.js';
import { ReplayControls } from './replayControls.js';
import { StatusPanel } from './statusPanel.js';
import {
  DEFAULT_RATE,
  initialRate,
  initialSymbols,
  MAX_SYMBOLS,
  parseRate,
  parseSymbols,
  persistRate,
  Watchlist,
} from './watchlist.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusPanel = (now?: () => number) =>
  new StatusPanel({ connection: byId('connection'), feeds: byId('feeds'), session: byId('session') }, now);

/** The server does not let this page in: say so, and how to give it a token. */
function refused(token: string | undefined): void {
  showRefused(byId('access'), token !== undefined);
  statusPanel().connection('disconnected');
}

/** The line that shows the last error, for 8 s. */
class ErrorLine {
  private timer = 0;

  constructor(private readonly element: HTMLElement) {}

  show(message: string): void {
    this.element.textContent = message;
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => (this.element.textContent = ''), 8000);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** The page's parts, made once; the wiring below connects them to the client and to each other. */
type Page = {
  client: TickstreamClient;
  token: string | undefined;
  url: URL;
  watchlist: Watchlist;
  /** What the server says of each symbol (names, exchanges), once its list came. */
  directory: Map<string, SymbolInfo>;
  latency: LatencyWindow;
  /**
   * Symbols whose next quote is the subscription's snapshot: the last quote the server has, however long ago it
   * ticked (seconds, for a quiet symbol). It is painted but is no tick-to-screen latency.
   */
  snapshotDue: Set<string>;
  errors: ErrorLine;
  chart: ChartPanel;
  grid: QuoteGrid;
  /** During a replay the dashboard's now is the recorded moment (session line, replay position). */
  clock: ReplayClock;
  status: StatusPanel;
  replay: ReplayControls;
  selectChart(symbol: string): void;
  /** Gives the open chart its symbol's name and zone, once the symbol list has them. */
  describeChart(): void;
};

/** Wires the page: one SDK connection, the watchlist, the grid, the chart, status and replay controls. */
function start(client: TickstreamClient, token: string | undefined): Subscription {
  const page = buildPage(client, token);
  const subscriptions = new Subscription();
  subscriptions.add(() => {
    page.errors.dispose();
    page.grid.dispose();
    page.replay.dispose();
    page.chart.dispose();
  });
  loadSymbolDirectory(page);
  subscriptions.add(addSymbolsOnSubmit(page));
  // A refused symbol keeps its row, with the reason and its remove control: never dropped without a word.
  subscriptions.add(client.rejected$.subscribe((rejection) => page.grid.refuse([rejection])));
  const rate$ = chosenRate(page.url);
  const visible$ = pageVisibility();
  subscriptions.add(followWatchlist(page));
  subscriptions.add(paintQuotes(page, liveQuotes(page, rate$, visible$)));
  subscriptions.add(
    // Changes only: the address keeps what the user chose, not the default.
    rate$.pipe(skip(1)).subscribe((hz) => {
      persistRate(hz);
      page.latency.clear();
    }),
  );
  subscriptions.add(
    // Shown again: the candles missed while hidden come with a fresh history.
    visible$.pipe(skip(1)).subscribe((visible) => {
      if (visible && page.chart.current) page.selectChart(page.chart.current);
    }),
  );
  subscriptions.add(showLatencyEverySecond(page));
  subscriptions.add(followStatus(page));
  subscriptions.add(
    client.connection$.subscribe((state) => {
      page.status.connection(state);
      page.grid.setOffline(state !== 'connected');
    }),
  );
  subscriptions.add(
    // Connected again (a network drop, a server restart): the candles missed meanwhile, or a restarted server's
    // other history, come with a fresh history; the old candles would go on under the new quotes.
    client.connection$
      .pipe(
        map((state) => state === 'connected'),
        distinctUntilChanged(),
        filter(Boolean),
        skip(1),
      )
      .subscribe(() => {
        if (page.chart.current) page.selectChart(page.chart.current);
      }),
  );
  return subscriptions;
}

function buildPage(client: TickstreamClient, token: string | undefined): Page {
  const url = new URL(location.href);
  const watchlist = new Watchlist(initialSymbols(url, localStorage));
  const directory = new Map<string, SymbolInfo>();
  const latency = new LatencyWindow(5000);
  const errors = new ErrorLine(byId('errors'));
  const showError = (message: string) => errors.show(message);
  const zoneOf = (symbol: string) => exchangeZone(directory.get(symbol)?.exchange);
  const chart = new ChartPanel(byId('chart'), byId('chart-title'), showError, token);
  const selectChart = (symbol: string) => {
    void chart.show(symbol, zoneOf(symbol), directory.get(symbol)?.name);
  };
  const describeChart = () => {
    const symbol = chart.current;
    if (symbol) chart.describe(symbol, zoneOf(symbol), directory.get(symbol)?.name);
  };
  const grid = new QuoteGrid(byId<HTMLTableElement>('grid'), {
    onRemove: (symbol) => watchlist.remove(symbol),
    onSelect: selectChart,
    info: (symbol) => directory.get(symbol),
  });
  const clock = new ReplayClock();
  const status = statusPanel(() => clock.now());
  const replay = new ReplayControls(
    {
      panel: byId('replay'),
      toggle: byId('replay-toggle'),
      speed: byId('replay-speed'),
      seek: byId('replay-seek'),
      position: byId('replay-position'),
      state: byId('replay-state'),
    },
    client,
    showError,
  );
  return {
    client,
    token,
    url,
    watchlist,
    directory,
    latency,
    snapshotDue: new Set(),
    errors,
    chart,
    grid,
    clock,
    status,
    replay,
    selectChart,
    describeChart,
  };
}

/** Symbol suggestions and names. */
function loadSymbolDirectory({ client, directory, errors, describeChart }: Page): void {
  const options = byId<HTMLDataListElement>('symbol-options');
  client.symbols().then(
    (symbols) => {
      for (const info of symbols) directory.set(info.symbol, info);
      options.replaceChildren(...symbols.map((s) => new Option(s.name ?? s.symbol, s.symbol)));
      describeChart();
    },
    (err: unknown) => errors.show(`symbol list: ${err instanceof Error ? err.message : String(err)}`),
  );
}

/**
 * Adding: Enter or the Add button; malformed names refused here. The server decides which symbols it has (a
 * feed may list more after start-up): one it refuses stays in the list, its row saying why.
 */
function addSymbolsOnSubmit({ watchlist, errors }: Page): Subscription {
  const input = byId<HTMLInputElement>('add-symbol');
  return fromEvent(byId<HTMLFormElement>('add-form'), 'submit').subscribe((event) => {
    event.preventDefault();
    const symbols = parseSymbols(input.value);
    if (symbols.length === 0) {
      errors.show(input.value.trim() ? `"${input.value.trim()}" is not a valid symbol` : 'type a symbol to add');
      return;
    }
    for (const symbol of symbols) {
      if (watchlist.symbols.length >= MAX_SYMBOLS) errors.show(`at most ${MAX_SYMBOLS} symbols`);
      else watchlist.add(symbol);
    }
    input.value = '';
  });
}

/** The update rate the user picked (the address's or the stored one at first), each change once. */
function chosenRate(url: URL): Observable<number> {
  const rateSelect = byId<HTMLSelectElement>('rate');
  rateSelect.value = String(initialRate(url, localStorage));
  return fromEvent(rateSelect, 'change').pipe(
    map(() => parseRate(rateSelect.value) ?? DEFAULT_RATE),
    startWith(Number(rateSelect.value)),
    distinctUntilChanged(),
  );
}

function pageVisibility(): Observable<boolean> {
  return fromEvent(document, 'visibilitychange').pipe(
    map(() => document.visibilityState === 'visible'),
    startWith(document.visibilityState === 'visible'),
    distinctUntilChanged(),
  );
}

/** The grid's rows and the chart follow the watchlist: the chart moves to the first symbol when its own goes. */
function followWatchlist({ watchlist, grid, chart, selectChart }: Page): Subscription {
  return watchlist.symbols$.subscribe((symbols) => {
    grid.setSymbols(symbols);
    const first = symbols[0];
    if (chart.current === undefined || !symbols.includes(chart.current)) {
      if (first) selectChart(first);
      else chart.clear();
    }
  });
}

/**
 * The live stream, the newest quote per symbol each frame: re-subscribed when the watchlist or the rate changes;
 * a hidden tab unsubscribes and, shown again, resubscribes: the subscribe ack's snapshot brings every row up to
 * date at once.
 */
function liveQuotes(page: Page, rate$: Observable<number>, visible$: Observable<boolean>) {
  const { client, watchlist, grid } = page;
  return combineLatest([watchlist.symbols$, rate$, visible$]).pipe(
    switchMap(([symbols, hz, visible]) => {
      if (!visible || symbols.length === 0) return EMPTY;
      grid.clearRefusals();
      page.snapshotDue = new Set(symbols);
      return client.watch(symbols, { maxHz: hz }).pipe(
        catchError((err: unknown) => {
          reportWatchFailure(page, err);
          return EMPTY;
        }),
      );
    }),
    latestPerFrame((quote: Quote) => quote.symbol),
  );
}

function reportWatchFailure({ grid, errors, token }: Page, err: unknown): void {
  // Every symbol refused: each row says why.
  if (err instanceof TickstreamError && err.rejected.length > 0) grid.refuse(err.rejected);
  else errors.show(`subscribe failed: ${err instanceof Error ? err.message : String(err)}`);
  // Refused connection (a token that expired, or was revoked): the server says whether a token would help.
  if (err instanceof TickstreamError && err.code === 'UNAUTHORIZED') {
    void refusedByServer(token).then((refusedNow) => refusedNow && refused(token));
  }
}

function paintQuotes(page: Page, frames$: Observable<Map<string, Quote>>): Subscription {
  const { grid, chart, clock, latency } = page;
  return frames$.subscribe((batch) => {
    const painted = grid.update(batch.values());
    if (chart.current) chart.update(batch.get(chart.current));
    // Tick-to-screen: this frame's paint time against each painted quote's event time (meaningless for replays),
    // a symbol's first quote after subscribing (its snapshot, however old) left out, painted or not (a row off
    // screen gets its snapshot too: its first painted quote may be a live one).
    const now = Date.now();
    const due = page.snapshotDue;
    if (!clock.replaying) for (const quote of painted) if (!due.has(quote.symbol)) latency.record(now - quote.ts, now);
    if (due.size > 0) for (const symbol of batch.keys()) due.delete(symbol);
  });
}

/** The latency line and the session line, once a second. */
function showLatencyEverySecond({ latency, clock, status }: Page): Subscription {
  const latencyText = byId<HTMLElement>('latency');
  return interval(1000).subscribe(() => {
    const stats = latency.stats(Date.now());
    latencyText.textContent = clock.replaying
      ? 'latency – (replay)'
      : stats
        ? `latency p50 ${Math.round(stats.p50)} ms · p99 ${Math.round(stats.p99)} ms`
        : 'latency –';
    status.renderSession();
  });
}

/** Each status from the server: the status panel, the replay controls and clock, and the chart after a jump. */
function followStatus({ client, clock, status, grid, replay, chart, selectChart }: Page): Subscription {
  let jumps: number | undefined;
  return client.status$.subscribe((s) => {
    clock.set(s.replay);
    status.render(s);
    grid.setFeedStates(s.feeds);
    replay.render(s.replay, s.session?.zone);
    // The replay jumped (a seek, from here or another admin, or a loop): the chart's candles belong to the
    // old position; the server's history now tells the story up to the new one.
    const jumped = jumps !== undefined && s.replay?.jumps !== undefined && s.replay.jumps !== jumps;
    if (jumped && chart.current) selectChart(chart.current);
    jumps = s.replay?.jumps;
  });
}

/**
 * How this server's Socket.IO endpoint talks (GET /api/socket): a server set to the msgpack parser needs the
 * same parser here, loaded only then (a separate chunk). An older server without the route means JSON.
 */
async function socketOptions(): Promise<Pick<ConnectOptions, 'parser'>> {
  const info = (await fetch('/api/socket')
    .then((res) => (res.ok ? res.json() : undefined))
    .catch(() => undefined)) as { parser?: string } | undefined;
  if (info?.parser !== 'msgpack') return {};
  const { default: parser } = await import('socket.io-msgpack-parser');
  return { parser };
}

restartOnNewToken();
const token = dashboardToken();
// Asked before connecting, so a refused page neither connects nor draws the chart of a symbol it may not see.
if (await refusedByServer(token)) refused(token);
else {
  const client = connect(location.origin, { ...(token ? { token } : {}), ...(await socketOptions()) });
  const running = start(client, token);
  window.addEventListener('pagehide', (event) => {
    if (event.persisted) return; // kept in the back-forward cache: the page may come back as it was
    running.unsubscribe();
    client.close();
  });
}
