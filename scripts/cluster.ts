/**
 * `npm run cluster`: a Redis-backed ingest and two gateways on this machine (ports 3001 and 3002), for trying
 * the cluster roles. Needs a Redis (default redis://127.0.0.1:6379; REDIS_URL overrides). Ctrl-C stops all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { SERVER_NODE_FLAGS } from '../src/cli/nodeFlags.js';
import { redisAnswers } from '../src/cluster/redisLink.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const GATEWAY_PORTS = [3001, 3002];
const INGEST_PORT = 3100;

function run(name: string, args: string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [...SERVER_NODE_FLAGS, 'bin/tickstream.js', ...args, '--set', `cluster.redisUrl=${REDIS_URL}`],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`cluster: ${name} exited (${signal ?? code}); stopping the others`);
    void stopAll();
  });
  return child;
}

let stopping = false;
const children: ChildProcess[] = [];
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
  process.exit(0);
}

if (!(await redisAnswers(REDIS_URL))) {
  console.error(`cluster: no Redis at ${REDIS_URL}. Start one (redis-server) or set REDIS_URL.`);
  process.exit(1);
}
children.push(
  run('ingest', ['ingest', '--config', 'config/examples/cluster-ingest.json', '--port', String(INGEST_PORT)]),
);
for (const port of GATEWAY_PORTS) {
  children.push(
    run(`gateway ${port}`, ['gateway', '--config', 'config/examples/cluster-gateway.json', '--port', String(port)]),
  );
}
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());
console.error(`cluster: Redis ${REDIS_URL}
  ingest     http://localhost:${INGEST_PORT}/metrics
${GATEWAY_PORTS.map((p) => `  gateway    http://localhost:${p}`).join('\n')}
Ctrl-C stops all.`);
