/** A V8 heap snapshot's objects summed by kind, and what grew between two snapshots (bench:heap, bench:soak). */

type Snapshot = {
  snapshot: { meta: { node_fields: string[]; node_types: (string[] | string)[] } };
  nodes: number[];
  strings: string[];
};
export type Totals = Map<string, { count: number; bytes: number }>;

/** Objects by kind: `Constructor`, `(closure) name`, `(array)`, `(string)`... with their count and self size. */
export function totalsOf(json: string): Totals {
  const { snapshot, nodes, strings } = JSON.parse(json) as Snapshot;
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const totals: Totals = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] as number] ?? '?';
    const name = strings[nodes[i + nameAt] as number] ?? '';
    const key =
      type === 'object' || type === 'native'
        ? name
        : type === 'closure'
          ? `(closure) ${name || 'anonymous'}`
          : `(${type})`;
    const entry = totals.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + sizeAt] as number;
    totals.set(key, entry);
  }
  return totals;
}

/** What grew from `first` to `second` by kind of object, per `unit` (a socket, a round), largest first. */
export function growth(first: Totals, second: Totals, unit: number): { key: string; count: number; bytes: number }[] {
  return [...second]
    .map(([key, after]) => {
      const before = first.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (after.count - before.count) / unit, bytes: (after.bytes - before.bytes) / unit };
    })
    .filter((row) => Math.abs(row.bytes) >= 1)
    .sort((a, b) => b.bytes - a.bytes);
}
