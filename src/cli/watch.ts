import {
  auditTime,
  catchError,
  defer,
  distinctUntilChanged,
  finalize,
  ignoreElements,
  interval,
  map,
  merge,
  NEVER,
  type Observable,
  of,
  scan,
  shareReplay,
  switchMap,
  take,
  tap,
  timer,
} from 'rxjs';
import msgpackParser from 'socket.io-msgpack-parser';
import {
  type ConnectFailure,
  connect,
  exchangeZone,
  isTimeZone,
  localZone,
  type Quote,
  type SymbolInfo,
  type TickstreamClient,
} from '../../packages/client/src/index.js';
import { normalizeSymbol } from '../protocol.js';
import { parseCommandArgs } from './args.js';
import { untilSignal } from './signals.js';
import { endMessage, endOf, exitCode, WATCH_EXIT, WATCH_EXIT_HELP, type WatchEnd } from './watchEnd.js';
import { plainLine, TerminalTable, updateView, type ViewEvent, type WatchView } from './watchView.js';

export const WATCH_HELP = `tickstream watch: live quotes of some symbols in the terminal

Usage: tickstream watch SYMBOL... [options]

Options:
  --url URL        the tickstream server (default http://localhost:3000; also TICKSTREAM_URL)
  --hz N           at most N updates per symbol per second (default: the server's default rate)
  --json           one quote per line as JSON (NDJSON), for piping; no colours, no redraw
  --token T        access token, when the server requires one (also TICKSTREAM_TOKEN)
  --msgpack        speak Socket.IO with the msgpack parser (for a server with server.parser "msgpack")
  --timeout S      give up after S seconds without a connection, at the start or after losing it
                   (default 10; 0 waits for ever); meanwhile it retries with backoff and says why
  --zone Z         the time zone of the times shown: "exchange" (default: each symbol's exchange's, as the
                   dashboard), "local" (this machine's), or a name such as UTC or Europe/London
  -h, --help       this help

On a terminal it draws a table that updates in place (Ctrl-C quits); otherwise it prints one plain line per
quote, with ASCII numbers. NO_COLOR turns colours off. Connection states and retries go to stderr.

${WATCH_EXIT_HELP}`;

const WATCH_FLAGS = {
  url: { type: 'string' },
  hz: { type: 'string' },
  json: { type: 'boolean' },
  token: { type: 'string' },
  msgpack: { type: 'boolean' },
  timeout: { type: 'string' },
  zone: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DEFAULT_TIMEOUT_S = 10;

type Output = 'json' | 'lines' | 'table';

/** Which zone the times are shown in: each symbol's exchange's, or one for all. */
type ZoneChoice = { kind: 'exchange' } | { kind: 'fixed'; zone: string };

/** What the user asked for, validated. */
type WatchRequest = {
  symbols: string[];
  url: string;
  maxHz: number | undefined;
  token: string | undefined;
  msgpack: boolean;
  timeoutMs: number;
  zone: ZoneChoice;
  output: Output;
};

/** Runs `tickstream watch`; resolves with its exit status (see WATCH_EXIT_HELP). */
export async function watchCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, WATCH_FLAGS);
  if (values.help) {
    console.log(WATCH_HELP);
    return 0;
  }
  const request = parseRequest(values, positionals, env, process.stdout);
  if (typeof request === 'string') {
    console.error(`tickstream watch: ${request}`);
    return WATCH_EXIT.usage;
  }
  const end = await runWatch(request, env);
  const message = endMessage(end);
  if (message) console.error(`tickstream watch: ${message}`);
  return exitCode(end);
}

type WatchFlagValues = ReturnType<typeof parseCommandArgs<typeof WATCH_FLAGS>>['values'];

