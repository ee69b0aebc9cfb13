import { scanRecording, type VerifyReport } from '../record/reader.js';
import { parseCommandArgs } from './args.js';

export const VERIFY_HELP = `tickstream verify: check a recording, like kdb+'s log check (-11!-2)

Usage: tickstream verify FILE [--json]

Prints how many valid records the file holds and its first bad line (number and why).
Exit status: 0 when the file is clean or only its last line is torn (a crash mid-write: replay ignores it),
1 when a line in the middle is corrupt (replay refuses the file), 2 when it cannot be read.`;

export function describeReport(report: VerifyReport): string {
  const lines = [`${report.file}: ${report.records} valid records`];
  if (report.header) lines.push(`  header: version ${report.header.version}, created ${report.header.createdAt}`);
  else lines.push('  no header line');
  if (report.firstTime !== undefined && report.lastTime !== undefined) {
    lines.push(`  recorded ${new Date(report.firstTime).toISOString()} .. ${new Date(report.lastTime).toISOString()}`);
  }
  if (report.corrupt) lines.push(`  CORRUPT at line ${report.corrupt.line}: ${report.corrupt.reason}`);
  if (report.torn) lines.push(`  torn last line ${report.torn.line} (ignored): ${report.torn.reason}`);
  if (!report.corrupt && !report.torn) lines.push('  clean');
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
  try {
    report = await scanRecording(file);
  } catch (err) {
    console.error(`tickstream verify: cannot read ${file}: ${(err as Error).message}`);
    return 2;
  }
  console.log(values.json ? JSON.stringify(report) : describeReport(report));
  return report.corrupt ? 1 : 0;
}
