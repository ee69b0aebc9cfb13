import { defer, from, lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { demandShards } from '../../src/feeds/demandShards.js';

const shardsOf = async (demands: string[][], perConnection: number, maxConnections: number) =>
  (
    await lastValueFrom(
      from(demands.map((d) => new Set(d))).pipe(demandShards(perConnection, maxConnections), toArray()),
    )
  ).map((shards) => shards.map((shard) => [...shard]));

describe('demandShards', () => {
  it('fills a connection up to its limit, then opens the next', async () => {
    expect(await shardsOf([['A', 'B', 'C', 'D', 'E']], 2, 5)).toEqual([[['A', 'B'], ['C', 'D'], ['E']]]);
  });

  it('keeps a symbol on its connection while it stays demanded; a new one takes the first free place', async () => {
    const steps = await shardsOf(
      [
        ['A', 'B', 'C', 'D'],
        ['B', 'C', 'D'],
        ['B', 'C', 'D', 'E'],
      ],
      2,
      5,
    );
    expect(steps).toEqual([
      [
        ['A', 'B'],
        ['C', 'D'],
      ],
      [['B'], ['C', 'D']],
      [
        ['B', 'E'],
        ['C', 'D'],
      ],
    ]);
  });

  it('past the last connection, the rest go to the last one (whose subscriptions refuse and report them)', async () => {
    expect(await shardsOf([['A', 'B', 'C', 'D', 'E']], 2, 2)).toEqual([
      [
        ['A', 'B'],
        ['C', 'D', 'E'],
      ],
    ]);
  });

  it('gives each subscription its own assignment', async () => {
    let subscriptions = 0;
    const demand$ = defer(() => of(new Set(subscriptions++ === 0 ? ['A', 'B', 'C'] : ['D'])));
    const source = demand$.pipe(demandShards(2, 5));
    expect((await lastValueFrom(source)).map((s) => [...s])).toEqual([['A', 'B'], ['C']]);
    expect((await lastValueFrom(source)).map((s) => [...s])).toEqual([['D']]);
  });
});