/** The request, or what is wrong with the command line. */
function parseRequest(
  values: WatchFlagValues,
  positionals: string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WriteStream,
): WatchRequest | string {
  const symbols = [...new Set(positionals.map(normalizeSymbol).filter(Boolean))];
  if (!symbols.length) return 'name at least one symbol, e.g. tickstream watch AAPL MSFT';
  const maxHz = values.hz === undefined ? undefined : Number(values.hz);
  if (maxHz !== undefined && !(Number.isFinite(maxHz) && maxHz > 0)) {
    return `--hz must be a positive number, got "${values.hz}"`;
  }
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!(Number.isFinite(timeoutS) && timeoutS >= 0) || values.timeout?.trim() === '') {
    return `--timeout must be a number of seconds, 0 or more, got "${values.timeout}"`;
  }
  const zone = zoneChoice(values.zone);
  if (!zone)
    return `--zone must be "exchange", "local" or a time zone name such as Europe/London, got "${values.zone}"`;
  return {
    symbols,
    url: values.url ?? env.TICKSTREAM_URL ?? 'http://localhost:3000',
    maxHz,
    token: values.token ?? env.TICKSTREAM_TOKEN,
    msgpack: values.msgpack === true,
    timeoutMs: timeoutS * 1000,
    zone,
    output: values.json ? 'json' : out.isTTY ? 'table' : 'lines',
  };
}

function zoneChoice(value: string | undefined): ZoneChoice | undefined {
  if (value === undefined || value === 'exchange') return { kind: 'exchange' };
  if (value === 'local') return { kind: 'fixed', zone: localZone() };
  return isTimeZone(value) ? { kind: 'fixed', zone: value } : undefined;
}

/** Watches until the user stops it, the server refuses, or no connection comes within the timeout. */
async function runWatch(request: WatchRequest, env: NodeJS.ProcessEnv): Promise<WatchEnd> {
  const out = process.stdout;
  const client = connect(request.url, {
    ...(request.token === undefined ? {} : { token: request.token }),
    ...(request.msgpack ? { parser: msgpackParser } : {}),
  });
  const giveUp = new GiveUp(client, request);
  const session$ =
    request.output === 'table'
      ? tableSession(client, request, giveUp, !env.NO_COLOR, out)
      : lineSession(client, request, giveUp, out);

  let stop = () => {};
  const ended = new Promise<WatchEnd>((resolve) => {
    out.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EPIPE' ? { kind: 'stopped' } : endOf(err)));
    const subscription = merge(session$, giveUp.end$).subscribe({
      next: resolve,
      error: (err: unknown) => resolve(endOf(err)),
      complete: () => resolve({ kind: 'stopped' }),
    });
    stop = () => subscription.unsubscribe();
  });
  const end = await Promise.race([untilSignal().then((): WatchEnd => ({ kind: 'stopped' })), ended]);
  stop();
  client.close();
  return end;
}

/**
 * Gives up once the client has been without a connection for the timeout: from the start, or from the moment
 * it lost it. Keeps what the final message needs (the last failure, whether it had been connected).
 */
class GiveUp {
  /** When the watch gives up if the connection does not come (epoch ms), or undefined while connected. */
  readonly deadline$: Observable<number | undefined>;
  /** Emits the ending once the deadline passes. */
  readonly end$: Observable<WatchEnd>;
  private failure: ConnectFailure | undefined;
  private connected = false;
  private closing: string | undefined;

