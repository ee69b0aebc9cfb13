import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';

// Not TICKSTREAM_*: those are configuration.
const RELAUNCHED = 'REPLAY_V8_RELAUNCHED';
/** REPLAY_V8_RELAUNCH=0: run with the flags the process was started with (benchmarks comparing flags). */
const RELAUNCH = 'REPLAY_V8_RELAUNCH';

/** The V8 flags this process lacks of `flags` (compared by name: --max-semi-space-size=64 is not =8). */
function missingFlags(flags: readonly string[], execArgv: readonly string[] = process.execArgv): string[] {
  return flags.filter((flag) => !execArgv.includes(flag));
}

function isRelaunched(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[RELAUNCHED] === '1';
}

/** Whether to start again with `flags`: some are missing, this is not already the relaunched child, nor is it turned off. */
export function shouldRelaunch(flags: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return missingFlags(flags).length > 0 && !isRelaunched(env) && env[RELAUNCH] !== '0';
}

/**
 * Runs this same command again in a child process with `flags` (V8 flags can only be set when a process
 * starts), its output on this terminal; signals are passed on, and the child's exit status is returned. The
 * child stops by itself if this process dies (its stdin, a pipe from here, closes): see `stopWithParent`.
 */
export function relaunchWith(flags: readonly string[]): Promise<number> {
  const names = new Set(flags.map((flag) => flag.split('=')[0]));
  const kept = process.execArgv.filter((arg) => !names.has(arg.split('=')[0]));
  // Its own process group: a Ctrl-C reaches this process only, which passes it on once (twice would make
  // the child quit at once instead of shutting down).
  const child = spawn(process.execPath, [...flags, ...kept, ...process.argv.slice(1)], {
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...process.env, [RELAUNCHED]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      // Our end of the child's stdin would keep this process alive.
      child.stdin?.destroy();
      resolve(code ?? (signal === 'SIGINT' ? 130 : 143));
    });
  });
}

/** In a relaunched child: a parent that dies (even by SIGKILL) closes our stdin; then stop as on SIGTERM. */
export function stopWithParent(): void {
  const stdin = fstatSync(0);
  // A pipe from the parent (libuv makes it a socket pair); not /dev/null.
  if (!isRelaunched() || !(stdin.isFIFO() || stdin.isSocket())) return;
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.resume();
  // Listening must not keep the process alive once the command is done.
  process.stdin.unref();
}
