/**
 * `lepd --check [--require METHOD,…]`: what this machine lets lepd serve, without serving it.
 *
 * It builds the same registry the daemon builds from the same flags (`--root`, the perf bounds …)
 * and runs the same start-up probe (`Registry.probe()`), so each unavailable method comes with
 * the reason the daemon's start-up warning gives: a missing capability, a perf setting, a kernel
 * file. One line per method on stdout, in `ListAllMethod` order, then a summary line.
 *
 * Exit status: 0, or 1 when a method named with `--require` is unavailable; 2 for a usage error
 * (an unknown method name included).
 *
 * @module
 */

import { daemonRegistry } from "../registry/methods.ts";
import { Logger } from "../log.ts";
import type { Command } from "../flags.ts";

/** The check flags taken out of a command line. */
export interface CheckFlags {
  /** True when `--check` or `--require` was given. */
  check: boolean;
  /** Methods that must be available (`--require A,B --require C`). */
  require: string[];
  /** The other arguments, for the daemon's own flag parser. */
  rest: string[];
}

/**
 * Takes `--check`, `--require METHOD,…` and `--require=METHOD,…` (repeatable) out of `args`.
 * `--require` implies `--check`.
 *
 * @throws {Error} when `--require` has no value
 */
export function splitCheckFlags(args: readonly string[]): CheckFlags {
  const flags: CheckFlags = { check: false, require: [], rest: [] };
  const names = (list: string) => list.split(",").map((name) => name.trim()).filter(Boolean);
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === "--check") {
      flags.check = true;
    } else if (arg === "--require") {
      const value = args[index + 1];
      if (value === undefined || value.startsWith("--")) {
        throw new Error("Option '--require <value>' argument missing");
      }
      flags.require.push(...names(value));
      flags.check = true;
      index++;
    } else if (arg.startsWith("--require=")) {
      flags.require.push(...names(arg.slice("--require=".length)));
      flags.check = true;
    } else {
      flags.rest.push(arg);
    }
  }
  return flags;
}

/** The report: one line per method (name, then `available` or `unavailable: <reason>`). */
export function formatCheck(
  methods: readonly string[],
  unavailable: ReadonlyMap<string, string>,
  required: readonly string[] = [],
): string {
  const width = Math.max(0, ...methods.map((name) => name.length)) + 2;
  const lines = methods.map((name) => {
    const reason = unavailable.get(name);
    return name.padEnd(width) + (reason === undefined ? "available" : `unavailable: ${reason}`);
  });
  const missing = required.filter((name) => unavailable.has(name));
  lines.push(
    `${methods.length} methods: ${methods.length - unavailable.size} available, ` +
      `${unavailable.size} unavailable` +
      (required.length === 0
        ? ""
        : missing.length === 0
        ? `; required ${required.join(", ")}: available`
        : `; required but unavailable: ${missing.join(", ")}`),
  );
  return lines.join("\n") + "\n";
}

/**
 * Runs the check when `args` ask for it (`--check` or `--require`) and returns the exit status;
 * returns undefined when they do not. `parse` is the daemon's flag parser, given the other
 * arguments.
 */
export async function checkCommand(
  args: readonly string[],
  parse: (args: readonly string[]) => Command,
): Promise<number | undefined> {
  let flags: CheckFlags;
  let command: Command;
  try {
    flags = splitCheckFlags(args);
    if (!flags.check) return undefined;
    command = parse(flags.rest);
  } catch (error) {
    console.error(`lepd: ${(error as Error).message}\nRun "lepd --help" for the list of options.`);
    return 2;
  }
  if (command.kind !== "run") {
    console.error(`lepd: --check does not go with --${command.kind}`);
    return 2;
  }
  const { options } = command;
  const { registry } = daemonRegistry(options, new Logger("error", "check"));
  try {
    const methods = registry.names();
    const unknown = flags.require.filter((name) => !registry.has(name));
    if (unknown.length > 0) {
      console.error(
        `lepd: --require: no method named ${unknown.map((name) => `"${name}"`).join(", ")} ` +
          `(method names are case-sensitive; "lepd --check" lists them)`,
      );
      return 2;
    }
    const unavailable = await registry.probe();
    await Deno.stdout.write(
      new TextEncoder().encode(formatCheck(methods, unavailable, flags.require)),
    );
    return flags.require.some((name) => unavailable.has(name)) ? 1 : 0;
  } finally {
    await registry.close();
  }
}
