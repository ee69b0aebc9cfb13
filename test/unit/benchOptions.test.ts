import { describe, expect, it } from 'vitest';
import { type BenchOptions, FLAGS, HELP, parseBenchOptions } from '../../bench/options.js';

const parse = (...argv: string[]): BenchOptions => {
  const parsed = parseBenchOptions(argv, '/bench');
  if (parsed === 'help') throw new Error('asked for help');
  return parsed;
};

describe('npm run bench flags', () => {
  it('defaults to both workloads, every server, a step search and a 24-minute budget', () => {
    expect(parse()).toMatchObject({
      servers: ['tickstream', 'naive', 'raw'],
      workloads: ['uniform', 'realistic'],
      watchlistShare: 0.3,
      zipfExponent: 1,
      socketCounts: [1000, 5000],
      stepMax: 50_000,
      budgetS: 1440,
      handshakeTimeoutS: 15,
      deltas: false,
      resultsDir: '/bench/results',
      chartCopy: undefined,
    });
    expect(parse('--quick')).toMatchObject({ socketCounts: [300], stepMax: 0, budgetS: 90, handshakeTimeoutS: 5 });
    // A quick run that asks for a step search gets the time for it: 30 s per server and workload.
    expect(parse('--quick', '--step-max', '600', '--servers', 'tickstream,raw')).toMatchObject({
      budgetS: 90 + 4 * 30,
    });
    expect(parse('--quick', '--step-max', '600', '--budget', '60')).toMatchObject({ budgetS: 60 });
    expect(parse('--workload', 'realistic', '--deltas', '--chart', '/tmp/x.svg')).toMatchObject({
      workloads: ['realistic'],
      deltas: true,
      chartCopy: '/tmp/x.svg',
    });
    expect(parseBenchOptions(['--help'], '/bench')).toBe('help');
  });

  it.each([
    [['--workload', 'zipf'], '--workload: expected uniform, realistic, both, got "zipf"'],
    [['--servers', 'tickstream,nginx'], '--servers: expected tickstream, naive, raw, got "nginx"'],
    [['--watchlist-share', '1.2'], '--watchlist-share: expected a share from 0 to 1'],
    [['--sockets', '1000,abc'], '--sockets: expected a non-negative number, got "abc"'],
    [['--threads', '0'], '--threads: expected an integer of at least 1'],
    [['--budget', '0'], '--budget: expected a number above 0'],
    [['--parser', 'json,msgpack'], '--parser: expected one of json, msgpack'],
    [['--step-budget', '240'], "Unknown option '--step-budget'"],
  ])('%j is refused naming the flag', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
  });

  it('--help names every flag it parses', () => {
    for (const [flag, spec] of Object.entries(FLAGS)) {
      expect(HELP).toContain(`--${flag}`);
      if ('short' in spec) expect(HELP).toContain(`-${spec.short}`);
    }
  });
});
