import type { ParseArgsConfig } from 'node:util';
import { DateTime } from 'luxon';
import { ConfigError } from '../config/load.js';
import { messageOf } from '../errorMessage.js';
import { normalizeSymbol } from '../protocol.js';
import { parseTimeFormat } from '../record/csvTime.js';
import { type ImportOptions, type ImportProgress, type ImportReport, importCsv } from '../record/importer.js';
import { type ImportLayout, LayoutError, PRESETS, parseColumnMap } from '../record/importLayouts.js';
import { indexFileOf } from '../record/recordingIndex.js';
import { parseCommandArgs } from './args.js';
import { formatDuration, type ProgressSample, startProgress } from './progress.js';

const PRESET_LINES = Object.values(PRESETS)
  .map((preset) => `  ${preset.name.padEnd(18)} ${preset.summary}`)
  .join('\n');

export const IMPORT_HELP = `tickstream import: turn tick CSV files into a recording that tickstream replay plays

Usage: tickstream import FILE... --out OUT.ndjson.gz (--preset NAME | --columns MAP) [options]

FILE may be gzipped (.csv.gz, told by its bytes). Several files become one recording, merged by time: rows
are sorted by receive time (in runs on disk when they do not fit in memory), given seq and the day
statistics (open, high, low, volume) as a live session has them, and written with the index (OUT.idx).

Presets (the vendors' published layouts):
${PRESET_LINES}

Options:
  --out FILE          the recording to write (.ndjson, or .ndjson.gz for gzip)
  --preset NAME       one of the presets above
  --columns MAP       a generic CSV: FIELD=COLUMN,... with fields symbol, time, recvTime, price, size, bid,
                      ask (and action for book data); columns by header name, or number from 1 with
                      --no-header. price, or bid and ask (the price is then their mid), is required; time
                      is the event time, recvTime the receive time the replay paces by (default: time)
  --time-format F     auto (default: epoch numbers by their size, ISO 8601, or "yyyy-MM-dd HH:mm:ss.SSS"
                      in --zone), iso, epoch-s, epoch-ms, epoch-us, epoch-ns, or a luxon format such as
                      "MM/dd/yyyy HH:mm:ss" (slower)
  --zone Z            zone of times without one, and of the trading day (default America/New_York)
  --delimiter C       field separator (default ,)
  --no-header         the first line is a row (columns are numbers)
  --symbol S          the symbol of every row, for a file without a symbol column
  --symbols A,B       keep only these symbols
  --tmp DIR           where sorted runs go (default the system's temporary folder)
  --chunk-rows N      rows sorted in memory at once (default 1000000, about 60 MB)
  --gzip-level N      zlib level of a .gz recording, 1 to 9 (default 1: fast; 6, the recorder's, is about
                      a quarter smaller and 4x slower to write)
  --progress          show progress on stderr even when it is not a terminal
  -h, --help          this help

Bad rows are counted and the first ${20} reported with their file and line number; the import goes on.
Exit status: 0 when the recording was written (bad rows or not), 2 on bad flags or an unreadable file.`;

function layoutOf(values: { preset?: string; columns?: string; 'time-format'?: string }): {
  layout: ImportLayout;
  source: string;
} {
  if (values.preset !== undefined && values.columns !== undefined) {
    throw new ConfigError('import: --preset and --columns: give one of them');
  }
  if (values.preset !== undefined) {
    const preset = PRESETS[values.preset];
    if (!preset)
      throw new ConfigError(`import: --preset ${values.preset}: expected one of ${Object.keys(PRESETS).join(', ')}`);
    const time = values['time-format'] === undefined ? preset.time : parseTimeFormat(values['time-format']);
    return { layout: { ...preset, time }, source: preset.name };
  }
  if (values.columns === undefined) throw new ConfigError('import: --preset NAME or --columns MAP is required');
  return {
    layout: {
      columns: parseColumnMap(values.columns),
      time: parseTimeFormat(values['time-format'] ?? 'auto'),
      prices: 'decimal',
    },
    source: 'csv',
  };
}

export function describeImport(report: ImportReport, zone: string, tookMs: number): string {
  const at = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('yyyy-LL-dd HH:mm:ss.SSS ZZZZ');
  const range =
    report.first !== undefined && report.last !== undefined ? `${at(report.first)} .. ${at(report.last)}` : 'none';
  const rate = tookMs > 0 ? Math.round((report.rows * 1000) / tookMs) : 0;
  const lines = [
    `tickstream: imported ${report.records} records of ${report.symbols.length} symbol${report.symbols.length === 1 ? '' : 's'} into ${report.files.join(', ')} (index ${report.files.map(indexFileOf).join(', ')})`,
    `  time range: ${range}`,
    `  rows read: ${report.rows} in ${formatDuration(tookMs)} (${rate} rows/s)${report.ordered ? '' : `, sorted by receive time${report.runs > 1 ? ` (in ${report.runs} runs on disk)` : ''}`}`,
  ];
  const symbols =
    report.symbols.length > 12 ? `${report.symbols.slice(0, 12).join(', ')}, ...` : report.symbols.join(', ');
  if (symbols) lines.push(`  symbols: ${symbols}`);
  if (report.filtered > 0) lines.push(`  left out by --symbols: ${report.filtered} rows`);
  for (const [reason, count] of Object.entries(report.skipped)) lines.push(`  skipped: ${count} rows (${reason})`);
  if (report.bad > 0) {
    lines.push(
      `  bad rows: ${report.bad}${report.bad > report.badRows.length ? ` (the first ${report.badRows.length}:)` : ':'}`,
    );
    for (const bad of report.badRows) lines.push(`    ${bad.file}: line ${bad.line}: ${bad.reason}`);
  }
  return lines.join('\n');
}

