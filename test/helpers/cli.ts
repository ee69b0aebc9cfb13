import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/load.js';

const BIN = resolve(PROJECT_ROOT, 'bin/tickstream.js');

export type CliRun = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/**
 * `tickstream ARGS` as a real process; `children` holds it so afterEach can kill what is still running.
 * `maxFileKiB` limits the size of any file it writes (the shell's `ulimit -f`): a write past it fails with
 * EFBIG, as on a disk that fills up while it runs.
 */
export function runTickstream(
  args: string[],
  children: ChildProcess[],
  options: { maxFileKiB?: number } = {},
): { child: ChildProcess; done: Promise<CliRun> } {
  const command: [string, string[]] =
    options.maxFileKiB === undefined
      ? [process.execPath, [BIN, ...args]]
      : ['/bin/sh', ['-c', `ulimit -f ${options.maxFileKiB} && exec "$0" "$@"`, process.execPath, BIN, ...args]];
  const child = spawn(...command, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliRun>((resolveRun) =>
    child.on('close', (code, signal) => resolveRun({ code, signal, stdout, stderr })),
  );
  return { child, done };
}
