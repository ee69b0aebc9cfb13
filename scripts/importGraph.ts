/**
 * The import graph of our own TypeScript modules and its circles (scripts/depsCheck.ts). A few regular expressions
 * instead of a parser: typescript 7 has no JS API, and our imports are plain one-statement ES imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Each module (absolute path) and the modules it imports, in source order, each once. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

// Comments are dropped first (a doc comment may quote an import); strings are kept, so a `//` in one survives.
const COMMENT_OR_STRING = /('(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;
// `import x from`, `import type { A } from`, `import './side.js'`, `export * from`, `export type { A } from`.
const STATIC_IMPORT = /\b(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s*from\s*)?['"]([^'"\n]+)['"]/g;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** The relative specifiers a module's source imports or re-exports, type-only and dynamic ones included. */
export function relativeSpecifiers(source: string): string[] {
  const code = source.replace(COMMENT_OR_STRING, (_match, str: string | undefined) => str ?? '');
  const specifiers: string[] = [];
  for (const pattern of [STATIC_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) specifiers.push(specifier);
    }
  }
  return specifiers;
}

/** The module a relative specifier names, as NodeNext resolves our sources: `./x.js` is `./x.ts`, a folder its index. */
export function resolveSpecifier(
  fromFile: string,
  specifier: string,
  modules: ReadonlySet<string>,
): string | undefined {
  const target = resolve(dirname(fromFile), specifier);
  const base = target.replace(/\.(?:js|jsx|ts|tsx)$/, '');
  const candidates = [target, `${base}.ts`, `${base}.tsx`, join(target, 'index.ts'), join(base, 'index.ts')];
  return candidates.find((candidate) => modules.has(candidate));
}

/** Every .ts/.tsx file under the roots (declaration files aside), as absolute paths. */
export function listModules(roots: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(path);
      } else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(resolve(path));
    }
  };
  for (const root of roots) walk(root);
  return files.sort();
}

/** The graph over `modules`, with `read` giving each one's source; imports of files outside it are left out. */
export function buildImportGraph(
  modules: readonly string[],
  read: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): ImportGraph {
  const known = new Set(modules);
  const graph = new Map<string, string[]>();
  for (const file of modules) {
    const imports = new Set<string>();
    for (const specifier of relativeSpecifiers(read(file))) {
      const target = resolveSpecifier(file, specifier, known);
      if (target !== undefined) imports.add(target);
    }
    graph.set(file, [...imports]);
  }
  return graph;
}

/**
 * The graph's import circles, one per strongly connected component (Tarjan) of more than one module or of a
 * module importing itself, each as a path that starts and ends at the same module.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];

  const visit = (module: string): void => {
    index.set(module, index.size);
    lowLink.set(module, index.get(module)!);
    stack.push(module);
    onStack.add(module);
    for (const next of graph.get(module) ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(module, Math.min(lowLink.get(module)!, lowLink.get(next)!));
      } else if (onStack.has(next)) {
        lowLink.set(module, Math.min(lowLink.get(module)!, index.get(next)!));
      }
    }
    if (lowLink.get(module) !== index.get(module)) return;
    const component = new Set<string>();
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.add(member);
    } while (member !== module);
    const importsItself = graph.get(module)?.includes(module) ?? false;
    if (component.size > 1 || importsItself) cycles.push(circleThrough(module, component, graph));
  };

  for (const module of graph.keys()) if (!index.has(module)) visit(module);
  return cycles;
}

/** A shortest circle from `start` back to itself inside its component (breadth first), for the report. */
function circleThrough(start: string, component: ReadonlySet<string>, graph: ImportGraph): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const module = queue[i]!;
    for (const next of graph.get(module) ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = module; at !== start; at = cameFrom.get(at)!) path.unshift(at);
        path.unshift(start);
        return path;
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, module);
        queue.push(next);
      }
    }
  }
  return [start, start];
}
