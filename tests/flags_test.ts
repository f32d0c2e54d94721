import assert from "node:assert/strict";
import {
  type Flag,
  FLAGS,
  flagSyntax,
  parseFlags,
  shownDefault,
  usage,
  UsageError,
} from "../flags.ts";

/** A UsageError whose message holds `part`. */
function usageError(part: string): (error: unknown) => boolean {
  return (error) => error instanceof UsageError && error.message.includes(part);
}

const TABLE = FLAGS as readonly Flag[];
const HELP_COLUMN = 35;

/** The lines of the help after `Options:`. */
function optionLines(): string[] {
  const lines = usage().split("\n");
  return lines.slice(lines.indexOf("Options:") + 1).filter((line) => line !== "");
}

Deno.test("--help lists every flag of the table, with its default", () => {
  const text = usage().replace(/\n {35}/g, " ");
  for (const entry of TABLE) {
    const line = text.split("\n").find((line) => line.startsWith(`  ${flagSyntax(entry)} `));
    assert.ok(line !== undefined, `--help lists ${flagSyntax(entry)}`);
    const shown = shownDefault(entry);
    if (shown !== undefined) {
      assert.ok(line.includes(`(default ${shown}`), `${line}: has "(default ${shown}"`);
    }
    if (entry.kind === "integer") {
      assert.ok(line.includes(` ${entry.min} to `), `${line}: has its bounds`);
    }
  }
});

Deno.test("--help is one aligned column: help texts start at column 36, lines end by 92", () => {
  for (const line of optionLines()) {
    assert.ok(line.length <= 92, `at most 92 characters: "${line}"`);
    if (line.startsWith("  --")) {
      const head = /^ {2}--\S+(?: \S+)?/.exec(line)![0];
      if (head.length === line.length) continue; // a long flag: its help starts on the next line
      assert.equal(head.length < HELP_COLUMN - 1, true, `"${head}" leaves room for its help`);
      assert.match(line.slice(head.length, HELP_COLUMN), /^ +$/, line);
      assert.match(line.slice(HELP_COLUMN), /^\S/, line);
    } else {
      assert.match(line, /^ {35}\S/, `a continuation line starts at column 36: "${line}"`);
    }
  }
});

/**
 * README rows of the daemon's flag tables ("Flags and bounds" and Prometheus'), the tables whose
 * header is `| Flag | Default | Meaning |`: the flags of each row and its default.
 */
function readmeFlagRows(): { flags: string[]; shown: string }[] {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const rows: { flags: string[]; shown: string }[] = [];
  let inFlagTable = false;
  for (const line of readme.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
    if (!line.startsWith("|")) {
      inFlagTable = false;
    } else if (cells.join("|") === "Flag|Default|Meaning") {
      inFlagTable = true;
    } else if (inFlagTable && cells[0]!.startsWith("`--")) {
      const flags = [...cells[0]!.matchAll(/`--([a-z0-9-]+)/g)].map((match) => match[1]!);
      rows.push({ flags, shown: cells[1]! });
    }
  }
  return rows;
}

Deno.test("README's flag tables name every flag of the table with its default, and no other", () => {
  const rows = readmeFlagRows();
  const documented = rows.flatMap((row) => row.flags);
  assert.deepEqual(
    [...documented].sort(),
    TABLE.map((entry) => entry.name).sort(),
    "README names exactly the flags of flags.ts, once each",
  );
  for (const row of rows) {
    if (row.flags.length !== 1) continue;
    const entry = TABLE.find((candidate) => candidate.name === row.flags[0])!;
    assert.equal(row.shown, shownDefault(entry) ?? "", `README's default of --${entry.name}`);
  }
});

Deno.test("every integer flag: its default when absent, its bounds enforced", () => {
  const defaults = parseFlags([]);
  assert.ok(defaults.kind === "run");
  assert.equal(defaults.options.server.port, 12307);
  assert.equal(defaults.options.server.idleTimeoutMs, 600_000);
  assert.equal(defaults.options.perf.maxOutputBytes, 8 * 1024 * 1024);
  for (const entry of TABLE.filter((candidate) => candidate.kind === "integer")) {
    const min = entry.min!;
    const max = entry.max ?? 16 * 1024 * 1024 - entry.below!.less; // below the default bound
    for (const accepted of [min, max]) {
      assert.equal(parseFlags([`--${entry.name}`, String(accepted)]).kind, "run", entry.name);
    }
    for (const refused of [min - 1, max + 1, "1.5", "x"]) {
      if (refused === -1) continue;
      assert.throws(
        () => parseFlags([`--${entry.name}`, String(refused)]),
        usageError(`for --${entry.name}: expected a whole number from ${min} to ${max}`),
      );
    }
  }
});

Deno.test("--perf-max-output-bytes is bounded by --max-response-bytes", () => {
  const small = parseFlags(["--max-response-bytes", "1048576"]);
  assert.ok(small.kind === "run");
  assert.equal(small.options.perf.maxOutputBytes, 1048576 - 4096, "the default is lowered");
  assert.throws(
    () => parseFlags(["--max-response-bytes", "1048576", "--perf-max-output-bytes", "1048576"]),
    usageError("from 65536 to 1044480"),
  );
});

Deno.test("parseFlags: the command line's spellings, and each mistake as a UsageError", () => {
  const run = (args: string[]) => {
    const command = parseFlags(args);
    assert.equal(command.kind, "run", args.join(" "));
    return command.kind === "run" ? command.options.server : undefined!;
  };
  assert.equal(run(["--port", "2000"]).port, 2000);
  assert.equal(run(["--port=2001"]).port, 2001, "--name=value");
  assert.equal(run(["--port", "2000", "--port=2002"]).port, 2002, "the last of a value wins");
  assert.deepEqual(
    run(["--allow-from", "10.0.0.0/8", "--allow-from=127.0.0.1,::1"]).allowFrom,
    ["10.0.0.0/8", "127.0.0.1", "::1"],
    "a list flag collects every occurrence, in both spellings",
  );
  assert.equal(run(["--port", "2003", "--"]).port, 2003, "a closing -- with nothing after it");
  assert.equal(parseFlags(["--version"]).kind, "version");
  for (
    const [args, part] of [
      [["--bogus"], "Unknown option '--bogus'"],
      [["--bogus=1"], "Unknown option '--bogus'"],
      [["-p", "1"], "Unknown option '-p'"],
      [["--port"], "Option '--port <value>' argument missing"],
      [["--port", "--log-level", "info"], 'a value that starts with "--" is written --port=VALUE'],
      [["--help=yes"], "Option '--help' does not take a value"],
      [["extra"], "Unexpected argument 'extra'"],
      [["--", "extra"], "Unexpected argument 'extra'"],
      [["--check"], "Unknown option '--check'"],
    ] as const
  ) {
    assert.throws(() => parseFlags([...args]), usageError(part), args.join(" "));
  }
});
