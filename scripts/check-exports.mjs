#!/usr/bin/env node
// Unused exports: every `export` in src/ that no module imports, as file:line.
//   node scripts/check-exports.mjs [-v] [--root DIR]
//   (-v also lists the import() calls it could not follow; --root checks another checkout, default: this one)
// Exits 1 when there is one, 0 otherwise.
//
// Why a script of our own: TypeScript 7 is the native compiler and has no JS API for ts-prune; knip 6
// (oxc-based) runs, but it takes the command loaders in src/cli/main.ts (`() => import('./commands/x.js')`)
// as using every export of a command module, and misses the computed dist/ imports of bench/.
// This script parses with oxc-parser (a real TS parser, no type checker) and counts as used:
//   - every name imported (`import { a }`, `import type { T }`, `import { type T }`, default imports) or
//     re-exported (`export { a } from`, `export *`, `export * as ns`) by any file of src/, test/, bench/,
//     scripts/, bin/ or vitest.config.ts. A re-export is followed: a barrel's `export { a } from './x.js'`
//     makes x.a used only when someone uses the barrel's `a`;
//   - names taken from a dynamic import: `const { a } = await import(...)`, `(await import(...)).a`;
//     a dynamic import whose namespace goes elsewhere (a loader returning it) uses every export, except
//     for a command module (below);
//   - `import('./x.js').T` in a type.
// Entry points (their exports are used from outside): src/cli/entry.ts, and `run` of every module under
// src/cli/commands/ (src/cli/main.ts loads them and calls `run`). Usage inside the declaring file does
// not count: such an export only needs its `export` keyword dropped. *.d.ts files are not checked.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from 'oxc-parser';

const rootArg = process.argv.indexOf('--root');
const root =
  rootArg > 0
    ? path.resolve(process.argv[rootArg + 1])
    : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONSUMERS = ['src', 'test', 'bench', 'scripts', 'bin', 'vitest.config.ts'];
const REPORTED = 'src/';
const ENTRY_ALL = new Set(['src/cli/entry.ts']);
const isCommand = (rel) => rel.startsWith('src/cli/commands/');
const verbose = process.argv.includes('-v');

const rel = (abs) => path.relative(root, abs).split(path.sep).join('/');

function* walk(p) {
  if (!existsSync(p)) return;
  if (statSync(p).isDirectory()) {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      yield* walk(path.join(p, e.name));
    }
  } else if (/\.(ts|mts|mjs|js)$/.test(p) && !p.endsWith('.d.ts')) {
    yield p;
  } else if (rel(p).startsWith('bin/') && !path.extname(p)) {
    yield p; // bin/coopctl: JavaScript without an extension
  }
}

