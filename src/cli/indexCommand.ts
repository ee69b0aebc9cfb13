import { statSync } from 'node:fs';
import { messageOf } from '../errorMessage.js';
import { buildIndex } from '../record/indexBuilder.js';
import { RecordingError } from '../record/reader.js';
import { indexFileOf, type RecordingIndex, writeIndex } from '../record/recordingIndex.js';
import { parseCommandArgs } from './args.js';
import { formatDuration, startProgress } from './progress.js';

export const INDEX_HELP = `tickstream index: build the index of recordings, for replay seeks and chart history

Usage: tickstream index FILE [FILE...] [--progress]

Writes FILE.idx beside each recording (format in docs/PROTOCOL.md, "Recording index"): a checkpoint each
recorded minute with where to start reading and each symbol's last quote and open bar, and each symbol's
1-minute bars. The recorder and \`tickstream import\` write it themselves, and \`tickstream replay\` builds a
missing or stale one; this command builds it ahead of time (a full day takes a while to read once).

Options:
  --progress     show progress on stderr even when it is not a terminal
  -h, --help     this help

Exit status: 0 when every file was indexed, 1 when one is corrupt (a bad line in the middle, named), 2 when
one cannot be read.`;

/** A seek reads past at most one gzip member: warn when they are large (a file compressed whole). */
const LARGE_MEMBER_BYTES = 16 * 2 ** 20;

export function describeIndex(file: string, index: RecordingIndex, tookMs: number): string {
  const { header } = index;
  const range =
    header.first !== undefined && header.last !== undefined
      ? `, ${new Date(header.first).toISOString()} .. ${new Date(header.last).toISOString()}`
      : '';
  const lines = [
    `${file}: ${header.records} records, ${header.symbols.length} symbols${range}`,
    `  ${indexFileOf(file)}: ${index.checkpoints.length} checkpoints, ${(index.serialize().length / 1024).toFixed(0)} KiB, built in ${formatDuration(tookMs)}`,
  ];
  if ((header.largestMemberBytes ?? 0) > LARGE_MEMBER_BYTES) {
    lines.push(
      `  note: a gzip member of ${((header.largestMemberBytes ?? 0) / 2 ** 20).toFixed(0)} MiB: a seek may decompress that much ` +
        '(recordings written by tickstream have small members)',
    );
  }
  return lines.join('\n');
}

export async function indexCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    progress: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(INDEX_HELP);
    return 0;
  }
  if (positionals.length === 0) {
    console.error('tickstream index: expected FILE (a recording), or several\n(see tickstream index --help)');
    return 2;
  }
  for (const file of positionals) {
    let size: number;
    try {
      size = statSync(file).size;
    } catch (err) {
      console.error(`tickstream index: cannot read ${file}: ${messageOf(err)}`);
      return 2;
    }
    let read = 0;
    let records = 0;
    const progress = startProgress(
      () => ({ count: records, done: size ? read / size : undefined, note: `${(read / 2 ** 20).toFixed(0)} MiB read` }),
      { label: `indexing ${file}`, enabled: values.progress || undefined },
    );
    const started = Date.now();
    try {
      const index = await buildIndex(file, {
        onProgress: (bytes, count) => {
          read = bytes;
          records = count;
        },
      });
      progress.stop();
      writeIndex(file, index);
      console.log(describeIndex(file, index, Date.now() - started));
    } catch (err) {
      progress.stop();
      if (err instanceof RecordingError) {
        console.error(`tickstream index: ${err.message} (see tickstream verify ${file})`);
        return 1;
      }
      console.error(`tickstream index: cannot index ${file}: ${messageOf(err)}`);
      return 2;
    }
  }
  return 0;
}
