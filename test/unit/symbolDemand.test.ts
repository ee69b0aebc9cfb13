import { describe, expect, it } from 'vitest';
import { SymbolDemand } from '../../src/pipeline/symbolDemand.js';

/** Every set `demand$` sends, sorted, from the subscription on. */
function watched(demand: SymbolDemand): string[][] {
  const seen: string[][] = [];
  demand.demand$.subscribe((symbols) => seen.push([...symbols].sort()));
  return seen;
}

describe('SymbolDemand', () => {
  it('starts empty, and a new subscriber gets the current set first', () => {
    const demand = new SymbolDemand();
    expect(watched(demand)).toEqual([[]]);
    demand.add('AAPL');
    expect(watched(demand)).toEqual([['AAPL']]);
    expect([...demand.current()]).toEqual(['AAPL']);
  });

  it('changes only when a symbol is first watched or last released (reference counted)', () => {
    const demand = new SymbolDemand();
    const seen = watched(demand);
    demand.add('AAPL');
    demand.add('AAPL'); // a second room: no change
    demand.add('MSFT');
    demand.remove('AAPL'); // one AAPL watcher left: no change
    expect(seen).toEqual([[], ['AAPL'], ['AAPL', 'MSFT']]);
    expect([...demand.current()].sort()).toEqual(['AAPL', 'MSFT']);
    demand.remove('AAPL');
    expect(seen.at(-1)).toEqual(['MSFT']);
    expect([...demand.current()]).toEqual(['MSFT']);
    demand.remove('MSFT');
    expect(seen).toEqual([[], ['AAPL'], ['AAPL', 'MSFT'], ['MSFT'], []]);
  });

  it('ignores the release of a symbol nobody watches, and counts it from zero again after', () => {
    const demand = new SymbolDemand();
    const seen = watched(demand);
    demand.remove('NVDA');
    demand.add('NVDA');
    demand.remove('NVDA');
    demand.remove('NVDA'); // one too many: still nothing, and no negative count
    demand.add('NVDA');
    expect(seen).toEqual([[], ['NVDA'], [], ['NVDA']]);
  });

  it('sends a new set each time (feeds may keep the one they got)', () => {
    const demand = new SymbolDemand();
    const seen: ReadonlySet<string>[] = [];
    demand.demand$.subscribe((symbols) => seen.push(symbols));
    demand.add('AAPL');
    const before = seen.at(-1);
    demand.add('MSFT');
    expect([...(before ?? [])]).toEqual(['AAPL']);
    expect(seen.at(-1)).not.toBe(before);
  });
});