/** A relative specifier as the TS nodenext resolver sees it: './x.js' may name './x.ts'. */
function resolve(fromFile, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base.replace(/\.ts$/, '.js')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** A string in a computed import() (`new URL('backup/index.js', dist).href`): relative, or a dist/ path of src/. */
function resolveComputed(fromFile, node) {
  const literals = [];
  (function collect(n) {
    if (!n || typeof n !== 'object') return;
    if (n.type === 'Literal' && typeof n.value === 'string') literals.push(n.value);
    for (const k in n) if (k !== 'parent' && typeof n[k] === 'object') collect(n[k]);
  })(node);
  for (const lit of literals) {
    const direct = resolve(fromFile, lit.startsWith('.') ? lit : `./${lit}`);
    if (direct) return direct;
    const fromDist = path.join(root, 'src', lit.replace(/^(\.\.?\/)*(dist\/)?/, '').replace(/\.js$/, '.ts'));
    if (existsSync(fromDist)) return fromDist;
  }
  return undefined;
}

const lineOf = (text, offset) => {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
};

function bindingNames(pattern, out = []) {
  if (!pattern) return out;
  if (pattern.type === 'Identifier') out.push(pattern);
  else if (pattern.type === 'ObjectPattern')
    for (const p of pattern.properties) bindingNames(p.value ?? p.argument, out);
  else if (pattern.type === 'ArrayPattern') for (const e of pattern.elements) bindingNames(e, out);
  else if (pattern.type === 'RestElement') bindingNames(pattern.argument, out);
  else if (pattern.type === 'AssignmentPattern') bindingNames(pattern.left, out);
  return out;
}

const KIND = {
  FunctionDeclaration: 'function',
  TSDeclareFunction: 'function',
  ClassDeclaration: 'class',
  TSInterfaceDeclaration: 'interface',
  TSTypeAliasDeclaration: 'type',
  TSEnumDeclaration: 'enum',
  TSModuleDeclaration: 'namespace',
  VariableDeclaration: 'const',
};

const nameOf = (n) => (n.type === 'Identifier' ? n.name : String(n.value));

/** Per module: local exports (name -> {line, kind}), named re-exports (name -> {from, name}), star re-exports. */
const modules = new Map();
/** Uses found while parsing: [file, name | '*']. */
const uses = [];
const notes = [];

for (const top of CONSUMERS) {
  for (const file of walk(path.join(root, top))) {
    const text = readFileSync(file, 'utf8');
    const lang = /\.(m?ts)$/.test(file) ? 'ts' : 'js';
    const parsed = parseSync(file, text, { lang, sourceType: 'module', preserveParens: false });
    if (parsed.errors.length > 0) {
      console.error(`${rel(file)}: cannot parse: ${parsed.errors[0].message}`);
      process.exitCode = 2;
      continue;
    }
    const mod = { text, local: new Map(), named: new Map(), stars: [], names: new Map() };
    modules.set(file, mod);
    const addLocal = (name, node, kind) => {
      if (!mod.local.has(name)) mod.local.set(name, { line: lineOf(text, node.start), kind });
    };

    for (const stmt of parsed.program.body) {
      if (stmt.type === 'ImportDeclaration') {
        const target = resolve(file, stmt.source.value);
        if (!target) continue;
        for (const s of stmt.specifiers) {
          if (s.type === 'ImportSpecifier') uses.push([target, nameOf(s.imported)]);
          else if (s.type === 'ImportDefaultSpecifier') uses.push([target, 'default']);
          else uses.push([target, '*']); // import * as ns
        }
      } else if (stmt.type === 'ExportNamedDeclaration') {
        if (stmt.source) {
          const target = resolve(file, stmt.source.value);
          for (const s of stmt.specifiers) {
            const exported = nameOf(s.exported);
            addLocal(exported, s.exported, 're-export');
            if (target) mod.named.set(exported, { from: target, name: nameOf(s.local) });
          }
        } else if (stmt.declaration) {
          const d = stmt.declaration;
          const kind = KIND[d.type] ?? 'export';
          if (d.type === 'VariableDeclaration') {
            for (const decl of d.declarations) for (const id of bindingNames(decl.id)) addLocal(id.name, id, d.kind);
          } else if (d.id) {
            addLocal(nameOf(d.id), d.id, kind);
          }
        } else {
          for (const s of stmt.specifiers) addLocal(nameOf(s.exported), s.exported, 'export');
        }
      } else if (stmt.type === 'ExportAllDeclaration') {
        const target = resolve(file, stmt.source.value);
        if (stmt.exported) {
          addLocal(nameOf(stmt.exported), stmt.exported, 'namespace re-export');
          if (target) mod.named.set(nameOf(stmt.exported), { from: target, name: '*' });
        } else if (target) {
          mod.stars.push(target);
        }
      } else if (stmt.type === 'ExportDefaultDeclaration') {
        addLocal('default', stmt, 'default');
      }
    }

    // import() expressions and import('x').T types, anywhere in the file.
    (function visit(node, parents) {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        for (const n of node) visit(n, parents);
        return;
      }
      if (node.type === 'Identifier') {
        mod.names.set(node.name, (mod.names.get(node.name) ?? 0) + 1);
      } else if (node.type === 'ImportExpression') {
        const target =
          node.source.type === 'Literal' && typeof node.source.value === 'string'
            ? resolve(file, node.source.value)
            : resolveComputed(file, node.source);
        if (!target) {
          const literal = node.source.type === 'Literal' && !String(node.source.value).startsWith('.');
          if (!literal)
            notes.push(`${rel(file)}:${lineOf(text, node.start)}: import() of a computed path not followed`);
        } else {
          let names = dynamicNames(node, parents);
          // A command module handed on as a whole is used through its `run` (the Loader type of src/cli/main.ts).
          if (names.includes('*') && isCommand(rel(target))) names = ['run'];
          for (const name of names) uses.push([target, name]);
        }
      } else if (node.type === 'TSImportType' && node.source?.type === 'Literal') {
        const target = resolve(file, String(node.source.value));
        let q = node.qualifier;
        while (q && q.type === 'TSQualifiedName') q = q.left;
        if (target) uses.push([target, q?.type === 'Identifier' ? q.name : '*']);
      }
      const next = [...parents, node];
      for (const k in node) {
        if (k === 'start' || k === 'end' || k === 'type') continue;
        const v = node[k];
        if (v && typeof v === 'object') visit(v, next);
      }
    })(parsed.program, []);
  }
}

