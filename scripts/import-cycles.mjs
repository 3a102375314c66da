#!/usr/bin/env node
// Finds import cycles among the TypeScript files under src/ (issue 10: no cycle through
// src/server/server.ts). Reads relative specifiers of `import ... from`, `import '...'`,
// `export ... from` and `import('...')`, type-only imports included: a cycle of types is
// still a cycle in the design, even if the runtime erases it. Groups files into strongly
// connected components (Tarjan) and prints each component of more than one file (or a file
// importing itself) as one cycle.
//
//   node scripts/import-cycles.mjs [--root src] [--under src/server] [--forbid FILE]... [--strict] [--json]
//
// --under     count only cycles with a file under this folder (default: all of --root)
// --forbid    exit 1 if any cycle contains this file (repeatable)
// --strict    exit 1 if there is any cycle at all
// Without --strict or --forbid it only reports (exit 0).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const repo = resolve(new URL('..', import.meta.url).pathname);
let root = 'src';
let under = null;
const forbid = [];
let strict = false;
let json = false;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const value = () => {
    const v = args[++i];
    if (v === undefined) fail(`${arg} needs a value`);
    return v;
  };
  if (arg === '--root') root = value();
  else if (arg === '--under') under = value();
  else if (arg === '--forbid') forbid.push(value());
  else if (arg === '--strict') strict = true;
  else if (arg === '--json') json = true;
  else fail(`unknown argument ${arg}`);
}

function fail(message) {
  console.error(`import-cycles: ${message}`);
  process.exit(2);
}

const rel = (abs) => relative(repo, abs).split('\\').join('/');

function listFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : listFiles(path);
    return /\.(ts|mts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

// Comments are blanked first so an example in a doc comment is not taken for an import.
const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
const SPECIFIERS = [
  /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function importsOf(file, known) {
  const text = stripComments(readFileSync(file, 'utf8'));
  const out = new Set();
  for (const pattern of SPECIFIERS) {
    for (const match of text.matchAll(pattern)) {
      const spec = match[1];
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const candidates = [target, `${target}.ts`, join(target, 'index.ts')];
      const hit = candidates.find((c) => known.has(c));
      if (hit) out.add(hit);
    }
  }
  return [...out];
}

const files = listFiles(resolve(repo, root));
const known = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, known)]));

// Tarjan's strongly connected components, iterative (no recursion limit on deep graphs).
function components() {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const result = [];
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const edges = graph.get(v);
      if (i < edges.length) {
        frame[1] += 1;
        const w = edges[i];
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === idx.get(v)) {
        const scc = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          scc.push(w);
        } while (w !== v);
        if (scc.length > 1 || graph.get(v).includes(v)) result.push(scc.map(rel).sort());
      }
    }
  }
  return result;
}

const scope = under ? rel(resolve(repo, under)) : rel(resolve(repo, root));
const cycles = components().filter((scc) => scc.some((f) => f === scope || f.startsWith(`${scope}/`)));
const forbidden = forbid.map((f) => rel(resolve(repo, f)));
const offending = cycles.filter((scc) => scc.some((f) => forbidden.includes(f)));

if (json) console.log(JSON.stringify({ scope, cycles, offending }, null, 2));
else {
  console.log(
    `import cycles under ${scope}: ${cycles.length} (${cycles.reduce((n, c) => n + c.length, 0)} files in them)`,
  );
  cycles.forEach((scc, i) => console.log(`  cycle ${i + 1} (${scc.length} files): ${scc.join(', ')}`));
  for (const f of forbidden) {
    const hit = offending.some((scc) => scc.includes(f));
    console.log(`  ${f}: ${hit ? 'IN A CYCLE' : 'in no cycle'}`);
  }
}
process.exit((strict && cycles.length > 0) || offending.length > 0 ? 1 : 0);
