/**
 * The captured kernel files of tests/fixtures for the parser tests of tests/proc/: every tree
 * (x86 and ARM machines, synthetic trees) that holds a given file.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** One captured file: the tree it belongs to and its text. */
export interface CapturedFile {
  tree: string;
  text: string;
}

/**
 * Every `tests/fixtures/<tree>/<path>` that exists, by tree name in order (`path` without the
 * leading slash, e.g. `proc/meminfo`).
 */
export function capturedFiles(path: string): CapturedFile[] {
  const files: CapturedFile[] = [];
  const trees = [...Deno.readDirSync(FIXTURES)].filter((entry) => entry.isDirectory)
    .map((entry) => entry.name).sort();
  for (const tree of trees) {
    try {
      files.push({ tree, text: Deno.readTextFileSync(`${FIXTURES}${tree}/${path}`) });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return files;
}

/** The text of `tests/fixtures/<tree>/<path>`. */
export function capturedText(tree: string, path: string): string {
  return Deno.readTextFileSync(`${FIXTURES}${tree}/${path}`);
}
