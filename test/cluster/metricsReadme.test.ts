import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startGateway } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import { startTestService } from '../helpers/service.js';
import { clusterTestConfig, dropPrefix, redisAvailable, uniquePrefix } from './helpers.js';

// The README's metrics table is what each role exports: every family it names, with its labels, and no other.

const ROLES = ['serve', 'ingest', 'gateway'] as const;
type Role = (typeof ROLES)[number];
type Documented = { type: string; labels: Set<string>; roles: Set<Role> };

function readmeFamilies(): Map<string, Documented> {
  const text = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const table = text.slice(text.indexOf('## Metrics'), text.indexOf('\n## ', text.indexOf('## Metrics') + 1));
  const families = new Map<string, Documented>();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(tickstream_\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const labels = new Set([...(cells[3] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1] ?? ''));
    const roleCell = cells[4] ?? '';
    const named = roleCell === 'all' ? ROLES : roleCell.split(',').map((r) => r.trim());
    const roles = new Set(named.filter((r): r is Role => ROLES.some((known) => known === r)));
    families.set(name, { type: cells[2] ?? '', labels, roles });
  }
  return families;
}

/** The families of a /metrics scrape (its `# TYPE` lines) and the label names each one's samples carry. */
async function scrape(url: string): Promise<Map<string, { type: string; labels: Set<string> }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const families = new Map<string, { type: string; labels: Set<string> }>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) families.set(type[1], { type: type[2], labels: new Set() });
  }
  for (const line of text.split('\n')) {
    const sample = /^(\w+)\{([^}]*)\}/.exec(line);
    if (!sample?.[1] || !sample[2]) continue;
    // A histogram's samples are <family>_bucket, _sum and _count; `le` is the bucket's bound, not a label of ours.
    const family = families.get(sample[1]) ?? families.get(sample[1].replace(/_(bucket|sum|count)$/, ''));
    for (const [, label] of sample[2].matchAll(/(\w+)="/g)) if (label && label !== 'le') family?.labels.add(label);
  }
  return families;
}

function expectDocumented(role: Role, exported: Map<string, { type: string; labels: Set<string> }>): void {
  const documented = readmeFamilies();
  const forRole = [...documented].filter(([, doc]) => doc.roles.has(role)).map(([name]) => name);
  expect([...exported.keys()].sort(), `${role}: the README's families`).toEqual(forRole.sort());
  for (const [name, family] of exported) {
    const doc = documented.get(name);
    expect(family.type, `${name} type`).toBe(doc?.type);
    for (const label of family.labels) expect(doc?.labels.has(label), `${name}{${label}} documented`).toBe(true);
  }
}

const hasRedis = await redisAvailable();
const silent = createLogger('silent');
const owned: { close(): Promise<void> }[] = [];
let prefix: string | undefined;
afterEach(async () => {
  await Promise.all(owned.splice(0).map((node) => node.close()));
  if (prefix) await dropPrefix(prefix);
  prefix = undefined;
});

describe('the README metrics table', () => {
  it('lists exactly what serve exports: no Redis families, process metrics prefixed once', async () => {
    const service = await startTestService();
    owned.push(service);
    const exported = await scrape(service.url);
    expect([...exported.keys()].filter((name) => name.startsWith('tickstream_redis_'))).toEqual([]);
    expect([...exported.keys()].filter((name) => name.includes('process_process'))).toEqual([]);
    expect(exported.has('tickstream_process_cpu_seconds_total')).toBe(true);
    expectDocumented('serve', exported);
  });

  it.skipIf(!hasRedis)('lists exactly what ingest and gateway export', async () => {
    prefix = uniquePrefix();
    const ingest = await startIngest({ config: clusterTestConfig('ingest', prefix), logger: silent });
    owned.push(ingest);
    const gateway = await startGateway({ config: clusterTestConfig('gateway', prefix), logger: silent });
    owned.push(gateway);
    expectDocumented('ingest', await scrape(ingest.url));
    expectDocumented('gateway', await scrape(gateway.url));
  });
});
