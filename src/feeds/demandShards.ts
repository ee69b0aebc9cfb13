import { defer, map, type Observable, type OperatorFunction, scan } from 'rxjs';

/**
 * Spreads a demand over connections of at most `perConnection` symbols each (Binance: 1024 streams), using at
 * most `maxConnections`: emits, for each demand, every connection's symbols. A symbol keeps its connection
 * while it stays demanded (no resubscribe churn); a new one takes the first connection with room, a new
 * connection when all are full. Past `maxConnections` the rest go to the last one, whose subscriptions refuse
 * (and report) what its limit cannot take. Each subscription keeps its own assignment.
 */
export function demandShards(
  perConnection: number,
  maxConnections: number,
): OperatorFunction<ReadonlySet<string>, ReadonlySet<string>[]> {
  const most = Math.max(1, maxConnections);
  return (demand$: Observable<ReadonlySet<string>>) =>
    defer(() =>
      demand$.pipe(
        scan((shards: Set<string>[], demand) => {
          for (const shard of shards) for (const symbol of shard) if (!demand.has(symbol)) shard.delete(symbol);
          const assigned = new Set(shards.flatMap((shard) => [...shard]));
          for (const symbol of demand) {
            if (assigned.has(symbol)) continue;
            let shard = shards.find((s) => s.size < perConnection);
            if (!shard && shards.length < most) {
              shard = new Set();
              shards.push(shard);
            }
            (shard ?? shards.at(-1))?.add(symbol);
          }
          return shards;
        }, []),
        // Copies: a connection compares what it gets with what it had.
        map((shards): ReadonlySet<string>[] => shards.map((shard) => new Set(shard))),
      ),
    );
}
