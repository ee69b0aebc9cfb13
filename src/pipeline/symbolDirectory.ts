import type { SymbolInfo } from '../protocol.js';

/** The symbols the service can serve: those its feeds declare, and any a feed has sent. */
export class SymbolDirectory {
  private readonly known = new Map<string, SymbolInfo>();

  add(info: SymbolInfo): void {
    const prev = this.known.get(info.symbol);
    this.known.set(info.symbol, prev ? { ...prev, ...info } : info);
  }

  /** Called for every quote: cheap when the symbol is already known. */
  see(symbol: string): void {
    if (!this.known.has(symbol)) this.known.set(symbol, { symbol });
  }

  has(symbol: string): boolean {
    return this.known.has(symbol);
  }

  list(): SymbolInfo[] {
    return [...this.known.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  get size(): number {
    return this.known.size;
  }
}
