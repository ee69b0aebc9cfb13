/**
 * `npm run fuzz [-- --runs N] [-- --seed S]`: the fuzz properties of test/fuzz at a larger scale, against a
 * real tickstream on 127.0.0.1. Exits 1 with fast-check's counterexample (and its seed) on the first failure.
 */
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { startServe } from '../src/roles/serve.js';
import {
  assertServes,
  fuzzClientEvents,
  fuzzEdgePayloads,
  fuzzRawFrames,
  fuzzUpstreamParsers,
} from '../test/fuzz/properties.js';
import { exitOnHelp, HELP_FLAG, parseFlags } from './flags.js';

const HELP = `npm run fuzz -- [options]: the fuzz properties of test/fuzz, at scale, against a real tickstream

Options:
  --runs N     runs per property (default 100000)
  --seed S     fast-check's seed (default: from the clock; printed, so a failure can be replayed)
  -h, --help   this text`;
const { values } = parseFlags('fuzz', HELP, () =>
  parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, help: HELP_FLAG } }),
);
exitOnHelp(HELP, values);
const runs = Number(values.runs ?? 100_000);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const maxBytes = 65_536;

const service = await startServe({
  config: parseConfig({
    server: { host: '127.0.0.1', port: 0, dashboard: false, maxHttpBufferSize: maxBytes },
    feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 2000, offHoursFactor: 1 }],
    limits: { requestsPerSecond: 1_000_000, requestBurst: 1_000_000 },
    log: { level: 'silent' },
  }),
  logger: createLogger('silent'),
});
const step = async (name: string, run: () => unknown) => {
  const started = performance.now();
  await run();
  console.log(`${name}: ok in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};
let failed = false;
try {
  console.log(`fuzzing with seed ${seed}, ${runs} runs per property`);
  await step(`client events (${runs})`, () => fuzzClientEvents(service.url, { numRuns: runs, seed }));
  await step('edge payloads', () => fuzzEdgePayloads(service.url, maxBytes));
  await step(`raw frames (${Math.ceil(runs / 4)})`, async () => {
    const { answered, closed } = await fuzzRawFrames(service.url, { numRuns: Math.ceil(runs / 4), seed });
    console.log(`  after a frame, the connection answered ${answered} times and was closed ${closed} times`);
  });
  await step(`upstream parsers (${runs} x 3)`, () => fuzzUpstreamParsers({ numRuns: runs, seed }));
  await step('server still serves', () => assertServes(service.url));
  const internal = (await service.metrics.requests.get()).values.filter((v) => v.labels.outcome === 'internal');
  if (internal.length) throw new Error(`handlers failed: ${JSON.stringify(internal)}`);
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  await service.close();
}
process.exit(failed ? 1 : 0);
