#!/usr/bin/env -S node --max-semi-space-size=64
// The CLI runs the TypeScript sources directly through tsx: no build step between a clone and `npm start`.
// The V8 flag on the first line: see src/cli/nodeFlags.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
