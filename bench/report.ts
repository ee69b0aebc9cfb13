import type { Chart } from './chart.js';
import { MAX_LAG_P99_MS } from './criteria.js';
import type { LatencySummary } from './loadgen/pool.js';
import type { IdleRss, Row } from './measure.js';
import type { ServerKind } from './serverProcess.js';
import type { WorkloadKind } from './workload.js';

/** One server's step search under one workload. */
export type StepSearchReport = {
  server: ServerKind;
  workload: WorkloadKind;
  largestPassing: number;
  stoppedBy: string;
  steps: Row[];
};

export const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fixed = (n: number | undefined, digits: number) =>
  n === undefined ? '-' : Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const latency = (l: LatencySummary) => (l.count ? `${l.p50}/${l.p99}/${l.max}` : '-');
const holds = (r: Row) => (r.verdict.passes ? 'yes' : r.verdict.reasons.join('; '));
const socketsCell = (r: Row) =>
  r.connected === r.sockets ? fmt(r.sockets) : `${fmt(Math.max(0, r.connected))} of ${fmt(r.sockets)}`;

function markdownTable(header: string[], lines: string[][]): string {
  if (lines.length === 0) return '(no runs)';
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

/** Throughput, lag and CPU of each fixed-size run. */
export function throughputTable(rows: Row[]): string {
  return markdownTable(
    [
      'server',
      'workload',
      'sockets',
      'updates/s',
      'late/s',
      'frames/s',
      'lag p50/p99/p99.9 ms',
      'age p50/p99/p99.9 ms',
      'cpu %',
      'cpu ms/1k dlv',
      'recv/sent',
      'frames owed',
      'gen ELU',
    ],
    rows.map((r) => [
      r.server,
      r.workload,
      socketsCell(r),
      fmt(r.deliveredPerSec),
      fmt(r.latePerSec),
      fmt(r.framesPerSec),
      `${r.lagMs.p50}/${r.lagMs.p99}/${r.lagMs.p999}`,
      `${r.ageMs.p50}/${r.ageMs.p99}/${r.ageMs.p999}`,
      r.serverCpuPct.toFixed(0),
      fixed(r.cpuMsPer1kDelivered, 2),
      fixed(r.receivedOverSent, 3),
      fixed(r.framesOfDemand, 3),
      r.generatorMaxElu.toFixed(2),
    ]),
  );
}

/** Admission, acks and bytes of each run, and whether it holds the load. */
export function controlTable(rows: Row[], handshakeTimeoutS: number): string {
  return markdownTable(
    [
      'server',
      'workload',
      'sockets',
      `not subscribed in ${handshakeTimeoutS} s`,
      'ack p50/p99/max ms',
      'admission p50/p99/max ms',
      'bytes/update',
      'holds',
    ],
    rows.map((r) => [
      r.server,
      r.workload,
      fmt(r.sockets),
      r.failed ? `${fmt(r.failed)} (${fmt(r.timedOut)} timed out, ${fmt(r.notAttempted)} not tried)` : '0',
      latency(r.ackMs),
      admissionCell(r),
      `${fixed(r.bytesPerUpdate, 0)}${r.deltasRequested ? ' (deltas asked)' : ''}`,
      holds(r),
    ]),
  );
}

function admissionCell(r: Row): string {
  const a = r.admission;
  const notes = [a.pending ? `${a.pending} pending: at least` : '', a.failed ? `${a.failed} failed` : ''].filter(
    Boolean,
  );
  return `${latency(a.openToSubscribedMs)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

/** Every step of every search: the chart's data. */
export function stepsTable(searches: StepSearchReport[]): string {
  return markdownTable(
    [
      'server',
      'workload',
      'sockets',
      'lag p99 ms',
      'cpu %',
      'cpu ms/1k dlv',
      'recv/sent',
      'frames owed',
      'ack p99 ms',
      'admission p99 ms',
      'holds',
    ],
    searches.flatMap((s) =>
      s.steps.map((r) => [
        r.server,
        r.workload,
        socketsCell(r),
        String(r.lagMs.p99),
        r.serverCpuPct.toFixed(0),
        fixed(r.cpuMsPer1kDelivered, 2),
        fixed(r.receivedOverSent, 3),
        fixed(r.framesOfDemand, 3),
        r.ackMs.count ? String(r.ackMs.p99) : '-',
        r.admission.openToSubscribedMs.count ? String(r.admission.openToSubscribedMs.p99) : '-',
        holds(r),
      ]),
    ),
  );
}

export type Ratios = {
  workload: WorkloadKind;
  sockets: number;
  vsRaw?: number;
  vsNaive?: number;
  naiveInTime?: number;
  cpuPerDeliveredVsRaw?: number;
};

/** tickstream against the other servers at each fixed size of each workload. */
export function ratiosOf(rows: Row[]): Ratios[] {
  const keys = [...new Set(rows.map((r) => `${r.workload}:${r.sockets}`))];
  return keys.map((key) => {
    const of = (kind: ServerKind) => rows.find((r) => r.server === kind && `${r.workload}:${r.sockets}` === key);
    const t = of('tickstream');
    const raw = of('raw');
    const naive = of('naive');
    const measured = t ?? raw ?? naive;
    return {
      workload: measured?.workload ?? 'uniform',
      sockets: measured?.sockets ?? 0,
      vsRaw: t && raw ? t.deliveredPerSec / raw.deliveredPerSec : undefined,
      vsNaive: t && naive ? t.deliveredPerSec / naive.deliveredPerSec : undefined,
      naiveInTime: naive?.deliveredPerSec,
      cpuPerDeliveredVsRaw: t && raw ? t.cpuMsPer1kDelivered / raw.cpuMsPer1kDelivered : undefined,
    };
  });
}

export function ratioLines(ratios: Ratios[]): string[] {
  const x = (v?: number) =>
    v === undefined
      ? 'n/a'
      : Number.isFinite(v)
        ? `${v.toFixed(2)}x`
        : 'all of it, where it delivers nothing in time to';
  return ratios
    .filter((r) => r.vsRaw !== undefined || r.vsNaive !== undefined)
    .map((r) => {
      // A naive server that got a handful of quotes out in time makes a ratio in the thousands: say what it is.
      const vsNaive =
        r.vsNaive !== undefined && r.naiveInTime !== undefined && r.vsNaive > 100
          ? `more than 100x (the naive server delivered ${fmt(r.naiveInTime)}/s in time)`
          : x(r.vsNaive);
      return `${r.workload}, ${fmt(r.sockets)} sockets: tickstream delivers ${x(r.vsRaw)} the raw-ws bound, ${vsNaive} the naive server; CPU per delivered update ${x(r.cpuPerDeliveredVsRaw)} raw's`;
    });
}

