import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';

/**
 * Which symbols someone watches right now, reference counted per symbol-tier room. Feeds whose vendor
 * lets them choose (WebSocket vendors) subscribe upstream only to these.
 */
export class SymbolDemand {
  private readonly counts = new Map<string, number>();
  // A BehaviorSubject because feeds subscribe at any time and need the current set first.
  private readonly symbols = new BehaviorSubject<ReadonlySet<string>>(new Set());

  readonly demand$: Observable<ReadonlySet<string>> = this.symbols.pipe(distinctUntilChanged());

  add(symbol: string): void {
    const count = this.counts.get(symbol) ?? 0;
    this.counts.set(symbol, count + 1);
    if (count === 0) this.symbols.next(new Set(this.counts.keys()));
  }

  remove(symbol: string): void {
    const count = this.counts.get(symbol);
    if (count === undefined) return;
    if (count > 1) {
      this.counts.set(symbol, count - 1);
      return;
    }
    this.counts.delete(symbol);
    this.symbols.next(new Set(this.counts.keys()));
  }

  current(): ReadonlySet<string> {
    return this.symbols.value;
  }
}
