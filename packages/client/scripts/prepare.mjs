// `prepare` (npm ci, npm pack, an install from git): build the package, unless its build tools are not
// installed, as in `npm ci --omit=dev` for the server, which runs from sources and does not need the build.
import { spawnSync } from 'node:child_process';

try {
  import.meta.resolve('tsdown');
} catch {
  console.log('@tickstream/client: tsdown is not installed (dev dependencies omitted), so the build is skipped');
  process.exit(0);
}
// npm puts the packages' bin folders on PATH for its scripts.
const build = spawnSync('tsdown', { stdio: 'inherit' });
process.exit(build.status ?? 1);
