/**
 * Folds `perf script` output into the "folded stacks" text that flame-graph tools read:
 * one line per distinct stack, frames root first separated by `;`, then a space and a count
 * (`swapper;start_kernel;rest_init;cpu_idle;default_idle 42`).
 *
 * The rules are those of stackcollapse-perf.pl (the FlameGraph tool's perf folder) with its
 * default options, so lepd's output can be fed to flamegraph.pl, speedscope or inferno as if
 * it came from that script:
 * - The first frame is the command name from the sample header, spaces turned into `_`.
 * - Frame lines are `<address> <symbol>[+0x<offset>] (<dso>)`, innermost first; the offset is
 *   dropped; symbols starting with `(` are skipped.
 * - An `[unknown]` symbol becomes the file name of its dso in brackets (`[libc.so.6]`,
 *   `[perf-1234.map]`), or `[unknown]` when the dso is unknown too.
 * - Names are tidied: `;` becomes `:`, everything from the first `(` is dropped (argument
 *   lists of C++ symbols) unless the name looks like a Go method (`pkg.(*T).M`) or the `(` opens
 *   `(anonymous namespace)`, and quotes are removed; Java names lose their leading `L`.
 * - Inlined frames joined by `->` become separate frames, all but the first marked `_[i]`.
 * - Lines are sorted by stack.
 *
 * Deliberate differences, each to keep a frame whole where the script garbles it:
 * - The count is the number of samples, not the sum of sample periods the current script
 *   uses; a fixed-frequency `cpu-clock` recording gives every sample the same period, so the
 *   proportions are the same and the numbers stay readable.
 * - The dso is the balanced parenthesised group at the end of the line, so a dso such as
 *   `memfd:x (deleted)` is read whole, and the ` (deleted)` suffix is dropped in `[dso]` frames.
 * - A `;` in a command name becomes `:` like in symbols, so it cannot split a frame.
 * - Whitespace-only lines end a sample like empty ones, and a sample header that follows a
 *   frame line directly starts a new sample instead of merging into the previous one.
 * - Lines starting with `#` are skipped (as by the script), which includes lepd's own note
 *   when `perf script` output was cut.
 *
 * @module
 */

/** Folded stacks: the `;`-joined stack (root first) mapped to its number of samples. */
export type FoldedStacks = Map<string, number>;

/** One frame line of `perf script` output. */
export interface FrameLine {
  address: string;
  /** `symbol+0xoffset` as printed, or `[unknown]`. */
  symbol: string;
  /** The dso in the trailing parentheses, e.g. `[kernel.kallsyms]` or a library path. */
  dso: string;
}

const HEADER = /^(\S.+?)\s+(\d+)\/*(\d+)?\s+/;
const OFFSET = /\+0x[\da-f]+$/;
const GO_METHOD = /\.\(.*\)\./;
const ARGUMENT_LIST = /\((?!anonymous namespace\)).*/;
const DELETED = / \(deleted\)$/;

/** The command name of a sample header line, or undefined when the line is not one. */
export function sampleCommand(line: string): string | undefined {
  return HEADER.exec(line)?.[1];
}

/**
 * Splits a frame line into address, symbol and dso; undefined when it is not a frame line.
 * The dso is the balanced parenthesised group that ends the line, preceded by a space.
 */
export function parseFrameLine(line: string): FrameLine | undefined {
  const trimmed = line.trim();
  const address = /^\w+/.exec(trimmed)?.[0];
  if (address === undefined || !trimmed.endsWith(")")) return undefined;
  let depth = 0;
  for (let index = trimmed.length - 1; index > address.length; index--) {
    const char = trimmed[index];
    if (char === ")") depth++;
    else if (char === "(" && --depth === 0) {
      if (trimmed[index - 1] !== " ") return undefined;
      const symbol = trimmed.slice(address.length, index).trim();
      if (symbol === "") return undefined;
      return { address, symbol, dso: trimmed.slice(index + 1, -1) };
    }
  }
  return undefined;
}

/** The flame-graph frames of one frame line (several when perf joined inlined ones with `->`). */
export function frameNames(frame: FrameLine, command: string): string[] {
  const symbol = frame.symbol.replace(OFFSET, "");
  if (symbol.startsWith("(")) return [];
  return symbol.split("->").map((part, index) => {
    let name = part;
    if (name === "[unknown]") {
      name = frame.dso === "[unknown]"
        ? "[unknown]"
        : `[${frame.dso.replace(DELETED, "").replace(/.*\//, "")}]`;
    }
    name = name.replaceAll(";", ":");
    if (!GO_METHOD.test(name)) name = name.replace(ARGUMENT_LIST, "");
    name = name.replace(/["']/g, "");
    if (command.startsWith("java") && name.includes("/")) name = name.replace(/^L/, "");
    if (index > 0 && !name.includes("_[i]")) name += "_[i]";
    return name;
  });
}

/**
 * Folds `perf script` text fed in pieces of any size (chunk boundaries may split lines), so
 * a recording can be folded while it streams from the child.
 */
export class StackFolder {
  readonly #stacks: FoldedStacks = new Map();
  #partialLine = "";
  #command: string | undefined;
  /** Frame groups of the open sample, innermost first. */
  #frames: string[][] = [];
  #samples = 0;

  /** Samples folded so far. */
  get samples(): number {
    return this.#samples;
  }

  /** Adds the next piece of text. */
  push(text: string): void {
    const lines = (this.#partialLine + text).split("\n");
    this.#partialLine = lines.pop() ?? "";
    for (const line of lines) this.#line(line);
  }

  /** Ends the input (a last sample without a blank line after it counts) and returns the stacks. */
  finish(): FoldedStacks {
    if (this.#partialLine !== "") this.#line(this.#partialLine);
    this.#partialLine = "";
    this.#endSample();
    return this.#stacks;
  }

  #line(line: string): void {
    if (line.startsWith("#")) return;
    if (line.trim() === "") {
      this.#endSample();
      return;
    }
    const command = sampleCommand(line);
    if (command !== undefined) {
      // A header without the blank line that should precede it still starts a new sample.
      this.#endSample();
      this.#command = command.replaceAll(" ", "_").replaceAll(";", ":");
      return;
    }
    if (this.#command === undefined) return;
    const frame = parseFrameLine(line);
    if (frame !== undefined) this.#frames.push(frameNames(frame, this.#command));
  }

  #endSample(): void {
    if (this.#command === undefined) return;
    const stack = [this.#command];
    for (let index = this.#frames.length - 1; index >= 0; index--) {
      stack.push(...this.#frames[index]!);
    }
    const key = stack.join(";");
    this.#stacks.set(key, (this.#stacks.get(key) ?? 0) + 1);
    this.#samples++;
    this.#command = undefined;
    this.#frames = [];
  }
}

/** Folds a whole `perf script` text. */
export function foldPerfScript(text: string): FoldedStacks {
  const folder = new StackFolder();
  folder.push(text);
  return folder.finish();
}

/** The folded text: `stack count` lines sorted by stack, each ending in `\n`; "" when empty. */
export function formatFolded(stacks: FoldedStacks): string {
  return [...stacks.keys()].sort().map((stack) => `${stack} ${stacks.get(stack)}\n`).join("");
}
