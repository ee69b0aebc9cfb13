import { describe, expect, it } from 'vitest';
import { SymbolDirectory } from '../../src/ingest/symbolDirectory.js';

describe('SymbolDirectory', () => {
  it('lists declared symbols sorted, and merges what a later feed declares about one already known', () => {
    const directory = new SymbolDirectory();
    directory.add({ symbol: 'MSFT', name: 'Microsoft' });
    directory.add({ symbol: 'AAPL', exchange: 'NASDAQ' });
    directory.add({ symbol: 'AAPL', name: 'Apple Inc.' });
    expect(directory.list()).toEqual([
      { symbol: 'AAPL', exchange: 'NASDAQ', name: 'Apple Inc.' },
      { symbol: 'MSFT', name: 'Microsoft' },
    ]);
    expect(directory.size).toBe(2);
  });

  it('adds a symbol a feed sent without declaring it, and keeps what was declared when a known one is seen', () => {
    const directory = new SymbolDirectory();
    directory.add({ symbol: 'AAPL', name: 'Apple Inc.' });
    expect(directory.has('NVDA')).toBe(false);
    directory.see('NVDA');
    directory.see('AAPL');
    expect(directory.has('NVDA')).toBe(true);
    expect(directory.list()).toEqual([{ symbol: 'AAPL', name: 'Apple Inc.' }, { symbol: 'NVDA' }]);
    expect(directory.size).toBe(2);
  });
});
