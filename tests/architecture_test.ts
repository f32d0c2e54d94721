/**
 * Arrows point one way: main → rpc | registry → methods → sampling → proc; perf/ is used by
 * methods/ and registry/, metrics/ reads through registry/, sampling/ and proc/. Every import
 * statement of the daemon's modules is read from the source, and the edges that point back are
 * listed.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
/** The daemon's code: these folders and the .ts files at the top (tests, bench, scripts apart). */
const FOLDERS = ["proc", "sampling", "methods", "registry", "perf", "rpc", "metrics", "checks"];
/** Top-level modules every layer may import: they import nothing of lepd. */
const LEAVES = ["log.ts", "failure.ts", "heap.ts", "libc.ts"];

/** One import (or re-export) of one module. */
interface Edge {
  /** The importing module, relative to the repository root (`proc/stat.ts`). */
  from: string;
  /** The imported module, relative to the repository root; a bare specifier as written. */
  to: string;
  /** `import type …`, `export type …`, or every name imported with `type`. */
  typeOnly: boolean;
}

const STATIC =
  /^(import|export)\s+(type\s+)?((?:[\w$*]+(?:\s+as\s+[\w$]+)?\s*,?\s*)?(?:\{[^}]*\})?)\s*from\s*"([^"]+)"/gm;
const SIDE_EFFECT = /^import\s+"([^"]+)"/gm;
const DYNAMIC = /\bimport\(\s*"([^"]+)"\s*\)/g;

/** The imports of one module's source text; `from` is its path relative to the root. */
export function importsOf(from: string, source: string): Edge[] {
  const resolve = (specifier: string) =>
    specifier.startsWith(".")
      ? new URL(specifier, new URL(from, ROOT)).href.slice(ROOT.href.length)
      : specifier;
  const edges: Edge[] = [];
  for (const [, , type, clause, specifier] of source.matchAll(STATIC)) {
    const names = /\{([^}]*)\}/.exec(clause!)?.[1]?.split(",").map((name) => name.trim())
      .filter((name) => name !== "") ?? [];
    const typeOnly = type !== undefined ||
      (!/^[\w$*]/.test(clause!.trim()) && names.length > 0 &&
        names.every((name) => name.startsWith("type ")));
    edges.push({ from, to: resolve(specifier!), typeOnly });
  }
  for (const [, specifier] of source.matchAll(SIDE_EFFECT)) {
    edges.push({ from, to: resolve(specifier!), typeOnly: false });
  }
  for (const [, specifier] of source.matchAll(DYNAMIC)) {
    edges.push({ from, to: resolve(specifier!), typeOnly: false });
  }
  return edges;
}

