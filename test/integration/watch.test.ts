import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Quote } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { freePort, until, within } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { startTestService } from '../helpers/service.js';

const BIN = new URL('../../bin/tickstream.js', import.meta.url).pathname;
// Built from strings: the linter refuses control characters in regex literals.
const ESC = '\x1b';
const CURSOR_UP = new RegExp(`${ESC}\\[\\d+A`);
const COLOR = new RegExp(`${ESC}\\[3[12]m`);
const ANY_SGR = new RegExp(`${ESC}\\[[0-9;]*m`);
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

let service: Tickstream | undefined;
let children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await service?.close();
  service = undefined;
});

type Run = { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> };

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/**
 * The watch command in a pseudo-terminal (util-linux `script`), so stdout is a TTY. `script` runs the command
 * through $SHELL; `exec` makes node the terminal's foreground process whichever shell that is (dash, CI's
 * /bin/sh, would otherwise stay in between and die of the Ctrl-C itself), and SHELL is pinned so every machine
 * runs the same thing.
 */
function runInTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const command = `exec ${['node', BIN, 'watch', ...args].map((part) => `'${part}'`).join(' ')}`;
  return run('script', ['-qfec', command, '/dev/null'], { COLUMNS: '120', LINES: '40', SHELL: '/bin/sh', ...env });
}

/** Process ids below `pid`, from /proc (children of every thread). */
function descendants(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
  return children.flatMap((child) => [child, ...descendants(child)]);
}

const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');

/** Until `condition` holds, polled every 50 ms for 20 s (processes start slowly); on failure the output so far. */
const untilOutput = (condition: () => boolean, output: () => string, ms = 20_000) =>
  until(condition, ms, () => `the condition; output so far:\n${output()}`, 50);

const ndjson = (text: string): Quote[] =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Quote);

/** Watches AAPL where nothing listens; how it ended, and how long after its first attempt (ms). */
async function watchWithoutServer(args: string[]) {
  const url = `http://127.0.0.1:${await freePort()}`;
  const watch = run('node', [BIN, 'watch', 'AAPL', '--url', url, ...args]);
  await untilOutput(
    () => watch.stderr().includes('connecting'),
    () => watch.stderr(),
  );
  const started = Date.now();
  const code = await watch.exit;
  expect(watch.stdout()).toBe('');
  return { url, code, took: Date.now() - started, stderr: watch.stderr() };
}

