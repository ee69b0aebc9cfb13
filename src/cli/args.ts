import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, loadConfig, parseScalar } from '../config/load.js';
import type { Config } from '../config/schema.js';

/** Flags every command that reads the configuration understands (`record`, which listens nowhere, has these). */
export const SETTINGS_FLAGS = {
  config: { type: 'string' },
  'log-level': { type: 'string' },
  set: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Flags every command that runs the service understands: the settings', and where to listen. */
export const CONFIG_FLAGS = {
  ...SETTINGS_FLAGS,
  port: { type: 'string' },
  host: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const CONFIG_FILE_HELP = `  --config FILE        a JSON file layered over config/default.json (also TICKSTREAM_CONFIG)`;
const LISTEN_HELP = `  --port N             the port to listen on: HTTP and Socket.IO (ingest: health and metrics only)
                       (default 3000; also TICKSTREAM_PORT)
  --host HOST          interface to listen on (default 0.0.0.0; also TICKSTREAM_HOST)`;
const OTHER_SETTINGS_HELP = `  --log-level LEVEL    fatal, error, warn, info, debug, trace or silent
  --set PATH=VALUE     any setting by its dotted path, e.g. --set pipeline.defaultHz=2 (repeatable)
  -h, --help           this help

Environment: TICKSTREAM_<PATH> with __ between levels, e.g. TICKSTREAM_LIMITS__MAX_SYMBOLS_PER_SOCKET=100.`;

/** The help of SETTINGS_FLAGS. */
export const SETTINGS_FLAGS_HELP = `${CONFIG_FILE_HELP}\n${OTHER_SETTINGS_HELP}`;

/** The help of CONFIG_FLAGS. */
export const CONFIG_FLAGS_HELP = `${CONFIG_FILE_HELP}\n${LISTEN_HELP}\n${OTHER_SETTINGS_HELP}`;

type ConfigFlagValues = {
  config?: string;
  port?: string;
  host?: string;
  'log-level'?: string;
  set?: string[];
};

/** Flags (highest), environment, --config file and config/default.json, validated. */
export function configFromFlags(values: ConfigFlagValues, env: NodeJS.ProcessEnv = process.env): Config {
  const overrides: Record<string, unknown> = {};
  if (values.port !== undefined) overrides['server.port'] = parseScalar(values.port);
  if (values.host !== undefined) overrides['server.host'] = values.host;
  if (values['log-level'] !== undefined) overrides['log.level'] = values['log-level'];
  for (const assignment of values.set ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${assignment}: expected PATH=VALUE`);
    overrides[assignment.slice(0, eq)] = parseScalar(assignment.slice(eq + 1));
  }
  return loadConfig({ file: values.config ?? env.TICKSTREAM_CONFIG, env, overrides });
}

export function parseCommandArgs<O extends ParseArgsConfig['options']>(argv: string[], options: O) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}
