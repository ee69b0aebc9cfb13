import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { replayFeed } from '../../src/feeds/replay.js';
import { scanRecording } from '../../src/record/reader.js';
import { openRecording } from '../../src/record/recordingTape.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { runTickstream } from '../helpers/cli.js';
import { freePort, until } from '../helpers/lifecycle.js';
import { readRecording as loadRecording } from '../helpers/recordings.js';
import { startTestService } from '../helpers/service.js';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-rec-'));
const BUSY_FEED = '[{"type":"simulated","id":"sim","seed":3,"ticksPerSecond":2000,"offHoursFactor":1}]';
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => runTickstream(args, children);

const HEADER = '{"type":"header","version":1,"createdAt":"2026-11-20T14:29:00.000Z","sources":["sim"]}';
/** A second apart from 2023-11-14 17:13:20 in New York (received 1 ms later), AAPL and MSFT in turn. */
const record = (i: number) =>
  `{"symbol":"${i % 2 ? 'AAPL' : 'MSFT'}","price":${100 + i},"ts":${1_700_000_000_000 + i * 1000},"recvTs":${1_700_000_000_001 + i * 1000}}`;
/** A recording of `count` such records. */
const writeRecording = (file: string, count: number) =>
  writeFileSync(file, `${HEADER}\n${Array.from({ length: count }, (_, i) => record(i)).join('\n')}\n`);

