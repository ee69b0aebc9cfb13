import type { SymbolInfo } from '../protocol.js';

/** The symbols the service can serve: those its feeds declare, and any a feed has sent. */
export class SymbolDirectory {
  private readonly entries = new Map<string, SymbolInfo>();

  add(info: SymbolInfo): void {
    const prev = this.entries.get(info.symbol);
    this.entries.set(info.symbol, prev ? { ...prev, ...info } : info);
  }

  /** Called for every quote: cheap when the symbol is already known. */
  see(symbol: string): void {
    if (!this.entries.has(symbol)) this.entries.set(symbol, { symbol });
  }

  has(symbol: string): boolean {
    return this.entries.has(symbol);
  }

  list(): SymbolInfo[] {
    return [...this.entries.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  get size(): number {
    return this.entries.size;
  }
}