/** Which exports an import() expression takes: destructured or member-accessed names, else all ('*'). */
function dynamicNames(node, parents) {
  let child = node;
  let i = parents.length - 1;
  const passThrough = new Set(['AwaitExpression', 'TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression']);
  while (i >= 0) {
    const p = parents[i];
    if (passThrough.has(p.type)) {
      child = p;
      i--;
    } else if (p.type === 'ConditionalExpression' && p.test !== child) {
      child = p;
      i--;
    } else if (p.type === 'LogicalExpression') {
      child = p;
      i--;
    } else {
      break;
    }
  }
  const p = parents[i];
  if (!p) return ['*'];
  if (p.type === 'ExpressionStatement') return []; // import for its side effects
  if (p.type === 'MemberExpression' && p.object === child && !p.computed && p.property.name !== 'then') {
    return [p.property.name];
  }
  const pattern =
    (p.type === 'VariableDeclarator' && p.init === child && p.id) ||
    (p.type === 'AssignmentExpression' && p.right === child && p.left);
  if (pattern && pattern.type === 'ObjectPattern') {
    if (pattern.properties.some((q) => q.type === 'RestElement' || q.computed)) return ['*'];
    return pattern.properties.map((q) => nameOf(q.key));
  }
  return ['*'];
}

// Follow uses through re-exports.
const used = new Map(); // file -> Set of names ('*' = all)
function use(file, name, seen = new Set()) {
  const key = `${file}\0${name}`;
  if (seen.has(key)) return;
  seen.add(key);
  const mod = modules.get(file);
  if (!mod) return;
  if (!used.has(file)) used.set(file, new Set());
  used.get(file).add(name);
  if (name === '*') {
    for (const [, r] of mod.named) use(r.from, r.name, seen);
    for (const s of mod.stars) use(s, '*', seen);
    return;
  }
  const r = mod.named.get(name);
  if (r) use(r.from, r.name, seen);
  else if (!mod.local.has(name)) for (const s of mod.stars) use(s, name, seen);
}
for (const [file, name] of uses) use(file, name);

const unused = [];
for (const [file, mod] of modules) {
  const r = rel(file);
  if (!r.startsWith(REPORTED) || ENTRY_ALL.has(r)) continue;
  const u = used.get(file) ?? new Set();
  if (u.has('*')) continue;
  for (const [name, { line, kind }] of mod.local) {
    if (u.has(name) || (isCommand(r) && name === 'run')) continue;
    // Named again in its own file (beyond its declaration): only the `export` keyword is unused.
    const local = kind !== 're-export' && (mod.names.get(name) ?? 0) > 1;
    unused.push({ file: r, line, name, kind, local });
  }
}
unused.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);

for (const u of unused) {
  const hint = u.kind === 're-export' ? 'drop the re-export' : u.local ? 'used in its file: drop `export`' : 'unused';
  console.log(`${u.file}:${u.line}: ${u.name} (${u.kind}) is exported but never imported; ${hint}`);
}
if (verbose) for (const n of notes) console.error(`note: ${n}`);
if (unused.length > 0) {
  const count = (f) => unused.filter(f).length;
  console.log(
    `${unused.length} unused export${unused.length === 1 ? '' : 's'} in ${REPORTED}: ` +
      `${count((u) => u.kind === 're-export')} re-exports, ${count((u) => u.local)} used only in their own file, ` +
      `${count((u) => u.kind !== 're-export' && !u.local)} not used at all`,
  );
  process.exitCode = 1;
}
