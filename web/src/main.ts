import {
  catchError,
  combineLatest,
  distinctUntilChanged,
  EMPTY,
  fromEvent,
  interval,
  map,
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

/** Wires the page: one SDK connection, the watchlist, the grid, the chart, status and replay controls. */
function start(client: TickstreamClient, token: string | undefined): Subscription {
  const subscriptions = new Subscription();
  const url = new URL(location.href);
  const watchlist = new Watchlist(initialSymbols(url, localStorage));
  const directory = new Map<string, SymbolInfo>();
  const latency = new LatencyWindow(5000);
  const errors = byId<HTMLElement>('errors');
  let errorTimer = 0;
  const showError = (message: string) => {
    errors.textContent = message;
    clearTimeout(errorTimer);
    errorTimer = window.setTimeout(() => (errors.textContent = ''), 8000);
  };
  subscriptions.add(() => clearTimeout(errorTimer));

  const zoneOf = (symbol: string) => exchangeZone(directory.get(symbol)?.exchange);
  const chart = new ChartPanel(byId('chart'), byId('chart-title'), showError, token);
  const selectChart = (symbol: string) => {
    void chart.show(symbol, zoneOf(symbol), directory.get(symbol)?.name);
  };
  const grid = new QuoteGrid(byId<HTMLTableElement>('grid'), {
    onRemove: (symbol) => watchlist.remove(symbol),
    onSelect: selectChart,
    info: (symbol) => directory.get(symbol),
  });
  // During a replay the dashboard's now is the recorded moment (session line, replay position).
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
  subscriptions.add(() => {
    grid.dispose();
    replay.dispose();
    chart.dispose();
  });

  // Symbol suggestions and names.
  const options = byId<HTMLDataListElement>('symbol-options');
  client.symbols().then(
    (symbols) => {
      for (const info of symbols) directory.set(info.symbol, info);
      options.replaceChildren(...symbols.map((s) => new Option(s.name ?? s.symbol, s.symbol)));
    },
    (err: unknown) => showError(`symbol list: ${err instanceof Error ? err.message : String(err)}`),
  );

  // Adding: Enter or the Add button; malformed names refused here. The server decides which symbols it has (a
  // feed may list more after start-up): one it refuses stays in the list, its row saying why.
  const input = byId<HTMLInputElement>('add-symbol');
  const addForm = byId<HTMLFormElement>('add-form');
  subscriptions.add(
    fromEvent(addForm, 'submit').subscribe((event) => {
      event.preventDefault();
      const symbols = parseSymbols(input.value);
      if (symbols.length === 0) {
        showError(input.value.trim() ? `"${input.value.trim()}" is not a valid symbol` : 'type a symbol to add');
        return;
      }
      for (const symbol of symbols) {
        if (watchlist.symbols.length >= MAX_SYMBOLS) showError(`at most ${MAX_SYMBOLS} symbols`);
        else watchlist.add(symbol);
      }
      input.value = '';
    }),
  );
  // A refused symbol keeps its row, with the reason and its remove control: never dropped without a word.
  subscriptions.add(client.rejected$.subscribe((rejection) => grid.refuse([rejection])));

  const rateSelect = byId<HTMLSelectElement>('rate');
  rateSelect.value = String(initialRate(url, localStorage));
  const rate$ = fromEvent(rateSelect, 'change').pipe(
    map(() => parseRate(rateSelect.value) ?? 4),
    startWith(Number(rateSelect.value)),
    distinctUntilChanged(),
  );
  const visible$ = fromEvent(document, 'visibilitychange').pipe(
    map(() => document.visibilityState === 'visible'),
    startWith(document.visibilityState === 'visible'),
    distinctUntilChanged(),
  );

  subscriptions.add(
    watchlist.symbols$.subscribe((symbols) => {
      grid.setSymbols(symbols);
      const first = symbols[0];
      if (chart.current === undefined || !symbols.includes(chart.current)) {
        if (first) selectChart(first);
        else chart.clear();
      }
    }),
  );

  // The live stream: re-subscribed when the watchlist or the rate changes; a hidden tab unsubscribes and, shown
  // again, resubscribes: the subscribe ack's snapshot brings every row up to date at once.
  let replaying = false;
  const quotes$ = combineLatest([watchlist.symbols$, rate$, visible$]).pipe(
    switchMap(([symbols, hz, visible]) => {
      if (!visible || symbols.length === 0) return EMPTY;
      grid.clearRefusals();
      return client.watch(symbols, { maxHz: hz }).pipe(
        catchError((err: unknown) => {
          // Every symbol refused: each row says why.
          if (err instanceof TickstreamError && err.rejected.length > 0) grid.refuse(err.rejected);
          else showError(`subscribe failed: ${err instanceof Error ? err.message : String(err)}`);
          // Refused connection (a token that expired, or was revoked): the server says whether a token would help.
          if (err instanceof TickstreamError && err.code === 'UNAUTHORIZED') {
            void refusedByServer(token).then((refusedNow) => refusedNow && refused(token));
          }
          return EMPTY;
        }),
      );
    }),
    latestPerFrame((quote: Quote) => quote.symbol),
  );
  subscriptions.add(
    quotes$.subscribe((batch) => {
      const painted = grid.update(batch.values());
      if (chart.current) chart.update(batch.get(chart.current));
      // Tick-to-screen: this frame's paint time against each painted quote's event time (meaningless for replays).
      const now = Date.now();
      if (!replaying) for (const quote of painted) latency.record(now - quote.ts, now);
    }),
  );
  subscriptions.add(
    // Changes only: the address keeps what the user chose, not the default.
    rate$.pipe(skip(1)).subscribe((hz) => {
      persistRate(hz);
      latency.clear();
    }),
  );
  subscriptions.add(
    // Shown again: the candles missed while hidden come with a fresh history.
    visible$.pipe(skip(1)).subscribe((visible) => {
      if (visible && chart.current) selectChart(chart.current);
    }),
  );

  const latencyText = byId<HTMLElement>('latency');
  subscriptions.add(
    interval(1000).subscribe(() => {
      const stats = latency.stats(Date.now());
      latencyText.textContent = replaying
        ? 'latency – (replay)'
        : stats
          ? `latency p50 ${Math.round(stats.p50)} ms · p99 ${Math.round(stats.p99)} ms`
          : 'latency –';
      status.renderSession();
    }),
  );

  let jumps: number | undefined;
  subscriptions.add(
    client.status$.subscribe((s) => {
      clock.set(s.replay);
      status.render(s);
      replay.render(s.replay, s.session?.zone);
      replaying = s.replay !== undefined;
      // The replay jumped (a seek, from here or another admin, or a loop): the chart's candles belong to the
      // old position; the server's history now tells the story up to the new one.
      const jumped = jumps !== undefined && s.replay?.jumps !== undefined && s.replay.jumps !== jumps;
      if (jumped && chart.current) selectChart(chart.current);
      jumps = s.replay?.jumps;
    }),
  );
  subscriptions.add(client.connection$.subscribe((state) => status.connection(state)));
  return subscriptions;
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
