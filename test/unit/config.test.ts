import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const loadError = (sources: Parameters<typeof loadConfig>[0]): ConfigError => {
  try {
    loadConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('loads config/default.json as the embedded default: a simulated feed on port 3000', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.port).toBe(3000);
    expect(config.feeds).toEqual([expect.objectContaining({ type: 'simulated', id: 'sim' })]);
    expect(config.pipeline.tiers).toEqual([1, 2, 4, 10, 20]);
  });

  it('takes a market that opens after the default early close when no day closes early', () => {
    const overrides = {
      'market.open': '14:00',
      'market.close': '20:00',
      'market.postClose': '22:00',
      'market.earlyCloses': [],
    };
    expect(loadConfig({ env: {}, overrides }).market).toMatchObject({ open: '14:00', earlyCloses: [] });
  });

  it('says what replaced a setting of an earlier version, naming it', () => {
    const error = loadError({
      env: {},
      overrides: {
        'pipeline.conflation': 'throttle',
        'cluster.redisUrl': 'redis://127.0.0.1:6379',
        'cluster.publish': 'all',
      },
    });
    expect(error.issues).toEqual([
      expect.stringMatching(/^pipeline\.conflation: removed: delivery is always one frame per socket per interval/),
      'cluster.redisUrl: renamed to cluster.redis (a URL, or a list of Redis Cluster nodes)',
      expect.stringMatching(/^cluster\.publish: removed/),
    ]);
  });

  it('takes one Redis URL or a list of Redis Cluster nodes, and refuses anything else', () => {
    expect(
      loadConfig({ env: {}, overrides: { 'cluster.redis': ['redis://a:7000', 'redis://b:7001'] } }).cluster.redis,
    ).toEqual(['redis://a:7000', 'redis://b:7001']);
    expect(loadError({ env: {}, overrides: { 'cluster.redis': ['http://a:7000'] } }).issues).toEqual([
      expect.stringMatching(/^cluster\.redis/),
    ]);
    expect(loadError({ env: {}, overrides: { 'cluster.redis': [] } }).issues).toEqual([
      expect.stringMatching(/^cluster\.redis/),
    ]);
  });

  it('layers a file, then TICKSTREAM_* environment, then flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-config-'));
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ server: { port: 4000 }, pipeline: { defaultHz: 2 } }));
    const config = loadConfig({
      file,
      env: { TICKSTREAM_PORT: '4001', TICKSTREAM_LIMITS__MAX_SYMBOLS_PER_SOCKET: '50', TICKSTREAM_LOG_LEVEL: 'warn' },
      overrides: { 'limits.requestsPerSecond': 5 },
    });
    expect(config.server.port).toBe(4001);
    expect(config.server.host).toBe('0.0.0.0'); // merged, not replaced
    expect(config.pipeline.defaultHz).toBe(2);
    expect(config.limits.maxSymbolsPerSocket).toBe(50);
    expect(config.limits.requestsPerSecond).toBe(5);
    expect(config.log.level).toBe('warn');
  });

  it('leaves alone the TICKSTREAM_* variables of tickstream watch (TICKSTREAM_URL, TICKSTREAM_TOKEN)', () => {
    // The shell that runs `tickstream watch` against this server may well start it too.
    const config = loadConfig({
      env: {
        TICKSTREAM_URL: 'http://localhost:3000',
        TICKSTREAM_TOKEN: 'a-long-random-string-1',
        TICKSTREAM_PORT: '4001',
      },
    });
    expect(config.server.port).toBe(4001);
  });

  it.each([
    [{ 'server.port': 70000 }, 'server.port: Too big: expected number to be <=65535'],
    [{ 'server.port': 'abc' }, 'server.port: expected number, received string'],
    [{ 'pipeline.tiers': [] }, 'pipeline.tiers: Too small'],
    [{ 'pipeline.tiers': [2, 2] }, 'pipeline.tiers: tiers must be distinct'],
    [{ 'market.open': '9:30am' }, 'market.open: expected a time "HH:MM"'],
    [{ 'market.holidays': ['26/11/2026'] }, 'market.holidays.0: expected a date "YYYY-MM-DD"'],
    // Found on main: both were accepted, and the server broke at its first tick (or never said).
    [{ 'market.zone': 'Mars/Phobos' }, 'market.zone: expected an IANA time zone such as "America/New_York"'],
    [{ 'market.holidays': ['2026-13-45'] }, 'market.holidays.0: expected a date "YYYY-MM-DD" that exists'],
    [{ 'market.open': '17:00' }, 'market.close: expected after market.open (17:00)'],
    [{ 'market.earlyClose': '09:00' }, 'market.earlyClose: expected after market.open (09:30)'],
    [{ 'market.earlyClose': '16:30' }, 'market.earlyClose: expected before market.close (16:00): an early close'],
    [{ 'market.earlyPostClose': '12:00' }, 'market.earlyPostClose: expected at or after market.earlyClose (13:00)'],
    [{ 'market.earlyCloses': ['2026-11-28'] }, 'market.earlyCloses: 2026-11-28 is a Saturday or a Sunday'],
    [
      { 'market.holidays': ['2026-11-27'], 'market.earlyCloses': ['2026-11-27'] },
      'market.earlyCloses: 2026-11-27 is in market.holidays too',
    ],
    [{ 'pipeline.tiers': [5, 10] }, 'pipeline.defaultHz: expected a rate within pipeline.tiers (5 to 10 Hz), got 4'],
    [{ feeds: [{ type: 'poll', id: 'p', url: 'ftp://example.com/q' }] }, 'feeds.0.url: expected a http:// or https://'],
    [{ feeds: [{ type: 'replay', file: 'x.ndjson', zone: 'Nowhere' }] }, 'feeds.0.zone: expected an IANA time zone'],
    [{ 'log.level': 'loud' }, 'log.level: expected one of'],
    [{ 'server.bogus': 1 }, 'server.bogus: unknown field'],
    // Found on wt-ops: both listened on 3000 and start-up died of EADDRINUSE, naming no setting.
    [{ 'server.metricsPort': 3000 }, 'server.metricsPort: expected a port other than server.port (3000)'],
    [{ feeds: [{ type: 'sse', id: 'x', url: 'not a url' }] }, 'feeds.0.url'],
    [{ feeds: [{ type: 'carrier-pigeon' }] }, 'feeds.0.type'],
  ])('rejects %j naming the field', (overrides, message) => {
    const error = loadError({ env: {}, overrides });
    expect(error.message).toContain(message);
  });

  it('names a missing or broken config file', () => {
    expect(loadError({ file: '/nonexistent/tickstream.json' }).message).toContain('cannot read config file');
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ "server": ');
    expect(loadError({ file: join(dir, 'bad.json') }).message).toMatch(/bad\.json is not valid JSON/);
  });
});

