/**
 * `npm run cluster [-- --ports 3001,3002] [-- --ingest-port 3100] [-- --redis URL[,URL...]]`: a Redis-backed
 * ingest and gateways on this machine, for trying the cluster roles. A role that dies is started again, as a
 * supervisor would, while the others keep running. Ctrl-C stops all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SERVER_NODE_FLAGS } from '../src/cli/nodeFlags.js';
import { redisAnswers } from '../src/cluster/redisLink.js';

/** A role that exits this soon after it started, twice running, cannot start: the others stop too. */
const QUICK_EXIT_MS = 5000;

const HELP = `npm run cluster -- [options]: one ingest and two (or more) gateways on this machine over Redis

Options:
  --ports A,B,...     the gateways' ports (default 3001,3002)
  --ingest-port N     the ingest's HTTP port: health, readiness, metrics (default 3100)
  --redis URL[,URL]   one Redis URL, or several nodes of a Redis Cluster (default $REDIS_URL or
                      redis://127.0.0.1:6379)
  -h, --help          this text

Each process logs to this terminal. A role that exits (kill the ingest to watch the gateways ride it out) is
started again a second later while the others keep running; one that exits twice within ${QUICK_EXIT_MS / 1000} s of
starting (a port in use) stops them all. Ctrl-C stops all.`;

function fail(message: string): never {
  console.error(`cluster: ${message}\n\n${HELP}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      ports: { type: 'string', default: '3001,3002' },
      'ingest-port': { type: 'string', default: '3100' },
      redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  fail((err as Error).message);
}
const { values } = parsed;
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const port = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) fail(`${name}: expected a port (1-65535), got "${text}"`);
  return n;
};
const GATEWAY_PORTS = values.ports.split(',').map((p) => port('--ports', p.trim()));
const INGEST_PORT = port('--ingest-port', values['ingest-port']);
const REDIS = values.redis.split(',').map((url) => url.trim());
if (new Set([...GATEWAY_PORTS, INGEST_PORT]).size !== GATEWAY_PORTS.length + 1) fail('every port must differ');
// One URL is a single Redis; several are the nodes of a Redis Cluster (cluster.redis takes a list).
const redisSetting = REDIS.length === 1 ? (REDIS[0] as string) : JSON.stringify(REDIS);

/** Runs a role and starts it again each time it exits, until Ctrl-C or until it cannot start. */
function supervise(name: string, args: string[]): void {
  let quickExits = 0;
  const start = () => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [...SERVER_NODE_FLAGS, 'bin/tickstream.js', ...args, '--set', `cluster.redis=${redisSetting}`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    running.set(name, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      const why = `${name} exited (${signal ?? code})`;
      quickExits = Date.now() - started < QUICK_EXIT_MS ? quickExits + 1 : 0;
      if (quickExits >= 2) {
        console.error(`cluster: ${why} twice within ${QUICK_EXIT_MS / 1000} s of starting; stopping the others`);
        void stopAll(1);
        return;
      }
      console.error(`cluster: ${why}; the others keep running, and it starts again in 1 s`);
      setTimeout(() => stopping || start(), 1000);
    });
  };
  start();
}

let stopping = false;
/** Each role's current process. */
const running = new Map<string, ChildProcess>();
async function stopAll(exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    [...running.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
  process.exit(exitCode);
}

if (!(await redisAnswers(REDIS[0] as string))) {
  console.error(`cluster: no Redis at ${REDIS[0]}. Start one (redis-server), or pass --redis URL.`);
  process.exit(1);
}
supervise('ingest', ['ingest', '--config', 'config/examples/cluster-ingest.json', '--port', String(INGEST_PORT)]);
for (const gatewayPort of GATEWAY_PORTS) {
  supervise(`gateway ${gatewayPort}`, [
    'gateway',
    '--config',
    'config/examples/cluster-gateway.json',
    '--port',
    String(gatewayPort),
  ]);
}
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());
console.error(`cluster: Redis ${REDIS.join(', ')}
  ingest     http://localhost:${INGEST_PORT}/metrics
${GATEWAY_PORTS.map((p) => `  gateway    http://localhost:${p}`).join('\n')}
Ctrl-C stops all.`);
