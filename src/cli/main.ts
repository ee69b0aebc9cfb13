import { ConfigError } from '../config/load.js';
import { gatewayCommand } from './gateway.js';
import { importCommand } from './import.js';
import { indexCommand } from './indexCommand.js';
import { ingestCommand } from './ingest.js';
import { recordCommand } from './record.js';
import { replayCommand } from './replay.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';
import { upstreamCommand } from './upstream.js';
import { verifyCommand } from './verify.js';
import { watchCommand } from './watch.js';

type Command = { summary: string; run: (argv: string[]) => Promise<number> };

/** Every subcommand; each lives in its own file and parses its own flags. */
const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run the service in one process (what `npm start` runs)', run: serveCommand },
  token: { summary: 'mint a JWT for a server with auth.jwtSecret', run: (argv) => tokenCommand(argv) },
  watch: { summary: 'live quotes in the terminal: a table, or NDJSON with --json', run: (argv) => watchCommand(argv) },
  ingest: { summary: 'run feeds and pipeline, publishing through Redis (cluster role)', run: ingestCommand },
  gateway: { summary: 'hold client connections, ticks from Redis (cluster role)', run: gatewayCommand },
  record: { summary: 'record the configured feeds to an NDJSON(.gz) file', run: recordCommand },
  replay: { summary: 'serve a recording over the normal service (what `npm run demo` runs)', run: replayCommand },
  verify: { summary: 'check a recording: valid records, first bad line', run: verifyCommand },
  import: { summary: 'turn tick CSV files (generic, Polygon/Massive, Databento) into a recording', run: importCommand },
  index: {
    summary: 'build the index of recordings (seeks, chart history); replay does it when missing',
    run: indexCommand,
  },
  upstream: { summary: 'a demo upstream (SSE and JSON, or a WebSocket vendor) to try feeds', run: upstreamCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `tickstream: live stock prices over Socket.IO

Usage: tickstream <command> [options]    (tickstream <command> --help for its options)

Commands:
${lines.join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`tickstream: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`tickstream: ${err.message}`);
      return 2;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`tickstream ${name}: ${err.message}\n(see tickstream ${name} --help)`);
      return 2;
    }
    throw err;
  }
}

export { COMMANDS };
