import { messageOf } from '../errorMessage.js';
import { scanRecording, type VerifyReport } from '../record/reader.js';
import { type IndexLookup, indexFileOf, readIndex } from '../record/recordingIndex.js';
import { parseCommandArgs } from './args.js';

export const VERIFY_HELP = `tickstream verify: check a recording, like kdb+'s log check (-11!-2)

Usage: tickstream verify FILE [--json]

Prints how many valid records the file holds, its first bad line (number and why), and whether its index
(FILE.idx, for replay seeks) is current.
Exit status: 0 when the file is clean or only its last line is torn (a crash mid-write: replay ignores it),
1 when a line in the middle is corrupt or the file holds no record (replay refuses either), 2 when it cannot
be read.`;

export function describeIndexLookup(file: string, lookup: IndexLookup): string {
  const name = indexFileOf(file);
  switch (lookup.kind) {
    case 'current':
      return `  index: ${name}, current (${lookup.index.checkpoints.length} checkpoints)`;
    case 'stale':
      return `  index: ${name} is stale (${lookup.reason}): replay rebuilds it, or tickstream index ${file}`;
    case 'missing':
      return `  index: none yet: replay builds it, or tickstream index ${file}`;
  }
}

export function describeReport(report: VerifyReport): string {
  const lines = [`${report.file}: ${report.records} valid records`];
  if (report.header) lines.push(`  header: version ${report.header.version}, created ${report.header.createdAt}`);
  else lines.push('  no header line');
  if (report.firstTime !== undefined && report.lastTime !== undefined) {
    lines.push(`  recorded ${new Date(report.firstTime).toISOString()} .. ${new Date(report.lastTime).toISOString()}`);
  }
  if (report.corrupt) lines.push(`  CORRUPT at line ${report.corrupt.line}: ${report.corrupt.reason}`);
  if (report.torn) lines.push(`  torn last line ${report.torn.line} (ignored): ${report.torn.reason}`);
  if (report.records === 0 && !report.corrupt) lines.push('  no records: nothing to replay');
  else if (!report.corrupt && !report.torn) lines.push('  clean');
  return lines.join('\n');
}

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(VERIFY_HELP);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    console.error('tickstream verify: expected one FILE\n(see tickstream verify --help)');
    return 2;
  }
  let report: VerifyReport;
  let index: IndexLookup;
  try {
    const { scan: _scan, ...scanned } = await scanRecording(file);
    report = scanned;
    index = await readIndex(file);
  } catch (err) {
    console.error(`tickstream verify: cannot read ${file}: ${messageOf(err)}`);
    return 2;
  }
  const indexStatus = index.kind === 'stale' ? { kind: 'stale', reason: index.reason } : { kind: index.kind };
  console.log(
    values.json
      ? JSON.stringify({ ...report, index: indexStatus })
      : `${describeReport(report)}\n${describeIndexLookup(file, index)}`,
  );
  return report.corrupt || report.records === 0 ? 1 : 0;
}
