// The package's `prepack` (npm pack, npm publish; the repository's `prepare` runs it at npm ci and install): build
// the package, unless its build tools are not installed, as in `npm ci --omit=dev` for the server, which runs
// from sources and does not need the build. Not the package's own `prepare`: npm lists that as an install
// script to whoever installs the packed package, which needs no build.
import { spawnSync } from 'node:child_process';

try {
  import.meta.resolve('tsdown');
} catch {
  console.log('@tickstream/client: tsdown is not installed (dev dependencies omitted), so the build is skipped');
  process.exit(0);
}
// npm puts the packages' bin folders on PATH for its scripts.
const build = spawnSync('tsdown', { stdio: 'inherit' });
if (build.error) console.error(`@tickstream/client: the build did not start: ${build.error.message}`);
process.exit(build.status ?? 1);
