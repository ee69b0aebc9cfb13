import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startGateway } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import { until } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { startTestService } from '../helpers/service.js';
import { clusterTestConfig, dropPrefix, redisAvailable, uniquePrefix } from './helpers.js';

const RULES = join(PROJECT_ROOT, 'ops/prometheus/tickstream.rules.yml');
const RULE_TESTS = join(PROJECT_ROOT, 'ops/prometheus/tickstream.rules.test.yml');
const DASHBOARD = join(PROJECT_ROOT, 'ops/grafana/tickstream.json');

const hasRedis = await redisAvailable();
const silent = createLogger('silent');

/** Debian's `prometheus` package has it (.ci/run installs it); outside CI a missing one skips, loudly. */
function promtoolAvailable(): boolean {
  if (spawnSync('promtool', ['--version']).status === 0) return true;
  if (process.env.CI) throw new Error('promtool is missing (apt-get install -y prometheus); CI must have it');
  console.warn('promtool checks skipped: no promtool (apt-get install -y prometheus)');
  return false;
}
const hasPromtool = promtoolAvailable();

type Panel = { type: string; title: string; targets?: { expr: string }[]; panels?: Panel[] };
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const panelExprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const rulesText = readFileSync(RULES, 'utf8');

/** The tickstream metric names a PromQL text uses (all of ours start with `tickstream_`). */
const metricNames = (text: string) => new Set(text.match(/\btickstream_[a-z0-9_]+/g) ?? []);

/** Metric family names a /metrics text declares, with the sample names of histograms and summaries. */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
  }
  return names;
}

const scrape = async (url: string) => exported(await (await fetch(`${url}/metrics`)).text());

/**
 * The samples of a /metrics text that the rules read, as promtool input series of `instance` holding their
 * value for `minutes` (a process that goes on exactly as it was scraped).
 */
function heldAsSeries(metricsText: string, instance: string, minutes: number): { series: string; values: string }[] {
  const ruleNames = metricNames(rulesText);
  return [...metricsText.matchAll(/^(tickstream_[a-z0-9_]+)(?:\{(.*)\})? (\S+)$/gm)]
    .filter(([, name]) => ruleNames.has(name as string))
    .map(([, name, labels, value]) => ({
      series: `${name}{${[`instance="${instance}"`, ...(labels ? [labels] : [])].join(',')}}`,
      values: `${value}x${minutes}`,
    }));
}

/** Runs one promtool rules unit test: `series` as input, the alerts `alertname` must have at `evalTime`. */
function promtoolRuleTest(
  series: { series: string; values: string }[],
  check: { alertname: string; evalTime: string; expAlerts: unknown[] },
): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-rules-'));
  try {
    const test = {
      rule_files: [RULES],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          alert_rule_test: [{ eval_time: check.evalTime, alertname: check.alertname, exp_alerts: check.expAlerts }],
        },
      ],
    };
    // JSON is YAML: promtool reads it as it is.
    const file = join(dir, 'test.yml');
    writeFileSync(file, JSON.stringify(test));
    const run = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ops/: Prometheus rules and the Grafana dashboard', () => {
  it.skipIf(!hasPromtool)('promtool checks the rules and runs their unit tests', () => {
    expect(execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })).toMatch(/SUCCESS: 8 rules/);
    expect(execFileSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  });

  it.skipIf(!hasPromtool)("every panel's query is valid PromQL (checked by promtool as recording rules)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-panels-'));
    try {
      // Grafana's variables, as Grafana would fill them in.
      const exprs = panelExprs.map((e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'));
      const rules = exprs.map((expr, i) => `      - record: panel:${i}\n        expr: ${JSON.stringify(expr)}`);
      const file = join(dir, 'panels.yml');
      writeFileSync(file, `groups:\n  - name: panels\n    rules:\n${rules.join('\n')}\n`);
      expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toMatch(
        new RegExp(`SUCCESS: ${exprs.length} rules`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the dashboard shows, and the rules watch, what an operator needs', () => {
    const shown = metricNames(panelExprs.join('\n'));
    for (const name of [
      'tickstream_ticks_in_total',
      'tickstream_updates_out_total',
      'tickstream_deliveries_out_total',
      'tickstream_conflation_ratio',
      'tickstream_connections',
      'tickstream_slow_consumer_actions_total',
      'tickstream_disconnects_total',
      'tickstream_event_loop_lag_seconds',
      'tickstream_redis_up',
      'tickstream_feed_state',
      'tickstream_upstream_gaps_total',
    ]) {
      expect(shown, name).toContain(name);
    }
    const alerts = [...rulesText.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'TickstreamFeedDown',
        'TickstreamFeedStale',
        'TickstreamNoTicks',
        'TickstreamEventLoopLag',
        'TickstreamSlowConsumerCutsRising',
        'TickstreamRedisDown',
        'TickstreamProcessErrorStorm',
      ]),
    );
  });
});

/** Whether `value` is an object whose keys can be looked up (a config section). */
const isSection = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

describe('ops/ names only settings the server takes', () => {
  it('every setting an alert tells the operator to change is one the config accepts', () => {
    const defaults: unknown = parseConfig({});
    const named = [
      ...rulesText.matchAll(/\b(?:server|pipeline|limits|cluster|auth|market|record|log)(?:\.[a-zA-Z]+)+/g),
    ].map(([path]) => path);
    expect(named.length).toBeGreaterThan(0);
    const notSettings = named.filter((path) => {
      let node = defaults;
      for (const key of path.split('.')) {
        if (!isSection(node) || !(key in node)) return true;
        node = node[key];
      }
      return false;
    });
    expect(notSettings).toEqual([]);
  });
});