function daemonModules(): string[] {
  const modules: string[] = [];
  for (const entry of Deno.readDirSync(ROOT)) {
    if (entry.isFile && entry.name.endsWith(".ts")) modules.push(entry.name);
  }
  const walk = (directory: string) => {
    for (const entry of Deno.readDirSync(new URL(`${directory}/`, ROOT))) {
      const path = `${directory}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) modules.push(path);
    }
  };
  for (const folder of FOLDERS) walk(folder);
  return modules.sort();
}

/** The folder of a module (`proc`), or its file name at the top (`main.ts`). */
function layer(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

const EDGES = daemonModules().flatMap((path) =>
  importsOf(path, Deno.readTextFileSync(new URL(path, ROOT)))
);

/** The edges from `from` (a layer) that `allowed` refuses, as `a → b` lines. */
function violations(from: string, allowed: (edge: Edge) => boolean): string[] {
  return EDGES.filter((edge) => layer(edge.from) === from && edge.to.endsWith(".ts"))
    .filter((edge) => !allowed(edge))
    .map((edge) => `${edge.from} → ${edge.to}${edge.typeOnly ? " (type)" : ""}`);
}

Deno.test("architecture: the import reader finds every import statement", () => {
  for (const path of daemonModules()) {
    const source = Deno.readTextFileSync(new URL(path, ROOT));
    const statements = source.split("\n").filter((line) => /^import[\s{]/.test(line)).length;
    const found = EDGES.filter((edge) => edge.from === path).length;
    assert.ok(found >= statements, `${path}: ${statements} import statements, ${found} read`);
  }
  assert.deepEqual(importsOf("methods/x.ts", 'import type { A } from "../rpc/messages.ts";'), [
    { from: "methods/x.ts", to: "rpc/messages.ts", typeOnly: true },
  ]);
  assert.deepEqual(
    importsOf("a.ts", 'import {\n  type A,\n  b,\n} from "./b.ts";\nexport * from "./c.ts";'),
    [{ from: "a.ts", to: "b.ts", typeOnly: false }, { from: "a.ts", to: "c.ts", typeOnly: false }],
  );
  assert.deepEqual(importsOf("a.ts", 'import { type A, type B } from "./b.ts";'), [
    { from: "a.ts", to: "b.ts", typeOnly: true },
  ]);
});

/** The type-only import of the messages rpc/ exchanges with the main isolate. */
function messageTypes(edge: Edge): boolean {
  return edge.typeOnly && edge.to === "rpc/messages.ts";
}

/** An edge to `folders` or to a leaf. */
function into(...folders: string[]): (edge: Edge) => boolean {
  return (edge) => folders.includes(layer(edge.to)) || LEAVES.includes(edge.to);
}

Deno.test("architecture: proc/ imports only proc/ and the leaves", () => {
  assert.deepEqual(violations("proc", into("proc")), []);
});

Deno.test("architecture: sampling/ imports only sampling/, proc/ and the leaves (never methods/ or registry/)", () => {
  assert.deepEqual(violations("sampling", into("sampling", "proc")), []);
});

Deno.test("architecture: methods/ import methods/, sampling/, proc/, perf/ and the leaves, never registry/", () => {
  assert.deepEqual(violations("methods", into("methods", "sampling", "proc", "perf")), []);
});

Deno.test("architecture: perf/ imports perf/, proc/, the leaves and the Collector type of methods/", () => {
  const collectorType = (edge: Edge) => edge.typeOnly && edge.to === "methods/collector.ts";
  assert.deepEqual(
    violations("perf", (edge) => into("perf", "proc")(edge) || collectorType(edge)),
    [],
  );
});

Deno.test("architecture: registry/ imports what lies below it and no rpc/ (but message types)", () => {
  const below = into("registry", "methods", "sampling", "proc", "perf");
  assert.deepEqual(violations("registry", (edge) => below(edge) || messageTypes(edge)), []);
});

Deno.test("architecture: metrics/ reads through registry/, sampling/ and proc/, no rpc/ (but message types)", () => {
  const allowed = into("metrics", "registry", "sampling", "proc");
  assert.deepEqual(violations("metrics", (edge) => allowed(edge) || messageTypes(edge)), []);
});

Deno.test("architecture: rpc/ reaches no registry/, methods/, sampling/, proc/ or perf/, not even through another module", () => {
  const forbidden = (path: string) =>
    ["registry", "methods", "sampling", "proc", "perf"].includes(layer(path));
  assert.deepEqual(violations("rpc", (edge) => !forbidden(edge.to)), []);
  // What rpc/ reaches, transitively (metrics/exposition.ts, log.ts …), stays clear of them too.
  const reached = new Set<string>();
  const pending = EDGES.filter((edge) => layer(edge.from) === "rpc").map((edge) => edge.to);
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (reached.has(path) || !path.endsWith(".ts")) continue;
    reached.add(path);
    pending.push(...EDGES.filter((edge) => edge.from === path).map((edge) => edge.to));
  }
  assert.deepEqual([...reached].filter(forbidden), [], "modules rpc/ loads");
});

Deno.test("architecture: the daemon imports no node: module (Deno's Node layer costs ~8 MB of RSS)", () => {
  const node = EDGES.filter((edge) => edge.to.startsWith("node:") && !edge.typeOnly)
    .map((edge) => `${edge.from} → ${edge.to}`);
  assert.deepEqual(node, []);
  // The reader sees them: a module that imported one would be listed.
  assert.deepEqual(importsOf("a.ts", 'import { statfs } from "node:fs/promises";'), [
    { from: "a.ts", to: "node:fs/promises", typeOnly: false },
  ]);
});
