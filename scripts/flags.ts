/**
 * For scripts that take flags: `-h`/`--help` prints the script's help (exit 0), and an unknown or malformed flag
 * prints the error and the help (exit 2) instead of a stack trace.
 *
 *   const { values } = parseFlags('bench:pipeline', HELP, () => parseArgs({ options: { ..., help: HELP_FLAG } }));
 *   exitOnHelp(HELP, values);
 */
export const HELP_FLAG = { type: 'boolean', short: 'h' } as const;

export function parseFlags<T>(name: string, help: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    failFlags(name, help, (err as Error).message);
  }
}

export function exitOnHelp(help: string, values: { help?: boolean }): void {
  if (!values.help) return;
  console.log(help);
  process.exit(0);
}

/** Ends a script on a bad flag value: the message, then its help, exit 2. */
export function failFlags(name: string, help: string, message: string): never {
  console.error(`${name}: ${message}\n\n${help}`);
  process.exit(2);
}
