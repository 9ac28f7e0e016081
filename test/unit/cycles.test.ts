import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importEdges } from '../helpers/imports.js';
import { repoRoot, tsFiles, repoPath } from '../helpers/sourceFiles.js';

type Graph = ReadonlyMap<string, readonly string[]>;

/** The strongly connected components of more than one module (Tarjan): each is an import circle. */
function circles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** One loop through a circle, from its first module back to it (breadth-first: a shortest one). */
function loopThrough(graph: Graph, circle: readonly string[]): string[] {
  const [start] = circle;
  const inside = new Set(circle);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0])!);
        return [...path, start];
      }
      if (inside.has(w) && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return circle.slice();
}

function report(graph: Graph, found: string[][]): string {
  const lines = found.map((c) => `${c.length} modules: ${c.join(', ')}\n    e.g. ${loopThrough(graph, c).join(' → ')}`);
  return `${found.length} import circle${found.length === 1 ? '' : 's'} (import type counts):\n  ${lines.join('\n  ')}\n`;
}

const src = path.join(repoRoot, 'src');

/** src/'s modules and what each imports of src/ (`./x.js` names `./x.ts`). */
function srcGraph(): Graph {
  const graph = new Map<string, string[]>(tsFiles(src).map((f) => [repoPath(f), []]));
  for (const e of importEdges(src)) {
    const target = e.target.replace(/\.js$/, '.ts');
    if (graph.has(target)) graph.get(e.file)!.push(target);
  }
  return graph;
}

describe('import circles in src/', () => {
  it('finds each circle of a sample graph, with a loop through it', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', ['e']],
      ['e', ['d']],
      ['f', ['a']],
    ]);
    const found = circles(graph);
    expect(found.sort()).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    expect(loopThrough(graph, ['a', 'b', 'c'])).toEqual(['a', 'b', 'c', 'a']);
    expect(report(graph, [['d', 'e']])).toContain('2 modules: d, e\n    e.g. d → e → d');
  });

  it('reads every module of src/ and its imports', () => {
    const graph = srcGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect([...graph.values()].flat().length).toBeGreaterThan(100);
  });

  it('no module of src/ imports, directly or through others, itself', () => {
    const graph = srcGraph();
    const found = circles(graph);
    expect(found.length, report(graph, found)).toBe(0);
  });
});
