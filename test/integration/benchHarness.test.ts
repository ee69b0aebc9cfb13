import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const resultsDir = mkdtempSync(join(tmpdir(), 'tickstream-bench-'));

afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

type BenchJson = {
  workload: { stepMs: number; lanes: number };
  rows: {
    server: string;
    sockets: number;
    connected: number;
    deliveredPerSec: number;
    framesPerSec: number;
    receivedOverSent: number;
    lagMs: { p50: number; p99: number };
  }[];
  idle: { server: string; sockets: number; heapBytesPerSocket: number; bytesPerSocketAfterGc: number }[];
};

/**
 * The benchmark's harness end to end, at a size that proves the plumbing and not the speed (speed is for
 * `npm run bench`): real server processes, the worker-thread generator, the inspector's GC for idle RSS.
 */
describe('npm run bench', () => {
  it('measures tickstream and the raw ws bound on the same workload and writes its JSON', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/run.ts',
        '--quick',
        '--servers',
        'tickstream,raw',
        '--sockets',
        '40',
        '--symbols',
        '50',
        '--tps',
        '500',
        '--step-ms',
        '10',
        '--duration',
        '2',
        '--warmup',
        '1',
        '--idle',
        '200',
        '--step-max',
        '0',
        '--threads',
        '1',
        '--results',
        resultsDir,
      ],
      { timeout: 100_000 },
    );
    expect(stdout).toMatch(/\| tickstream \| 40 /);
    expect(stdout).toMatch(/a step every 10 ms/);
    const [file] = readdirSync(resultsDir).filter((f) => f.endsWith('.json') && !f.includes('config'));
    if (!file) throw new Error(`no results JSON in ${resultsDir}`);
    const result = JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as BenchJson;
    expect(result.workload).toMatchObject({ stepMs: 10, lanes: 4 });
    expect(result.rows.map((r) => r.server)).toEqual(['tickstream', 'raw']);
    for (const row of result.rows) {
      expect(row.connected).toBe(40);
      // 40 sockets x 20 symbols at 4 Hz: every socket gets a frame per interval.
      expect(row.framesPerSec).toBeGreaterThan(100);
      expect(row.deliveredPerSec).toBeGreaterThan(1000);
      expect(row.receivedOverSent).toBeGreaterThan(0.9);
      expect(row.lagMs.p99).toBeGreaterThanOrEqual(row.lagMs.p50);
    }
    expect(result.idle.map((i) => i.server)).toEqual(['tickstream', 'raw']);
    for (const idle of result.idle) {
      expect(idle.sockets).toBe(200);
      // The heap in use after a full GC grows with the sockets held (Socket.IO's, ws' objects).
      expect(idle.heapBytesPerSocket).toBeGreaterThan(500);
      expect(Number.isFinite(idle.bytesPerSocketAfterGc)).toBe(true);
    }
  }, 120_000);
});