  constructor(client: TickstreamClient, request: Pick<WatchRequest, 'url' | 'timeoutMs'>) {
    const { timeoutMs } = request;
    this.deadline$ = client.connection$.pipe(
      map((state) => state === 'connected'),
      distinctUntilChanged(),
      tap((up) => {
        if (up) this.connected = true;
      }),
      map((up) => (up || timeoutMs === 0 ? undefined : Date.now() + timeoutMs)),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    const track$ = merge(
      client.connectFailures$.pipe(tap((failure) => (this.failure = failure))),
      client.status$.pipe(tap((status) => (this.closing = status.closing?.message))),
    );
    this.end$ = merge(
      track$.pipe(ignoreElements()),
      this.deadline$.pipe(
        switchMap((at) => (at === undefined ? NEVER : timer(at - Date.now()))),
        take(1),
        map(
          (): WatchEnd => ({
            kind: 'unreachable',
            url: request.url,
            timeoutMs,
            lost: this.connected,
            ...(this.failure ? { failure: this.failure } : {}),
            ...(this.closing ? { closing: this.closing } : {}),
          }),
        ),
      ),
    );
  }
}

/** The zone of each symbol's times: the user's choice, else its exchange's from the server's symbol list. */
function zones$(client: TickstreamClient, choice: ZoneChoice): Observable<(symbol: string) => string> {
  if (choice.kind === 'fixed') return of(() => choice.zone);
  const fallback = exchangeZone(undefined);
  return defer(() => client.symbols()).pipe(
    map((symbols: SymbolInfo[]) => {
      const byName = new Map(symbols.map((info) => [info.symbol, exchangeZone(info.exchange)]));
      return (symbol: string) => byName.get(symbol) ?? fallback;
    }),
    // An older server, or one that does not answer: the exchange most symbols trade on.
    catchError(() => of(() => fallback)),
  );
}

const quotesOf = (client: TickstreamClient, request: WatchRequest) =>
  client.watch(request.symbols, request.maxHz === undefined ? {} : { maxHz: request.maxHz });

/** Draws the table while subscribed; restores the cursor when it ends, whatever the reason. */
function tableSession(
  client: TickstreamClient,
  request: WatchRequest,
  giveUp: GiveUp,
  color: boolean,
  out: NodeJS.WriteStream,
): Observable<never> {
  return defer(() => {
    const table = new TerminalTable(out, color);
    const fallbackZone = exchangeZone(undefined);
    const initial: WatchView = {
      symbols: request.symbols,
      url: request.url,
      connection: 'connecting',
      rows: new Map(),
      zoneOf: () => (request.zone.kind === 'fixed' ? request.zone.zone : fallbackZone),
    };
    table.start();
    table.draw(initial);
    const events$: Observable<ViewEvent | undefined> = merge(
      quotesOf(client, request).pipe(map((quote): ViewEvent => ({ kind: 'quote', quote }))),
      zones$(client, request.zone).pipe(map((zoneOf): ViewEvent => ({ kind: 'zones', zoneOf }))),
      client.connection$.pipe(map((state): ViewEvent => ({ kind: 'connection', state }))),
      client.status$.pipe(map((status): ViewEvent => ({ kind: 'status', status }))),
      client.connectFailures$.pipe(map((failure): ViewEvent => ({ kind: 'failure', failure }))),
      client.rejected$.pipe(map((rejection): ViewEvent => ({ kind: 'rejected', rejection }))),
      giveUp.deadline$.pipe(map((giveUpAt): ViewEvent => ({ kind: 'deadline', giveUpAt }))),
      // Once a second, so the countdown to giving up stays true between events.
      interval(1000).pipe(map(() => undefined)),
    );
    return events$.pipe(
      scan((view: WatchView, event: ViewEvent | undefined) => (event ? updateView(view, event) : { ...view }), initial),
      // At most ten frames a second, always the newest view.
      auditTime(100),
      tap((view) => table.draw(view)),
      ignoreElements(),
      finalize(() => table.stop()),
    );
  });
}

/**
 * Prints one line per quote (NDJSON or plain) on stdout; connection changes and retries go to stderr, so
 * stdout stays pure data.
 */
function lineSession(
  client: TickstreamClient,
  request: WatchRequest,
  giveUp: GiveUp,
  out: NodeJS.WriteStream,
): Observable<never> {
  const note = (text: string) => process.stderr.write(`tickstream watch: ${text}\n`);
  let giveUpAt: number | undefined;
  const refused = new Set<string>();
  // Plain lines wait for the zones (one request) so that every line has its exchange's time; JSON has none.
  const quotes$ =
    request.output === 'json'
      ? quotesOf(client, request).pipe(tap((q: Quote) => out.write(`${JSON.stringify(q)}\n`)))
      : zones$(client, request.zone).pipe(
          switchMap((zoneOf) =>
            quotesOf(client, request).pipe(tap((q: Quote) => out.write(`${plainLine(q, zoneOf(q.symbol))}\n`))),
          ),
        );
  return merge(
    quotes$,
    client.connection$.pipe(tap((state) => note(state))),
    giveUp.deadline$.pipe(tap((at) => (giveUpAt = at))),
    client.connectFailures$.pipe(
      tap((failure) => {
        const left =
          giveUpAt === undefined ? '' : `, giving up in ${Math.max(0, Math.ceil((giveUpAt - Date.now()) / 1000))} s`;
        note(`cannot reach ${request.url}: ${failure.message}; retrying (attempt ${failure.attempt}${left})`);
      }),
    ),
    client.rejected$.pipe(
      tap((r) => {
        refused.add(r.symbol);
        // The last one refused ends the watch (its error says so): there are no others to watch.
        const others = request.symbols.some((symbol) => !refused.has(symbol)) ? '; watching the others' : '';
        note(`${r.symbol} refused: ${r.message} (${r.code})${others}`);
      }),
    ),
  ).pipe(ignoreElements());
}
