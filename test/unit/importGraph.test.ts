import { describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles, relativeSpecifiers } from '../../scripts/importGraph.js';

/** A graph over in-memory sources: each key is a module's absolute path, each value its source. */
function graphOf(sources: Record<string, string>) {
  return buildImportGraph(Object.keys(sources), (file) => sources[file]!);
}

describe('the import circle finder (npm run deps:check)', () => {
  it('finds a circle and reports it as a path back to its start', () => {
    const graph = graphOf({
      '/p/a.ts': "import { b } from './b.js';",
      '/p/b.ts': "import { c } from './dir/c.js';",
      '/p/dir/c.ts': "export { a } from '../a.js';",
      '/p/d.ts': "import { a } from './a.js';",
    });
    expect(findCycles(graph)).toEqual([['/p/a.ts', '/p/b.ts', '/p/dir/c.ts', '/p/a.ts']]);
  });

  it('finds none in a graph without one (a diamond, a folder index, an outside import)', () => {
    const graph = graphOf({
      '/p/a.ts': "import { b } from './b.js';\nimport { c } from './c.js';\nimport { z } from 'rxjs';",
      '/p/b.ts': "import { d } from './lib/index.js';",
      '/p/c.ts': "import { d } from './lib';",
      '/p/lib/index.ts': "import data from '../data.json';",
    });
    expect(graph.get('/p/b.ts')).toEqual(['/p/lib/index.ts']);
    expect(graph.get('/p/c.ts')).toEqual(['/p/lib/index.ts']);
    expect(findCycles(graph)).toEqual([]);
  });

  it('counts a module importing itself', () => {
    const graph = graphOf({ '/p/a.ts': "import { a } from './a.js';", '/p/b.ts': "import './a.js';" });
    expect(findCycles(graph)).toEqual([['/p/a.ts', '/p/a.ts']]);
  });

  it('counts type-only imports, type re-exports and dynamic import() as edges', () => {
    const graph = graphOf({
      '/p/auth.ts': "import type { Access, Refusal } from './policy.js';",
      '/p/policy.ts': "import {\n  type AuthResult,\n  verify,\n} from './auth.js';",
    });
    expect(findCycles(graph)).toEqual([['/p/auth.ts', '/p/policy.ts', '/p/auth.ts']]);
    expect(
      relativeSpecifiers("export type { A } from './a.js';\nexport * from './b.js';\nawait import('./c.js');"),
    ).toEqual(['./a.js', './b.js', './c.js']);
  });

  it('ignores imports quoted in comments but keeps strings with // in them', () => {
    const source =
      "/** e.g. `import { x } from './x.js'` */\n// import './y.js';\nimport u from './u.js'; const s = 'http://h';";
    expect(relativeSpecifiers(source)).toEqual(['./u.js']);
  });
});
