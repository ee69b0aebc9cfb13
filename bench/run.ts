import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { TimeBudget } from './budget.js';
import { renderChart } from './chart.js';
import { idleCostMs, idleRss, measure, type Row, type RunContext, runCostMs } from './measure.js';
import { type BenchOptions, HELP, parseBenchOptions } from './options.js';
import {
  chartOf,
  controlTable,
  fmt,
  idleLines,
  NOTES,
  ratioLines,
  ratiosOf,
  type StepSearchReport,
  searchLines,
  stepsTable,
  throughputTable,
} from './report.js';
import { BENCH_DIR, type ServerKind, type Workload } from './serverProcess.js';
import { searchLargestPassing } from './stepSearch.js';
import type { WorkloadKind } from './workload.js';

/**
 * `npm run bench [-- --quick]`: tickstream, a naive Socket.IO server and a raw `ws` bound, same simulator,
 * same workloads, same run; each in its own process, driven by a worker-thread load generator on 127.0.0.1.
 * Fixed-size runs, idle memory, then a step search for every server; all within one time budget.
 */

const log = (line: string) => process.stderr.write(`${line}\n`);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The step search plans for about this many steps per server and workload (for the time budget). */
const PLANNED_STEPS = 6;
const PLANNED_STEP_SOCKETS = 3000;

function parseOrExit(): BenchOptions {
  try {
    const parsed = parseBenchOptions(process.argv.slice(2), BENCH_DIR);
    if (parsed !== 'help') return parsed;
    console.log(HELP);
  } catch (err) {
    console.error(`bench: ${messageOf(err)} (--help lists the flags)`);
    process.exit(2);
  }
  process.exit(0);
}

const options = parseOrExit();

// Each socket is a file descriptor in the server and in the generator; both inherit our limit.
const openFilesLimit = Number(
  /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Number.POSITIVE_INFINITY,
);
const socketCap = openFilesLimit - 1000;

const serverWorkload: Workload = {
  symbols: options.symbols,
  ticksPerSecond: options.ticksPerSecond,
  stepMs: options.stepMs,
  hz: options.hz,
  seed: options.seed,
  parser: options.parser,
  promptAfterMs: options.promptAfterMs,
  lanes: options.lanes,
};
const context: RunContext = { options, serverWorkload };

type Skipped = { what: string; reason: string };

/** The runs of the fixed-size table, in order: each workload, each size, each server. */
function fixedRuns(sizes: number[]): { workload: WorkloadKind; sockets: number; kind: ServerKind }[] {
  return options.workloads.flatMap((workload) =>
    sizes.flatMap((sockets) => options.servers.map((kind) => ({ workload, sockets, kind }))),
  );
}

const searchesPlanned = () => (options.stepMax > 0 ? options.workloads.length * options.servers.length : 0);
const searchCostMs = () =>
  PLANNED_STEPS * runCostMs(options, Math.min(PLANNED_STEP_SOCKETS, options.stepMax), options.stepDurationS);

async function stepSearch(kind: ServerKind, workload: WorkloadKind, budget: TimeBudget): Promise<StepSearchReport> {
  const deadline = budget.take(searchCostMs());
  const steps: Row[] = [];
  const result = await searchLargestPassing(
    async (sockets) => {
      try {
        const outcome = await measure(context, {
          kind,
          workload,
          sockets,
          measuredS: options.stepDurationS,
          deadline,
          // A step with sockets left unsubscribed has failed: no need to wait for the rest to time out.
          giveUpAfterFailures: Math.max(10, Math.ceil(sockets / 100)),
        });
        if ('skipped' in outcome) return outcome;
        steps.push(outcome);
        return outcome.verdict.passes
          ? { passes: true }
          : { passes: false, reason: outcome.verdict.reasons.join(', ') };
      } catch (err) {
        return { passes: false, reason: messageOf(err) };
      }
    },
    { stepMax: options.stepMax, cap: socketCap, capReason: `open files limit ${openFilesLimit}` },
  );
  return { server: kind, workload, ...result, steps };
}

