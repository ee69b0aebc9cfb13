import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';

const run = promisify(execFile);

/** The scripts that take flags (package.json and bench/), run as npm runs them. */
const SCRIPTS: { name: string; args: string[] }[] = [
  { name: 'npm run demo', args: ['bin/tickstream.js', 'replay', 'demo/session.ndjson.gz', '--speed', '10', '--loop'] },

  { name: 'npm run fuzz', args: ['--import', 'tsx', 'scripts/fuzz.ts'] },
  { name: 'npm run make-demo', args: ['--import', 'tsx', 'scripts/make-demo.ts'] },
  { name: 'npm run bench', args: ['--import', 'tsx', 'bench/run.ts'] },
  { name: 'npm run bench:pipeline', args: ['--import', 'tsx', 'bench/pipeline.ts'] },
  { name: 'npm run bench:admin-ui', args: ['--import', 'tsx', 'bench/adminUi.ts'] },
  { name: 'npm run bench:cluster', args: ['--import', 'tsx', 'bench/cluster.ts'] },
  { name: 'npm run bench:latency', args: ['--import', 'tsx', 'bench/quietLatency.ts'] },
  { name: 'npm run bench:heap', args: ['--import', 'tsx', 'bench/heapPerSocket.ts'] },
  { name: 'npm run bench:soak', args: ['--import', 'tsx', 'bench/soak.ts'] },
  { name: 'npm run cluster', args: ['--import', 'tsx', 'scripts/cluster.ts'] },
  { name: 'bench/replayPacing.ts', args: ['--import', 'tsx', 'bench/replayPacing.ts'] },
];

describe('scripts that take flags', () => {
  const node = (args: string[]) => run(process.execPath, args, { cwd: PROJECT_ROOT, timeout: 30_000 });

  it('answer --help with their options', async () => {
    await Promise.all(
      SCRIPTS.map(async ({ name, args }) => {
        const { stdout } = await node([...args, '--help']);
        expect(stdout, name).toMatch(/\n\s+(-h, )?--[a-z]/); // its option lines
      }),
    );
  }, 60_000);

  it('answer an unknown flag with the error and the help, exit 2, no stack trace (scripts/flags.ts)', async () => {
    const refused = await node(['--import', 'tsx', 'bench/pipeline.ts', '--no-such-flag']).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^bench:pipeline: Unknown option '--no-such-flag'\n\nnpm run bench:pipeline/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