const IMPORT_FLAGS = {
  out: { type: 'string', short: 'o' },
  preset: { type: 'string' },
  columns: { type: 'string' },
  'time-format': { type: 'string' },
  zone: { type: 'string' },
  delimiter: { type: 'string' },
  'no-header': { type: 'boolean' },
  symbol: { type: 'string' },
  symbols: { type: 'string' },
  tmp: { type: 'string' },
  'chunk-rows': { type: 'string' },
  'gzip-level': { type: 'string' },
  progress: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type ImportFlagValues = ReturnType<typeof parseCommandArgs<typeof IMPORT_FLAGS>>['values'];

export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, IMPORT_FLAGS);
  if (values.help) {
    console.log(IMPORT_HELP);
    return 0;
  }
  const options = importOptions(values, positionals);
  let current: ImportProgress = { phase: 'reading', readBytes: 0, totalBytes: 0, rows: 0, written: 0 };
  const progress = startProgress(() => progressLine(current), {
    label: 'import',
    enabled: values.progress || undefined,
  });
  const started = Date.now();
  let report: ImportReport;
  try {
    report = await importCsv({
      ...options,
      onProgress: (next) => {
        current = next;
      },
    });
  } catch (err) {
    progress.stop();
    if (err instanceof LayoutError) throw new ConfigError(`import: ${err.message}`);
    console.error(`tickstream import: ${messageOf(err)}`);
    return 2;
  }
  progress.stop();
  console.log(describeImport(report, options.zone, Date.now() - started));
  return 0;
}

/** The import the flags ask for; a ConfigError names the first flag that is wrong. */
function importOptions(values: ImportFlagValues, files: string[]): ImportOptions {
  if (files.length === 0) throw new ConfigError('import: expected FILE (a CSV file), or several');
  if (!values.out) throw new ConfigError('import: --out FILE is required');
  const zone = values.zone ?? 'America/New_York';
  if (!DateTime.local().setZone(zone).isValid) throw new ConfigError(`import: --zone ${zone}: not a known time zone`);
  const delimiter = values.delimiter === '\\t' ? '\t' : (values.delimiter ?? ',');
  if (delimiter.length !== 1) throw new ConfigError(`import: --delimiter ${values.delimiter}: expected one character`);
  let layout: ReturnType<typeof layoutOf>;
  try {
    layout = layoutOf(values);
  } catch (err) {
    if (err instanceof LayoutError) throw new ConfigError(`import: ${err.message}`);
    throw err;
  }
  const symbols = values.symbols?.split(',').map(normalizeSymbol).filter(Boolean);
  const gzipLevel = values['gzip-level'] === undefined ? undefined : Number(values['gzip-level']);
  if (gzipLevel !== undefined && (!Number.isInteger(gzipLevel) || gzipLevel < 1 || gzipLevel > 9)) {
    throw new ConfigError(`import: --gzip-level ${values['gzip-level']}: expected 1 to 9`);
  }
  const chunkRows = values['chunk-rows'] === undefined ? undefined : Number(values['chunk-rows']);
  if (chunkRows !== undefined && (!Number.isInteger(chunkRows) || chunkRows < 1)) {
    throw new ConfigError(`import: --chunk-rows ${values['chunk-rows']}: expected a whole number of rows`);
  }
  return {
    files,
    out: values.out,
    layout: layout.layout,
    source: layout.source,
    header: !values['no-header'],
    delimiter,
    zone,
    ...(values.symbol !== undefined ? { symbol: values.symbol } : {}),
    ...(symbols ? { symbols: new Set(symbols) } : {}),
    ...(values.tmp !== undefined ? { tmpDir: values.tmp } : {}),
    ...(chunkRows !== undefined ? { chunkRows } : {}),
    ...(gzipLevel !== undefined ? { gzipLevel } : {}),
  };
}

/** The progress line: rows while reading (by bytes read), records while writing (by rows). */
function progressLine(current: ImportProgress): ProgressSample {
  if (current.phase === 'reading') {
    return {
      count: current.rows,
      done: current.totalBytes ? current.readBytes / current.totalBytes : undefined,
      note: `${(current.readBytes / 2 ** 20).toFixed(0)} MiB read`,
    };
  }
  return { count: current.written, done: current.rows ? current.written / current.rows : undefined, note: 'writing' };
}
