/**
 * The captured kernel files of tests/fixtures for the parser tests of tests/proc/ (every tree,
 * x86 and ARM machines and synthetic ones, that holds a given file), and the shared table of
 * texts that are not the file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../../failure.ts";
import { ProcParseError } from "../../proc/parse_error.ts";

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

/**
 * Registers one test per text that is not the kernel file: `parse` must throw the
 * `ProcParseError` of `path` with `problem` (`Cannot parse "<path>": <problem>`), which is also a
 * `MethodFailure`.
 *
 * @param parser the parser's name, for the test names
 * @param cases texts by case name (`empty`, `garbage`, `truncated before …`)
 */
export function testNotTheFile(
  parser: string,
  parse: (text: string) => unknown,
  expected: { path: string; problem: string; cases: Record<string, string> },
): void {
  for (const [name, text] of Object.entries(expected.cases)) {
    Deno.test(`${parser}: ${name} is a ProcParseError naming ${expected.path}`, () => {
      assert.throws(
        () => parse(text),
        (error) =>
          error instanceof ProcParseError && error instanceof MethodFailure &&
          error.path === expected.path && error.problem === expected.problem &&
          error.message === `Cannot parse "${expected.path}": ${expected.problem}`,
      );
    });
  }
}