describe('tickstream watch', () => {
  it('--json prints one real quote per line with increasing seq, and exits 0 on SIGTERM', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'AAPL', '--json', '--hz', '10', '--url', service.url]);
    await untilOutput(
      () => ndjson(watch.stdout()).length >= 8,
      () => watch.stdout() + watch.stderr(),
    );
    const quotes = ndjson(watch.stdout());
    expect(watch.stdout()).not.toContain('\x1b');
    for (const q of quotes) {
      expect(q.symbol).toBe('AAPL');
      expect(q.price).toBeGreaterThan(0);
    }
    const seqs = quotes.map((q) => q.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(watch.stderr()).toContain('connected');
    watch.child.kill('SIGTERM');
    expect(await watch.exit).toBe(0);
  });

  it('--msgpack talks to a server that uses the msgpack parser', async () => {
    service = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false, parser: 'msgpack' } });
    const watch = run('node', [BIN, 'watch', 'NVDA', '--json', '--msgpack', '--url', service.url]);
    await untilOutput(
      () => ndjson(watch.stdout()).length >= 3,
      () => watch.stdout() + watch.stderr(),
    );
    expect(ndjson(watch.stdout()).every((q) => q.symbol === 'NVDA' && q.price > 0)).toBe(true);
    watch.child.kill('SIGINT');
    expect(await watch.exit).toBe(0);
  });

  it('prints plain lines without ANSI when stdout is not a terminal', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'MSFT', '--url', service.url]);
    await untilOutput(
      () => watch.stdout().split('\n').length > 4,
      () => watch.stdout() + watch.stderr(),
    );
    const lines = watch.stdout().split('\n').filter(Boolean);
    for (const line of lines) expect(line).toMatch(/^MSFT \d+\.\d{2} [-+]?\d+\.\d{2} [-+]?\d+\.\d{2}% bid /);
    expect(watch.stdout()).not.toContain('\x1b');
    watch.child.kill('SIGINT');
    expect(await watch.exit).toBe(0);
  });

  it('draws a live table in a terminal, redraws in place, and restores the cursor on Ctrl-C', async () => {
    service = await startTestService();
    const watch = runInTerminal(['AAPL', 'MSFT', '--url', service.url]);
    const redraws = () => watch.stdout().split(CURSOR_UP).length - 1;
    await untilOutput(
      () => redraws() >= 5 && /AAPL\s.*\d+\.\d{2}/.test(watch.stdout()),
      () => watch.stdout(),
    );
    const screen = watch.stdout();
    expect(screen.startsWith(HIDE_CURSOR) || screen.includes(HIDE_CURSOR)).toBe(true);
    expect(screen).toContain('SYMBOL');
    expect(screen).toContain('MSFT');
    expect(screen).toContain('connected');
    expect(screen).toContain('sim live');
    expect(screen).toMatch(COLOR); // green or red
    expect(screen).toMatch(/[▲▼]/);
    expect(screen).not.toContain(SHOW_CURSOR);

    watch.child.stdin?.write('\x03'); // Ctrl-C through the terminal's line discipline: SIGINT
    expect(await watch.exit).toBe(0);
    expect(watch.stdout().slice(watch.stdout().lastIndexOf(HIDE_CURSOR))).toContain(SHOW_CURSOR);
  });

  it('respects NO_COLOR in a terminal but still redraws in place, and exits 0 on SIGTERM with the cursor back', async () => {
    service = await startTestService();
    const watch = runInTerminal(['AAPL', '--url', service.url], { NO_COLOR: '1' });
    await untilOutput(
      () => watch.stdout().split(CURSOR_UP).length > 3,
      () => watch.stdout(),
    );
    expect(watch.stdout()).toContain('AAPL');
    expect(watch.stdout()).not.toMatch(ANY_SGR);
    // SIGTERM to the watch process itself (script's grandchild), as a service manager would send it.
    const pid = descendants(watch.child.pid ?? 0).find((p) => commandLine(p).startsWith('node '));
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGTERM');
    expect(await watch.exit).toBe(0);
    expect(watch.stdout()).toContain(SHOW_CURSOR);
  });

  it('exits 4 with the protocol code when every symbol is unknown', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'NOPE', 'NADA', '--json', '--url', service.url]);
    expect(await watch.exit).toBe(4);
    expect(watch.stderr()).toMatch(/unknown symbol: .*NOPE.*\(UNKNOWN_SYMBOL\)/);
    expect(watch.stdout()).toBe('');
  });

  it('goes on with the known symbols when some are unknown, and says which were refused', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'AAPL', 'NOPE', '--json', '--url', service.url]);
    await untilOutput(
      () => ndjson(watch.stdout()).length >= 2 && watch.stderr().includes('NOPE refused'),
      () => watch.stdout() + watch.stderr(),
    );
    expect(watch.stderr()).toMatch(/NOPE refused: .*\(UNKNOWN_SYMBOL\); watching the others/);
    watch.child.kill('SIGTERM');
    expect(await watch.exit).toBe(0);
  });

  // Found on main: the watch went on forever with nothing to watch, saying "watching the others".
  it('exits 4 when a restarted server refuses the last symbol it watched, without claiming others', async () => {
    const first = await startTestService({ server: { host: '127.0.0.1', port: 0, dashboard: false } });
    service = first;
    const watch = run('node', [BIN, 'watch', 'AAPL', '--json', '--url', first.url]);
    await untilOutput(
      () => ndjson(watch.stdout()).length >= 1,
      () => watch.stdout() + watch.stderr(),
    );
    // The server comes back on the same port without AAPL.
    await first.close();
    service = await startTestService(
      { server: { host: '127.0.0.1', port: first.port, dashboard: false } },
      { feeds: [manualFeed(['MSFT'])] },
    );
    expect(await within(watch.exit, 15_000, 'tickstream watch with its last symbol refused')).toBe(4);
    expect(watch.stderr()).toMatch(/AAPL refused: .*\(UNKNOWN_SYMBOL\)\n/);
    expect(watch.stderr()).not.toContain('watching the others');
  });

  it('exits 5 when the server refuses the token, or the token does not allow the symbols', async () => {
    service = await startTestService({
      auth: { tokens: [{ token: 'aapl-only-token-0123456789', symbols: ['AAPL'] }] },
    });
    const wrong = run('node', [BIN, 'watch', 'AAPL', '--url', service.url, '--token', 'wrong-token-0123456789']);
    expect(await wrong.exit).toBe(5);
    expect(wrong.stderr()).toMatch(/not authorized: the server refused the connection: unauthorized \(unknown token\)/);
    expect(wrong.stderr()).toContain('--token');

    const none = run('node', [BIN, 'watch', 'AAPL', '--url', service.url]);
    expect(await none.exit).toBe(5);
    expect(none.stderr()).toContain('(missing)');

    const notAllowed = run('node', [BIN, 'watch', 'MSFT', '--url', service.url], {
      TICKSTREAM_TOKEN: 'aapl-only-token-0123456789',
    });
    expect(await notAllowed.exit).toBe(5);
    expect(notAllowed.stderr()).toMatch(/not authorized: .*MSFT.*\(UNAUTHORIZED\)/);
  });

  it('with no server, retries saying why, then exits 3 once --timeout has passed', async () => {
    const { url, code, took, stderr } = await watchWithoutServer(['--timeout', '2']);
    expect(code).toBe(3);
    // The timeout runs from the first attempt, which comes just before "connecting" is printed.
    expect(took).toBeGreaterThan(1500);
    expect(took).toBeLessThan(4000);
    expect(stderr).toContain(`cannot reach ${url}: connection refused; retrying (attempt 2`);
    expect(stderr).toMatch(new RegExp(`could not connect to ${url} in 2 s: connection refused \\(\\d+ attempts\\)`));
  });

  it('with no server, gives up after 10 s by default', async () => {
    const { code, took, stderr } = await watchWithoutServer(['--json']);
    expect(code).toBe(3);
    expect(took).toBeGreaterThan(9500);
    expect(took).toBeLessThan(12_000);
    expect(stderr).toContain('in 10 s: connection refused');
  });

  it('with --timeout 0, keeps retrying past where a timeout would have stopped it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const watch = run('node', [BIN, 'watch', 'AAPL', '--url', url, '--timeout', '0']);
    // Backoff 0.5, 1, 2 s...: the fifth attempt comes more than 3 s after the first.
    await untilOutput(
      () => watch.stderr().includes('(attempt 5)'),
      () => watch.stderr(),
    );
    expect(watch.stderr()).not.toContain('giving up');
    expect(watch.child.exitCode).toBeNull();
    watch.child.kill('SIGTERM');
    expect(await watch.exit).toBe(0);
  });

  it('exits 3 when the server goes away and does not come back within --timeout', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'AAPL', '--json', '--url', service.url, '--timeout', '1.5']);
    await untilOutput(
      () => ndjson(watch.stdout()).length >= 2,
      () => watch.stdout() + watch.stderr(),
    );
    await service.close();
    service = undefined;
    expect(await watch.exit).toBe(3);
    expect(watch.stderr()).toMatch(
      /lost the connection to http:\/\/127\.0\.0\.1:\d+ \(.*\) and could not reconnect in 1\.5 s/,
    );
  });

  it('shows times in the exchange zone by default, or in the --zone given', async () => {
    service = await startTestService();
    /** The time at the end of a plain line, as seconds into the day, and its zone's name. */
    const timeOf = (line: string) => {
      const match = /(\d\d):(\d\d):(\d\d)\.\d{3} (\S+)$/.exec(line);
      expect(match, line).not.toBeNull();
      const [, h, m, s, zone] = match ?? [];
      return { seconds: Number(h) * 3600 + Number(m) * 60 + Number(s), zone };
    };
    /** Now as seconds into the day in `zone`, as a reference for the simulated quotes' times (they are now). */
    const nowIn = (zone: string) => {
      const [h, m, s] = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', timeStyle: 'medium' })
        .format(Date.now())
        .split(':')
        .map(Number);
      return (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
    };
    const near = (a: number, b: number) => Math.min(Math.abs(a - b), 86_400 - Math.abs(a - b)) <= 30;
    for (const [args, zone, names] of [
      [[], 'America/New_York', ['EST', 'EDT']],
      [['--zone', 'UTC'], 'UTC', ['UTC']],
      [['--zone', 'Asia/Tokyo'], 'Asia/Tokyo', ['GMT+9']],
    ] as const) {
      const watch = run('node', [BIN, 'watch', 'MSFT', '--url', service.url, ...args]);
      await untilOutput(
        () => watch.stdout().split('\n').length > 2,
        () => watch.stdout() + watch.stderr(),
      );
      const shown = timeOf(watch.stdout().split('\n')[0] ?? '');
      expect(names).toContain(shown.zone);
      expect(near(shown.seconds, nowIn(zone)), `${JSON.stringify(shown)} vs now in ${zone}`).toBe(true);
      watch.child.kill('SIGTERM');
      expect(await watch.exit).toBe(0);
    }
  });

  it('exits 2 with a usage message for bad flags', async () => {
    const noSymbols = run('node', [BIN, 'watch']);
    expect(await noSymbols.exit).toBe(2);
    expect(noSymbols.stderr()).toContain('at least one symbol');
    const badHz = run('node', [BIN, 'watch', 'AAPL', '--hz', 'fast']);
    expect(await badHz.exit).toBe(2);
    expect(badHz.stderr()).toContain('--hz');
    const badTimeout = run('node', [BIN, 'watch', 'AAPL', '--timeout', 'soon']);
    expect(await badTimeout.exit).toBe(2);
    expect(badTimeout.stderr()).toContain('--timeout must be a number of seconds');
    const badZone = run('node', [BIN, 'watch', 'AAPL', '--zone', 'Mars/Olympus']);
    expect(await badZone.exit).toBe(2);
    expect(badZone.stderr()).toContain('--zone must be');
  });

  it('documents its options and exit codes in --help', async () => {
    const help = run('node', [BIN, 'watch', '--help']);
    expect(await help.exit).toBe(0);
    for (const text of ['--timeout S', 'default 10; 0 waits for ever', '--zone Z', 'Exit status:']) {
      expect(help.stdout()).toContain(text);
    }
    for (const code of [0, 1, 2, 3, 4, 5]) expect(help.stdout()).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });
});