async function main(): Promise<void> {
  // Undici's sockets to a server that stopped answering do not hold the event loop open: this does, so a
  // wait on such a server ends by its own timeout instead of the process quietly exiting.
  setInterval(() => {}, 1000);
  const startedAt = new Date().toISOString();
  const stamp = startedAt.replace(/[:.]/g, '-');
  const load0 = loadavg();
  const sizes = options.socketCounts.filter((n) => n <= socketCap);
  if (sizes.length < options.socketCounts.length)
    log(`socket counts over the open-files limit (${openFilesLimit}) skipped`);
  const runs = fixedRuns(sizes);
  const idleServers = options.idleSockets > 0 ? options.servers : [];
  const budget = new TimeBudget(options.budgetS * 1000, [
    ...runs.map((r) => runCostMs(options, r.sockets, options.durationS)),
    ...idleServers.map(() => idleCostMs(options)),
    ...Array.from({ length: searchesPlanned() }, searchCostMs),
  ]);
  log(
    `bench: ${options.workloads.join(' and ')} workload, ${options.symbols} symbols, ${options.ticksPerSecond} ticks/s (a step every ${options.stepMs} ms), parser ${options.parser}, lanes ${options.lanes}, promptAfterMs ${options.promptAfterMs}${options.deltas ? ', deltas asked' : ''}; budget ${options.budgetS} s; open files limit ${openFilesLimit}`,
  );

  const skipped: Skipped[] = [];
  const rows: Row[] = [];
  for (const run of runs) {
    const what = `${run.kind} (${run.workload}) at ${fmt(run.sockets)} sockets`;
    try {
      const deadline = budget.takeWhole(runCostMs(options, run.sockets, options.durationS));
      const outcome = await measure(context, { ...run, measuredS: options.durationS, deadline });
      if ('skipped' in outcome) skipped.push({ what, reason: outcome.skipped });
      else rows.push(outcome);
    } catch (err) {
      log(`  ${what}: ${messageOf(err)}`);
      skipped.push({ what, reason: messageOf(err) });
    }
  }
  const idle = [];
  for (const kind of idleServers) {
    const deadline = budget.takeWhole(idleCostMs(options));
    if (!deadline.fits(idleCostMs(options))) {
      skipped.push({ what: `${kind} idle RSS`, reason: 'time budget' });
      continue;
    }
    try {
      idle.push(await idleRss(context, kind, Math.min(options.idleSockets, socketCap)));
    } catch (err) {
      log(`  ${kind} idle RSS: ${messageOf(err)}`);
      skipped.push({ what: `${kind} idle RSS`, reason: messageOf(err) });
    }
  }
  const searches: StepSearchReport[] = [];
  if (options.stepMax > 0)
    for (const workload of options.workloads)
      for (const kind of options.servers) searches.push(await stepSearch(kind, workload, budget));

  const ratios = ratiosOf(rows);
  const out = [
    `workload: ${options.workloads.join(' and ')} (realistic: Zipf ${options.zipfExponent} popularity, ${Math.round(options.watchlistShare * 100)}% of sockets on the default watchlist), ` +
      `${options.symbols} symbols, ${fmt(options.ticksPerSecond)} ticks/s upstream (a step every ${options.stepMs} ms), ${options.perSocket} symbols per socket at ${options.hz} Hz, ` +
      `${options.durationS}s measured after ${options.warmupS}s warm-up, ${options.probes} admission probes per run; tickstream parser ${options.parser}, lanes ${options.lanes}, promptAfterMs ${options.promptAfterMs}`,
    '',
    throughputTable(rows),
    '',
    controlTable(rows, options.handshakeTimeoutS),
    '',
    ...ratioLines(ratios),
    ...idleLines(idle),
  ];
  if (searches.length) out.push('', `step search (${options.stepDurationS}s per step):`, '', stepsTable(searches), '');
  out.push(...searchLines(searches));
  for (const s of skipped) out.push(`not run: ${s.what}: ${s.reason}`);
  out.push('', ...NOTES);
  const text = out.join('\n');
  console.log(`\n${text}`);

  mkdirSync(options.resultsDir, { recursive: true });
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    node: process.version,
    loadavgBefore: load0,
    loadavgAfter: loadavg(),
    openFilesLimit,
  };
  const chartFile = resolve(options.resultsDir, `${stamp}.svg`);
  const subtitle = `${startedAt.slice(0, 16).replace('T', ' ')} UTC, ${machine.cpus} x ${machine.model ?? 'cpu'}, node ${machine.node}; ${options.symbols} symbols, ${fmt(options.ticksPerSecond)} ticks/s, ${options.perSocket} symbols per socket at ${options.hz} Hz`;
  writeFileSync(chartFile, renderChart(chartOf(searches, rows, subtitle)));
  const file = resolve(options.resultsDir, `${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        machine,
        workload: { ...serverWorkload, ...options, socketCounts: sizes },
        rows,
        ratios,
        idle,
        steps: searches,
        skipped,
        chart: chartFile,
        table: text,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults: ${file}\nchart: ${chartFile}`);
  if (options.chartCopy) {
    mkdirSync(dirname(options.chartCopy), { recursive: true });
    copyFileSync(chartFile, options.chartCopy);
    console.log(`chart copied to ${options.chartCopy}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
