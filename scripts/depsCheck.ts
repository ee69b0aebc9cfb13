/**
 * `npm run deps:check`: no import circles among our modules (src/, web/src, packages/client/src). Type-only,
 * re-exports and dynamic `import()` count too: a circle of types still ties the modules' order and meaning.
 * Prints each circle as a path and exits 1; otherwise a one-line summary, exit 0.
 */
import { relative } from 'node:path';
import { buildImportGraph, findCycles, listModules } from './importGraph.js';

const ROOTS = ['src', 'web/src', 'packages/client/src'];

const graph = buildImportGraph(listModules(ROOTS));
const imports = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
const cycles = findCycles(graph);
const shown = (module: string) => relative(process.cwd(), module);

if (cycles.length > 0) {
  console.error(`deps:check: ${cycles.length} import circle${cycles.length === 1 ? '' : 's'}:`);
  for (const cycle of cycles) console.error(`  ${cycle.map(shown).join(' -> ')}`);
  process.exit(1);
}
console.log(`${graph.size} modules, ${imports} imports, no import circles`);
