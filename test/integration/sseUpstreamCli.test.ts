import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { sseFeed } from '../../src/feeds/sse.js';

const BIN = 'bin/tickstream.js';

describe('tickstream upstream', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('serves SSE and JSON from the command line, and stops on SIGINT', async () => {
    const proc = spawn(process.execPath, [BIN, 'upstream', '--sse', '--port', '0', '--rate', '200', '--symbols', '5'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /SSE at (http:\/\/[^\s,]+)\/events/.exec(stderr);
        if (match?.[1]) resolve(match[1]);
      });
      proc.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const values = await lastValueFrom(
      sseFeed({ url: `${url}/events`, format: 'tickstream' }).pipe(take(5), toArray()),
    );
    expect(values).toHaveLength(5);
    const quotes = (await (await fetch(`${url}/quotes`)).json()) as { symbol: string }[];
    expect(quotes.length).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    proc.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('refuses bad choices with exit code 2 and says why', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, 'upstream', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    const ws = run('--ws', 'nasdaq');
    expect(ws.status).toBe(2);
    expect(ws.stderr).toContain('"nasdaq" is not one of polygon, alpaca, finnhub, coinbase');
    const format = run('--sse', '--format', 'xml');
    expect(format.status).toBe(2);
    expect(format.stderr).toContain('"xml" is not one of tickstream, iex');
  });
});