describe('tickstream record / verify (real processes)', () => {
  for (const ext of ['.ndjson.gz', '.ndjson']) {
    it(`${ext}: a SIGKILL mid-recording leaves a file that verifies and replays`, async () => {
      const out = join(dir, `killed${ext}`);
      const { child, done } = run(['record', '--out', out, '--log-level', 'silent', '--set', `feeds=${BUSY_FEED}`]);
      await until(
        () => existsSync(out) && statSync(out).size > 30_000,
        20_000,
        () => `30 KB recorded in ${out}, got ${existsSync(out) ? statSync(out).size : 'no file'}`,
        50,
      );
      child.kill('SIGKILL');
      const result = await done;
      expect(result.signal).toBe('SIGKILL');

      const report = await scanRecording(out);
      expect(report.corrupt).toBeUndefined();
      expect(report.header?.sources).toEqual(['sim']);
      expect(report.records).toBeGreaterThan(100);

      const verify = await run(['verify', out]).done;
      expect(verify.code).toBe(0);
      expect(verify.stdout).toContain(`${report.records} valid records`);

      const recording = await loadRecording(out);
      const feed = replayFeed(
        {
          type: 'replay',
          id: 'replay',
          file: out,
          speed: 'max',
          loop: false,
          zone: 'America/New_York',
          maxGapMs: 5000,
        },
        // A killed recorder leaves no index: opening the file builds it.
        await openRecording(out),
      );
      const replayed = await firstValueFrom(feed.quotes$.pipe(take(recording.records.length), toArray()));
      expect(replayed.map((q) => q.seq)).toEqual(recording.records.map((q) => q.seq));
    });
  }

  it('--duration stops by itself and leaves a clean file', async () => {
    const out = join(dir, 'timed.ndjson.gz');
    const result = await run(['record', '--out', out, '--duration', '1s', '--log-level', 'silent']).done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/recorded \d+ records/);
    const report = await scanRecording(out);
    expect(report).toMatchObject({ records: expect.any(Number) });
    expect(report.records).toBeGreaterThan(0);
    expect(report.torn).toBeUndefined();
    expect(report.corrupt).toBeUndefined();
  });

  // Found on main: record built the feeds without its logger, so a feed that could not connect said nothing.
  it('logs its feeds as serve does: a feed that cannot connect says so', async () => {
    const port = await freePort();
    const feed = `[{"type":"sse","id":"up","url":"http://127.0.0.1:${port}/events","format":"tickstream"}]`;
    const out = join(dir, 'unreachable.ndjson');
    const { child, done } = run(['record', '--out', out, '--log-level', 'warn', '--set', `feeds=${feed}`]);
    let logged = '';
    child.stdout?.on('data', (d: Buffer) => {
      logged += d.toString();
    });
    await until(
      () => logged.includes('SSE reconnecting'),
      15_000,
      () => `a reconnect warning, got: ${logged}`,
    );
    expect(logged).toContain('"feed":"up"');
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
  });

  // Found on main: a recording that could not be written ended the command with an unhandled error's stack.
  it('a file it cannot write (disk full) stops it with exit 1, naming the file and the error', async () => {
    const args = ['--duration', '60s', '--log-level', 'silent', '--set', `feeds=${BUSY_FEED}`];
    const result = await run(['record', '--out', '/dev/full', ...args]).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^record: cannot write \/dev\/full: ENOSPC: no space left on device/m);
    expect(result.stderr).not.toMatch(/recorded \d+ records/);
  });

  it('a disk that fills up while it records (a file size limit) stops it with exit 1; what it wrote verifies', async () => {
    const out = join(dir, 'filled.ndjson');
    const quiet = '[{"type":"simulated","id":"sim","seed":3,"ticksPerSecond":100,"offHoursFactor":1}]';
    // 32 KiB: some flushes (one every 200 ms, a few KiB each) go through before one fails, from the timer.
    const { done } = runTickstream(
      ['record', '--out', out, '--duration', '60s', '--log-level', 'silent', '--set', `feeds=${quiet}`],
      children,
      { maxFileKiB: 32 },
    );
    const result = await done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^record: cannot write .*filled\.ndjson: EFBIG: file too large/m);
    const report = await scanRecording(out);
    expect(report.corrupt).toBeUndefined();
    expect(report.records).toBeGreaterThan(50);
    expect((await run(['verify', out]).done).code).toBe(0);
  });

  it('verify: a torn last line exits 0, a corrupt middle line exits 1 naming the line; bad usage exits 2', async () => {
    const header = '{"type":"header","version":1,"createdAt":"2026-11-20T14:29:00.000Z","sources":["sim"]}';
    const line = (i: number) =>
      `{"symbol":"AAPL","price":${100 + i},"ts":${1_700_000_000_000 + i},"recvTs":${1_700_000_000_001 + i}}`;
    const torn = join(dir, 'torn.ndjson');
    writeFileSync(torn, `${header}\n${line(1)}\n${line(2)}\n{"symbol":"AA`);
    const tornRun = await run(['verify', torn]).done;
    expect(tornRun.code).toBe(0);
    expect(tornRun.stdout).toContain('2 valid records');
    expect(tornRun.stdout).toContain('torn last line 4');

    const corrupt = join(dir, 'corrupt.ndjson');
    writeFileSync(corrupt, `${header}\n${line(1)}\nGARBAGE\n${line(3)}\n`);
    const corruptRun = await run(['verify', corrupt]).done;
    expect(corruptRun.code).toBe(1);
    expect(corruptRun.stdout).toContain('1 valid records');
    expect(corruptRun.stdout).toMatch(/CORRUPT at line 3: not JSON/);

    // replay refuses it with the same line number
    const replayRun = await run(['replay', corrupt, '--port', '0', '--log-level', 'silent']).done;
    expect(replayRun.code).toBe(1);
    expect(replayRun.stderr).toMatch(/line 3: not JSON/);

    // A file with no record (a header alone, or nothing) is one replay refuses: verify says so, exit 1.
    const empty = join(dir, 'header-only.ndjson');
    writeFileSync(empty, `${header}\n`);
    const emptyRun = await run(['verify', empty]).done;
    expect(emptyRun.code).toBe(1);
    expect(emptyRun.stdout).toContain('no records: nothing to replay');
    expect(emptyRun.stdout).not.toContain('clean');

    expect((await run(['verify']).done).code).toBe(2);
    expect((await run(['verify', join(dir, 'missing.ndjson')]).done).code).toBe(2);
  });

  it('verify and replay: gzip data damaged in the middle is corrupt at the line it starts, not an unreadable file', async () => {
    const lines = [HEADER, ...Array.from({ length: 300 }, (_, i) => record(i))];
    // Three gzip members of 100 lines each, as the recorder writes them (a member per checkpoint)...
    const members = [0, 100, 200].map((from) => gzipSync(`${lines.slice(from, from + 100).join('\n')}\n`));
    // ...the second one damaged: its first deflate block gets the reserved block type, which no inflater reads.
    const damaged = members[1];
    if (!damaged) throw new Error('no second member');
    damaged[10] = (damaged[10] ?? 0) | 0b110;
    const file = join(dir, 'damaged.ndjson.gz');
    writeFileSync(file, Buffer.concat(members));

    const verifyRun = await run(['verify', file]).done;
    expect(verifyRun.code).toBe(1);
    expect(verifyRun.stdout).toContain('99 valid records');
    expect(verifyRun.stdout).toMatch(/CORRUPT at line 101: .*gzip/);
    const replayRun = await run(['replay', file, '--port', '0', '--log-level', 'silent']).done;
    expect(replayRun.code).toBe(1);
    expect(replayRun.stderr).toMatch(/line 101: .*gzip/);
  });

  // Found on main: a file damaged in place after it was indexed (its index still current) would not replay at all,
  // "cannot read ...: invalid block type", though the damage was past its first line: the header was read by
  // inflating the first MiB whole.
  it('replay of an indexed file damaged in place plays up to the damage, then names where it is', async () => {
    const lines = [HEADER, ...Array.from({ length: 300 }, (_, i) => record(i))];
    const members = [0, 100, 200].map((from) => gzipSync(`${lines.slice(from, from + 100).join('\n')}\n`));
    const file = join(dir, 'damaged-later.ndjson.gz');
    writeFileSync(file, Buffer.concat(members));
    expect((await run(['index', file]).done).code).toBe(0);
    const damaged = members[1];
    if (!damaged) throw new Error('no second member');
    damaged[10] = (damaged[10] ?? 0) | 0b110; // the reserved block type: the same size, so the index looks current
    writeFileSync(file, Buffer.concat(members));

    const { child, done } = run([
      ...['replay', file, '--speed', 'max', '--port', '0', '--host', '127.0.0.1'],
      ...['--set', 'server.dashboard=false'],
    ]);
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => (output += String(chunk)));
    await until(
      () => output.includes('tickstream: replaying') && output.includes('changed since it was indexed: corrupt gzip'),
      15_000,
      () => `the replay to start, then report the damage; got:\n${output}`,
    );
    expect(output).toContain(`tickstream: replaying ${file} (299 records)`);
    expect(output).toContain(`(tickstream verify ${file} names the line)`);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);

    // Damage in the first member, where the header is: refused before it starts, naming this file's line 1.
    const first = members[0];
    if (!first) throw new Error('no first member');
    first[10] = (first[10] ?? 0) | 0b110;
    writeFileSync(file, Buffer.concat(members));
    const refused = await run(['replay', file, '--port', '0', '--set', 'server.dashboard=false']).done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}: line 1: corrupt gzip member at byte 0`);
    expect(refused.stderr).toContain(`(see tickstream verify ${file})`);
  });

  it('index: builds FILE.idx and says what it covers; verify tells whether it is current; a corrupt file exits 1', async () => {
    const file = join(dir, 'to-index.ndjson');
    writeRecording(file, 200);
    expect((await run(['verify', file]).done).stdout).toContain('index: none yet');
    const indexed = await run(['index', file]).done;
    expect(indexed.code).toBe(0);
    expect(indexed.stdout).toMatch(/200 records, 2 symbols/);
    expect(indexed.stdout).toMatch(/to-index\.ndjson\.idx: \d+ checkpoints/);
    expect(existsSync(`${file}.idx`)).toBe(true);
    expect((await run(['verify', file]).done).stdout).toMatch(/index: .*to-index\.ndjson\.idx, current/);
    writeFileSync(file, `${readFileSync(file, 'utf8')}${record(200)}\n`);
    expect((await run(['verify', file]).done).stdout).toMatch(/index: .* is stale/);

    const corrupt = join(dir, 'corrupt-index.ndjson');
    writeFileSync(corrupt, `${HEADER}\n${record(1)}\nGARBAGE\n${record(3)}\n`);
    const refused = await run(['index', corrupt]).done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/line 3: not JSON/);
    expect((await run(['index']).done).code).toBe(2);
  });

  it('bad flags are clear errors', async () => {
    const bad = await run(['record', '--out', join(dir, 'x.ndjson'), '--duration', 'soon']).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--duration "soon": expected a duration/);
    // record listens nowhere: it neither takes nor lists where to listen.
    const port = await run(['record', '--out', join(dir, 'x.ndjson'), '--port', '3106']).done;
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/Unknown option '--port'/);
    const help = await run(['record', '--help']).done;
    expect(help.stdout).toContain('--out FILE');
    expect(help.stdout).not.toMatch(/--port|--host/);
    // Named by the flag, not by the config field the flag fills.
    const speed = await run(['replay', join(dir, 'torn.ndjson'), '--speed', '500', '--port', '0']).done;
    expect(speed.code).toBe(2);
    expect(speed.stderr).toMatch(/- --speed: .*50/);
    expect(speed.stderr).not.toMatch(/feeds\.0/);
    // A missing file is said to be missing before anything is indexed.
    const missing = await run(['replay', join(dir, 'missing.ndjson'), '--port', '0']).done;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/replay: cannot read .*missing\.ndjson: ENOENT/);
    expect(missing.stderr).not.toMatch(/indexing/);
  });

  it('replay refuses a --from/--to range that holds no record, saying where the records are', async () => {
    // 17:13:20 to 17:16:39 in New York.
    const file = join(dir, 'window.ndjson');
    writeRecording(file, 200);
    const args = (...range: string[]) => [
      'replay',
      file,
      ...range,
      ...['--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--set', 'server.dashboard=false'],
    ];

    const before = await run(args('--from', '09:30', '--to', '10:00')).done;
    expect(before.code).toBe(2);
    expect(before.stderr).toContain(
      'replay: no records between --from 09:30 and --to 10:00 (America/New_York): the recording runs 17:13:20 to' +
        ' 17:16:39; the first record after --from is at 17:13:20',
    );
    const after = await run(args('--from', '18:00')).done;
    expect(after.code).toBe(2);
    expect(after.stderr).toContain('replay: no records after --from 18:00 (America/New_York)');
    // A range the wrong way round says so, rather than that it holds no record.
    const backwards = await run(args('--from', '17:15', '--to', '17:14')).done;
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('replay: --to 17:14 is not after --from 17:15 (America/New_York)');
    const early = await run(args('--to', '17:00', '--zone', 'America/New_York')).done;
    expect(early.code).toBe(2);
    expect(early.stderr).toContain('replay: no records before --to 17:00');

    // A range with records starts.
    const { child, done } = run(args('--from', '17:14', '--to', '17:15'));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += String(chunk);
    });
    await until(
      () => stderr.includes('tickstream: replaying'),
      15_000,
      () => `the replay starting, got: ${stderr}`,
    );
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });
});

describe('recording while serving (config record section)', () => {
  let service: Tickstream | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('writes the merged quote stream, with seq and day statistics, and closes the file on shutdown', async () => {
    const out = join(dir, 'served', 'live.ndjson.gz');
    service = await startTestService({ record: { enabled: true, out } });
    const s = service;
    // seq counts each symbol's quotes: their sum is how many quotes went down the pipeline to the recorder.
    const piped = () => s.cache.snapshot(s.cache.symbols()).reduce((sum, q) => sum + q.seq, 0);
    await until(
      () => s.cache.symbols().length > 10 && piped() > 60,
      10_000,
      () => `60 quotes piped, got ${piped()}`,
    );
    await service.close();
    service = undefined;
    const recording = await loadRecording(out);
    expect(recording.torn).toBeUndefined();
    expect(recording.header?.symbols?.length).toBeGreaterThan(10);
    expect(recording.records.length).toBeGreaterThan(50);
    const first = recording.records[0];
    expect(first).toMatchObject({ seq: 1, source: 'sim', open: expect.any(Number), recvTs: expect.any(Number) });
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  // Found on main: the recorder's write error went unhandled (an uncaught exception; in `serve`, one every
  // 200 ms from the flush timer until the process guard gave up and exited).
  it('a recording it cannot write (disk full) stops, says so, and the service goes on', async () => {
    const lines: { msg?: string; out?: string; err?: { code?: string } }[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    service = await startTestService({ record: { enabled: true, out: '/dev/full' } }, { logger });
    const s = service;
    await until(
      () => lines.some((line) => line.msg === 'recording stopped: cannot write'),
      10_000,
      () => `a 'recording stopped' log line, got ${JSON.stringify(lines)}`,
    );
    expect(lines[0]).toMatchObject({ out: '/dev/full', err: { code: 'ENOSPC' } });
    const seqNow = () => s.cache.snapshot(['AAPL'])[0]?.seq ?? 0;
    const after = seqNow();
    await until(
      () => seqNow() > after + 5,
      10_000,
      () => `AAPL to go on ticking past seq ${after}`,
    );
    expect(lines).toHaveLength(1);
  });
});

describe('tickstream replay starts itself again with its V8 flags', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const childOf = (pid: number) =>
    Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0] ?? 0);
  const alive = (pid: number) =>
    existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  const file = join(dir, 'relaunch.ndjson');
  const line = (i: number) =>
    `{"symbol":"AAPL","price":${100 + i},"ts":${1_700_000_000_000 + i * 1000},"recvTs":${1_700_000_000_000 + i * 1000}}`;

  it('serves from a child with --max-semi-space-size=8; SIGTERM stops both; a parent killed takes the child along', async () => {
    writeFileSync(file, `${Array.from({ length: 50 }, (_, i) => line(i)).join('\n')}\n`);
    for (const stop of ['SIGTERM', 'SIGKILL'] as const) {
      const { child, done } = runTickstream(
        [
          'replay',
          file,
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--log-level',
          'warn',
          '--set',
          'server.dashboard=false',
        ],
        children,
      );
      const url = await new Promise<string>((resolveUrl) => {
        let err = '';
        child.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
          const found = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1];
          if (found) resolveUrl(found);
        });
      });
      const server = childOf(child.pid as number);
      expect(readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=8');
      expect((await fetch(`${url}/healthz`)).ok).toBe(true);
      child.kill(stop);
      const result = await done;
      if (stop === 'SIGTERM') expect(result.code).toBe(0);
      await until(() => !alive(server), 10_000, `the server process ${server} to exit`, 50);
    }
  });
});
