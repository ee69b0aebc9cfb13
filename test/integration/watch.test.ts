import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Quote } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
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

async function until(condition: () => boolean, what: () => string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ndjson = (text: string): Quote[] =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Quote);

describe('tickstream watch', () => {
  it('--json prints one real quote per line with increasing seq, and exits 0 on SIGTERM', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'AAPL', '--json', '--hz', '10', '--url', service.url]);
    await until(
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
    await until(
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
    await until(
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
    await until(
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
    await until(
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

  it('exits 1 with the protocol code when every symbol is refused', async () => {
    service = await startTestService();
    const watch = run('node', [BIN, 'watch', 'NOPE', '--json', '--url', service.url]);
    expect(await watch.exit).toBe(1);
    expect(watch.stderr()).toContain('UNKNOWN_SYMBOL');
    expect(watch.stdout()).toBe('');
  });

  it('exits 2 with a usage message for bad flags', async () => {
    const noSymbols = run('node', [BIN, 'watch']);
    expect(await noSymbols.exit).toBe(2);
    expect(noSymbols.stderr()).toContain('at least one symbol');
    const badHz = run('node', [BIN, 'watch', 'AAPL', '--hz', 'fast']);
    expect(await badHz.exit).toBe(2);
    expect(badHz.stderr()).toContain('--hz');
  });
});