export function searchLines(searches: StepSearchReport[]): string[] {
  const lines = searches.map(
    (s) =>
      `${s.server} (${s.workload}): holds ${fmt(s.largestPassing)} sockets (stopped: ${s.stoppedBy}; ${s.steps.length} steps)`,
  );
  for (const workload of new Set(searches.map((s) => s.workload))) {
    const of = (kind: ServerKind) => searches.find((s) => s.server === kind && s.workload === workload);
    const t = of('tickstream');
    const raw = of('raw');
    if (t && raw && raw.largestPassing > 0)
      lines.push(`${workload}: tickstream holds ${(t.largestPassing / raw.largestPassing).toFixed(2)}x raw ws's size`);
  }
  return lines;
}

export function idleLines(idle: IdleRss[]): string[] {
  return idle.map(
    (i) =>
      `${i.server}: RSS per idle socket (${fmt(i.sockets)} sockets): ${kb(i.bytesPerSocketAfterGc)} KB after a full GC (over a ${i.baselineAfterGcMb.toFixed(0)} MB baseline), ${kb(i.marginalBytesPerSocketAfterGc)} KB marginal (the second ${fmt(i.sockets - Math.floor(i.sockets / 2))} over the first), JS heap ${kb(i.heapBytesPerSocket)} KB; ${kb(i.bytesPerSocket)} KB as read (end minus start, each read before that point's forced GC; one ran halfway) over ${i.baselineMb.toFixed(0)} MB`,
  );
}

export const NOTES = [
  'lag = receive time minus the newest quote `ts` in the frame (delivery delay, plus how old the newest tick was',
  "when the frame fell due); age = receive time minus each quote's `ts` (includes the conflation wait, up to 1/hz",
  'by design; the naive server does not conflate). cpu ms/1k dlv: server CPU per 1,000 updates delivered in time.',
  'frames owed: frames received over hz per subscribed socket (conflating servers; above 1 when tickstream sends a',
  "quiet symbol's tick at once, promptAfterMs). ack: subscribe to its ack, of",
  'the sockets opened before the window (each while those before it stream); admission: a probe socket opened',
  'during the window, from opening to subscribed. A run holds with lag p99 < 100 ms, recv/sent and frames owed',
  '>= 0.99, and every socket subscribed.',
];

const COLORS: Record<ServerKind, string> = { tickstream: '#1f77b4', naive: '#d62728', raw: '#2ca02c' };
const LABELS: Record<ServerKind, string> = { tickstream: 'tickstream', naive: 'naive Socket.IO', raw: 'raw ws' };

/** Rows of one server under one workload: a line of the chart. */
type Line = { server: ServerKind; workload: WorkloadKind; rows: Row[] };

/**
 * Lag p99 and CPU per delivered update against sockets, a line per server and workload, from the step
 * searches; without any (no --step-max), from the fixed-size rows, and the subtitle says so.
 */
export function chartOf(searches: StepSearchReport[], rows: Row[], subtitle: string): Chart {
  const fromSteps = searches.some((s) => s.steps.length > 0);
  const lines: Line[] = fromSteps
    ? searches.map((s) => ({ server: s.server, workload: s.workload, rows: s.steps }))
    : groupLines(rows);
  return {
    title: 'npm run bench: frame lag p99 and server CPU against sockets',
    subtitle: `${subtitle}; ${fromSteps ? 'step search' : 'fixed-size runs (no step search)'}`,
    xLabel: 'sockets',
    series: lines.map((l) => ({
      label: `${LABELS[l.server]}, ${l.workload}`,
      color: COLORS[l.server],
      dashed: l.workload === 'realistic',
    })),
    panels: [
      {
        title: 'frame lag p99 (ms, log scale)',
        threshold: { y: MAX_LAG_P99_MS, label: `${MAX_LAG_P99_MS} ms` },
        points: lines.map((l) => l.rows.map((r) => point(r, r.lagMs.p99))),
      },
      {
        title: 'server CPU ms per 1,000 delivered updates (log scale)',
        points: lines.map((l) => l.rows.map((r) => point(r, r.cpuMsPer1kDelivered))),
      },
    ],
    footnote: 'hollow: the run does not hold the load (lag p99 >= 100 ms, < 99% delivered, or sockets not subscribed)',
  };
}

const point = (row: Row, y: number) => ({ x: row.sockets, y, hollow: !row.verdict.passes });

function groupLines(rows: Row[]): Line[] {
  const lines = new Map<string, Line>();
  for (const row of rows) {
    const key = `${row.server}:${row.workload}`;
    const line = lines.get(key) ?? { server: row.server, workload: row.workload, rows: [] };
    line.rows.push(row);
    lines.set(key, line);
  }
  return [...lines.values()];
}