describe('tickstream serve with a bad config', () => {
  const serve = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['bin/tickstream.js', 'serve', ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 20_000,
    });

  it('stops before listening, exits non-zero and names the field', () => {
    const byFlag = serve(['--port=-1']);
    expect(byFlag.status).toBe(2);
    expect(byFlag.stderr).toContain('server.port: Too small');

    const byEnv = serve([], { TICKSTREAM_PIPELINE__DEFAULT_HZ: '"fast"' });
    expect(byEnv.status).toBe(2);
    expect(byEnv.stderr).toContain('pipeline.defaultHz: expected number, received string');

    const bySet = serve(['--set', 'nonsense']);
    expect(bySet.status).toBe(2);
    expect(bySet.stderr).toContain('--set nonsense: expected PATH=VALUE');
  });

  // Found on main: "serving on", then a feed that fails at every tick, /readyz hanging and a 12 s Ctrl-C.
  it('stops at a time zone luxon does not know, and at a date that does not exist', () => {
    const zone = serve(['--port', '0', '--set', 'market.zone=Mars/Phobos']);
    expect(zone.status).toBe(2);
    expect(zone.stderr).toContain(
      'market.zone: expected an IANA time zone such as "America/New_York", got "Mars/Phobos"',
    );
    expect(zone.stderr).not.toContain('serving on');
    const holiday = serve(['--port', '0', '--set', 'market.holidays=["2026-13-45"]']);
    expect(holiday.status).toBe(2);
    expect(holiday.stderr).toContain('market.holidays.0: expected a date "YYYY-MM-DD" that exists, got "2026-13-45"');
    expect(holiday.stderr).not.toContain('serving on');
  });

  it('refuses an unknown flag and prints --help', () => {
    expect(serve(['--prot', '1']).status).toBe(2);
    const help = serve(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: tickstream serve');
  });
});
