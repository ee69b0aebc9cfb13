import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { normalizeSymbol, SYMBOL_PATTERN } from '../../src/protocol.js';
import { DEFAULT_SYMBOLS } from './defaultSymbols.js';

const RATES = [1, 2, 4, 10, 20] as const;
export const DEFAULT_RATE = 4;
/** The server's per-socket limit is 500 by default; stay under it. */
export const MAX_SYMBOLS = 500;

const SYMBOLS_KEY = 'tickstream.symbols';
const RATE_KEY = 'tickstream.hz';

/** Upper-cased, trimmed, valid and de-duplicated symbols from "AAPL, msft". */
export function parseSymbols(text: string | null | undefined): string[] {
  if (!text) return [];
  const out = new Set<string>();
  for (const part of text.split(',')) {
    const symbol = normalizeSymbol(part);
    if (SYMBOL_PATTERN.test(symbol)) out.add(symbol);
  }
  return [...out].slice(0, MAX_SYMBOLS);
}

export function parseRate(text: string | null | undefined): number | undefined {
  const hz = Number(text);
  return (RATES as readonly number[]).includes(hz) ? hz : undefined;
}

/** The URL wins (a shared link), then what this browser kept, then the defaults. */
export function initialSymbols(url: URL, storage: Storage): string[] {
  if (url.searchParams.has('symbols')) return parseSymbols(url.searchParams.get('symbols'));
  const kept = storage.getItem(SYMBOLS_KEY);
  return kept === null ? [...DEFAULT_SYMBOLS] : parseSymbols(kept);
}

export function initialRate(url: URL, storage: Storage): number {
  return parseRate(url.searchParams.get('hz')) ?? parseRate(storage.getItem(RATE_KEY)) ?? DEFAULT_RATE;
}

/** Writes a setting to local storage and the address bar (without a history entry). */
function persist(key: string, param: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode or a full quota: the URL still carries it.
  }
  const url = new URL(location.href);
  url.searchParams.set(param, value);
  history.replaceState(history.state, '', url);
}

export function persistRate(hz: number): void {
  persist(RATE_KEY, 'hz', String(hz));
}

/** The symbols on screen, in the order they were added; every change is persisted. */
export class Watchlist {
  private readonly state: BehaviorSubject<readonly string[]>;
  readonly symbols$: Observable<readonly string[]>;

  constructor(initial: readonly string[]) {
    this.state = new BehaviorSubject(initial);
    this.symbols$ = this.state.pipe(distinctUntilChanged((a, b) => a.join() === b.join()));
  }

  get symbols(): readonly string[] {
    return this.state.value;
  }

  has(symbol: string): boolean {
    return this.state.value.includes(symbol);
  }

  add(symbol: string): void {
    if (this.has(symbol) || this.state.value.length >= MAX_SYMBOLS) return;
    this.set([...this.state.value, symbol]);
  }

  remove(symbol: string): void {
    if (this.has(symbol)) this.set(this.state.value.filter((s) => s !== symbol));
  }

  private set(symbols: readonly string[]): void {
    persist(SYMBOLS_KEY, 'symbols', symbols.join(','));
    this.state.next(symbols);
  }
}