describe.skipIf(!hasRedis)('ops/ names only metrics the server exports', () => {
  const prefix = uniquePrefix();
  const nodes: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0).reverse()) await node.close();
    await dropPrefix(prefix);
  });
  /** A real serve, ingest and gateway, closed after the test. */
  async function everyRole() {
    const serve = await startTestService();
    nodes.push(serve);
    const ingest = await startIngest({ config: clusterTestConfig('ingest', prefix), logger: silent });
    nodes.push(ingest);
    const gateway = await startGateway({ config: clusterTestConfig('gateway', prefix), logger: silent });
    nodes.push(gateway);
    return { serve, ingest, gateway };
  }

  it('every metric a rule or a panel names is on the /metrics of a real serve, ingest or gateway', async () => {
    const { serve, ingest, gateway } = await everyRole();
    // Labelled counters have no series until counted once: wait for the ticks that make them.
    await until(async () => (await scrape(serve.url)).has('tickstream_ticks_in_total'), 5000, 'ticks on serve');
    const byRole = {
      serve: await scrape(serve.url),
      ingest: await scrape(ingest.url),
      gateway: await scrape(gateway.url),
    };
    const anywhere = new Set(Object.values(byRole).flatMap((names) => [...names]));
    const named = metricNames(`${rulesText}\n${panelExprs.join('\n')}`);
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter((name) => !anywhere.has(name))).toEqual([]);
    // Feed states where the feeds run; Redis state in the cluster roles only.
    expect(byRole.serve).toContain('tickstream_feed_state');
    expect(byRole.ingest).toContain('tickstream_feed_state');
    expect(byRole.serve).not.toContain('tickstream_redis_up');
    expect(byRole.ingest).toContain('tickstream_redis_up');
    expect(byRole.gateway).toContain('tickstream_redis_up');
  });

  it.skipIf(!hasPromtool)("promtool finds nothing to fault in each role's /metrics", async () => {
    const { serve, ingest, gateway } = await everyRole();
    for (const node of [serve, ingest, gateway]) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ url: node.url, status: check.status, problems: `${check.stdout}${check.stderr}`.trim() }).toEqual({
        url: node.url,
        status: 0,
        problems: '',
      });
    }
  });

  it.skipIf(!hasPromtool)('TickstreamNoTicks stays quiet for a gateway whose ingest ticks', async () => {
    const { gateway } = await everyRole();
    // A gateway runs no feed: it shows the ingest's feeds (tickstream_feed_state) and counts no ticks of its own.
    await until(
      async () =>
        /^tickstream_feed_state\{feed="sim",state="live"\} 1$/m.test(
          await (await fetch(`${gateway.url}/metrics`)).text(),
        ),
      10_000,
      "the ingest's feed live on the gateway",
    );
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const series = heldAsSeries(text, 'gateway', 40);
    expect(series.map((s) => s.series).join('\n')).toContain('tickstream_feed_state');
    // 20 minutes of this healthy gateway: past the rule's 10-minute window and its 5 minutes of `for`.
    expect(promtoolRuleTest(series, { alertname: 'TickstreamNoTicks', evalTime: '20m', expAlerts: [] })).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('a feed that has not ticked yet is counted at 0 from the start (TickstreamNoTicks reads its rate)', async () => {
    const silentFeed = manualFeed(['AAPL'], 'silent');
    const serve = await startTestService({}, { feeds: [silentFeed] });
    nodes.push(serve);
    const text = await (await fetch(`${serve.url}/metrics`)).text();
    expect(text).toMatch(/^tickstream_ticks_in_total\{feed="silent"\} 0$/m);
  });

  it("a gateway's tickstream_feed_state shows only the feeds the ingest last reported", async () => {
    // The gateway first, as docs/CLUSTER.md allows: until the ingest writes its status, its feeds read
    // { id: 'ingest', state: 'down' }.
    const gateway = await startGateway({ config: clusterTestConfig('gateway', prefix), logger: silent });
    nodes.push(gateway);
    const statesAtOne = async () => {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      return [...text.matchAll(/^tickstream_feed_state\{feed="(\w+)",state="(\w+)"\} 1$/gm)].map(
        (m) => `${m[1]} ${m[2]}`,
      );
    };
    expect(await statesAtOne()).toEqual(['ingest down']);
    const ingest = await startIngest({ config: clusterTestConfig('ingest', prefix), logger: silent });
    nodes.push(ingest);
    await until(
      async () => (await statesAtOne()).includes('sim live'),
      10_000,
      "the ingest's feed live on the gateway",
    );
    expect(await statesAtOne()).toEqual(['sim live']);
    // The ingest goes: past statusTtlMs the gateway's status is { id: 'ingest', state: 'down' } alone again.
    await ingest.close();
    await until(async () => (await statesAtOne()).includes('ingest down'), 10_000, 'the ingest down on the gateway');
    expect(await statesAtOne()).toEqual(['ingest down']);
  });

  it('tickstream_feed_state follows a feed from live to down', async () => {
    const input = new Subject<unknown>();
    const serve = await startTestService(
      {},
      { feeds: [{ id: 'manual', quotes$: input, symbols: [{ symbol: 'AAPL' }] }] },
    );
    nodes.push(serve);
    const state = async () => {
      const text = await (await fetch(`${serve.url}/metrics`)).text();
      return [...text.matchAll(/^tickstream_feed_state\{feed="manual",state="(\w+)"\} 1$/gm)].map((m) => m[1]);
    };
    input.next({ symbol: 'AAPL', price: 100, ts: Date.now() });
    await until(async () => (await state()).join() === 'live', 5000, 'the feed live');
    input.error(new Error('upstream closed'));
    await until(async () => (await state()).join() === 'down', 5000, 'the feed down');
  });
});
