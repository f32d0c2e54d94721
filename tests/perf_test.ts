/**
 * Tests of the perf-backed methods: the stack folder against `perf script` outputs captured on
 * a real machine (expected folds made by a transcription of stackcollapse-perf.pl), the rules
 * LEPV parses perf texts with (docs/protocol.md 4.14, 4.15), output caps, the recording queue, the
 * fixed argument templates, error paths with a fake perf, and live runs of the real perf.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MethodFailure } from "../failure.ts";
import {
  foldPerfScript,
  formatFolded,
  frameNames,
  parseFrameLine,
  sampleCommand,
  StackFolder,
} from "../perf/fold.ts";
import {
  createPerfCollectors,
  parsePerfVersion,
  parseRecordedSamples,
  PERF_DEFAULTS,
  PERF_DIRECTORIES,
  perfErrorLine,
  type PerfOptions,
  perfRecordArgs,
  perfReportArgs,
  perfScriptArgs,
  resolvePerf,
} from "../perf/service.ts";
import { RecordingQueue } from "../perf/queue.ts";
import { CappedOutput, runChild } from "../perf/runner.ts";
import { ProcFs } from "../proc/fs.ts";
import type { CollectorContext } from "../methods/collector.ts";
import { Registry } from "../registry/registry.ts";
import { Logger } from "../log.ts";
import type { ServerConfig } from "../rpc/messages.ts";
import { startNetworkWorker } from "../rpc/worker_host.ts";
import { Client, freePort, legacyText } from "./helpers/daemon.ts";
import { testServerConfig } from "./helpers/server_config.ts";
import { skipUnless } from "./helpers/skip.ts";

const FIXTURES = new URL("./fixtures/perf/", import.meta.url);
const encoder = new TextEncoder();

function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, FIXTURES));
}

const context: CollectorContext = {
  fs: new ProcFs({ maxFileBytes: 1 << 20 }),
  methods: [],
};

// ---------------------------------------------------------------------------------------------
// What LEPV makes of the texts (docs/protocol.md 4.14, 4.15), rewritten from their description.

interface LepvPerfRow {
  overhead: string;
  command: string;
  sharedObject: string;
  symbol: string;
}

/** get_perf_cpu_clock: skip to `# Overhead` and two more lines, then rows of >= 5 tokens. */
function lepvPerfRows(result: string): LepvPerfRow[] {
  const lines = result.trim().split(/\\n|\n/);
  const header = lines.findIndex((line) => line.startsWith("# Overhead"));
  if (header < 0) throw new Error("LEPV found no line starting with '# Overhead'");
  const rows: LepvPerfRow[] = [];
  for (const line of lines.slice(header + 3)) {
    if (line.trim() === "") continue;
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 5 || !tokens[0]!.includes("%")) continue;
    rows.push({
      overhead: tokens[0]!,
      command: tokens[1]!,
      sharedObject: tokens[2]!,
      symbol: tokens.slice(3).join(" "),
    });
    if (rows.length === 25) break;
  }
  return rows;
}

interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

/**
 * get_cmd_perf_flame: a line in column 0 starts a sample named by its first token, an indented
 * line adds a frame (token 1, or token 2 when token 1 is `[unknown]`); stacks are reversed into
 * a tree. Returns the tree and the samples (name + frames, innermost first).
 */
function lepvFlame(result: string): { root: FlameNode; samples: string[][] } {
  const samples: string[][] = [];
  for (const line of result.trim().split(/\\n|\n/)) {
    if (line.trim() === "") continue;
    const tokens = line.trim().split(/\s+/);
    if (!/^\s/.test(line)) {
      samples.push([tokens[0]!]);
      continue;
    }
    const sample = samples.at(-1);
    if (sample === undefined) throw new Error("LEPV got a frame before any sample");
    const frame = tokens[1] === "[unknown]" ? tokens[2] : tokens[1];
    if (frame === undefined) throw new Error(`LEPV cannot read frame line ${line}`);
    sample.push(frame);
  }
  const root: FlameNode = { name: "root", value: 0, children: [] };
  for (const [name, ...frames] of samples) {
    let node = root;
    node.value++;
    for (const frame of [name!, ...frames.reverse()]) {
      let child = node.children.find((candidate) => candidate.name === frame);
      if (child === undefined) {
        child = { name: frame, value: 0, children: [] };
        node.children.push(child);
      }
      child.value++;
      node = child;
    }
  }
  return { root, samples };
}

/** Sample header lines of `perf script` text (lepd's own `#` notes are not samples). */
function sampleHeaders(script: string): string[] {
  return script.split("\n").filter((line) => /^\S/.test(line) && !line.startsWith("#"));
}

function foldedTotal(folded: string): number {
  return folded.split("\n").filter((line) => line !== "" && !line.startsWith("#"))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

// ---------------------------------------------------------------------------------------------
// Folding

Deno.test("captured perf script outputs fold as stackcollapse-perf.pl folds them", () => {
  for (const name of ["script-kernel", "script-user"]) {
    const script = fixture(`${name}.txt`);
    const folded = formatFolded(foldPerfScript(script));
    assert.equal(folded, fixture(`${name}.folded`), name);
    const headers = sampleHeaders(script);
    assert.ok(headers.length > 50, `${name} has samples`);
    assert.equal(foldedTotal(folded), headers.length, `${name}: every sample counted once`);
    const commands = new Set(headers.map((line) => sampleCommand(line)!.replaceAll(" ", "_")));
    for (const line of folded.trimEnd().split("\n")) {
      assert.ok(commands.has(line.split(";")[0]!), `root frame of ${line} is a command`);
    }
  }
  // Kernel-only stacks: every frame is a kernel symbol, none unknown.
  const kernel = formatFolded(foldPerfScript(fixture("script-kernel.txt")));
  assert.doesNotMatch(kernel, /\[unknown\]|\+0x/);
  assert.match(kernel, /^swapper;.*;pv_native_safe_halt \d+$/m);
  // User stacks: unknown symbols named after their dso, a command name with a space.
  const user = formatFolded(foldPerfScript(fixture("script-user.txt")));
  assert.match(user, /;\[deno\];/);
  assert.match(user, /;\[perf-\d+\.map\]/);
  assert.match(user, /^busy_worker;\[unknown\];/m);
  // An empty recording: no output at all.
  assert.equal(fixture("script-empty.txt"), "");
  assert.equal(formatFolded(foldPerfScript(fixture("script-empty.txt"))), "");
});

Deno.test("folding is the same whatever the chunk boundaries of the stream", () => {
  const script = fixture("script-user.txt");
  const whole = formatFolded(foldPerfScript(script));
  for (const size of [1, 7, 100, 4096, 65536]) {
    const folder = new StackFolder();
    for (let offset = 0; offset < script.length; offset += size) {
      folder.push(script.slice(offset, offset + size));
    }
    assert.equal(formatFolded(folder.finish()), whole, `chunks of ${size}`);
    assert.equal(folder.samples, sampleHeaders(script).length);
  }
});

Deno.test("frame lines: dso, offsets, unknown symbols and tidied names", () => {
  const cases: [string, string, string[] | undefined][] = [
    [
      "kernel symbol with offset",
      "\tffffffff821f4dab pv_native_safe_halt+0xb ([kernel.kallsyms])",
      ["pv_native_safe_halt"],
    ],
    [
      "unknown symbol named after the file of its dso",
      "\t         1f6f6c7 [unknown] (/opt/deno/bin/deno)",
      ["[deno]"],
    ],
    ["unknown symbol and dso", "\t    5618b39f8fe8 [unknown] ([unknown])", ["[unknown]"]],
    [
      "a deleted dso is read whole and its suffix dropped",
      "\t    7f00c3035 [unknown] (memfd:sealed-91173221a7ea (deleted))",
      ["[memfd:sealed-91173221a7ea]"],
    ],
    [
      "C++ argument list dropped",
      "\t  4006f0 std::vector<int>::push_back(int const&)+0x20 (/usr/bin/app)",
      ["std::vector<int>::push_back"],
    ],
    [
      "a symbol starting with ( is skipped, as the script does",
      "\t  4006f0 (anonymous namespace)::worker(int)+0x1 (/usr/bin/app)",
      [],
    ],
    [
      "anonymous namespace inside a name kept",
      "\t  4006f0 ns::(anonymous namespace)::worker(int)+0x1 (/usr/bin/app)",
      ["ns::(anonymous namespace)::worker"],
    ],
    [
      "Go method keeps its parentheses",
      "\t  4006f0 net/http.(*Client).Do+0x1f (/usr/bin/server)",
      ["net/http.(*Client).Do"],
    ],
    [
      "quotes removed and ; turned into :",
      "\t  13a80b608e0a RegExp:[&<>\"';] (/tmp/perf-7539.map)",
      ["RegExp:[&<>:]"],
    ],
    [
      "inlined frames split, marked _[i]",
      "\t  4006f0 outer->inner+0x4 (/usr/bin/app)",
      ["outer", "inner_[i]"],
    ],
    ["not a frame line: no dso", "\t  4006f0 main+0x4", undefined],
    ["not a frame line: no space before the dso", "\t  4006f0 main+0x4(/usr/bin/app)", undefined],
    ["not a frame line: nothing but an address", "\t  4006f0 (/usr/bin/app)", undefined],
  ];
  for (const [label, line, expected] of cases) {
    const frame = parseFrameLine(line);
    if (expected === undefined) {
      assert.equal(frame, undefined, label);
      continue;
    }
    assert.ok(frame !== undefined, label);
    assert.deepEqual(frameNames(frame, "app"), expected, label);
  }
  const java = parseFrameLine("\t7f722d142778 Ljava/io/PrintStream;::print (/tmp/perf-19982.map)");
  assert.deepEqual(frameNames(java!, "java"), ["java/io/PrintStream:::print"]);
  assert.deepEqual(frameNames(java!, "app"), ["Ljava/io/PrintStream:::print"]);
  assert.deepEqual(parseFrameLine("\tffffffff81000e06 x+0x16 ([kernel.kallsyms])"), {
    address: "ffffffff81000e06",
    symbol: "x+0x16",
    dso: "[kernel.kallsyms]",
  });
});

Deno.test("sample headers, comments, blank lines and samples without frames", () => {
  const script = [
    "# ========",
    "# captured on: a header perf script --header would print",
    "V8 WorkerThread 25607 [001] 4794564.109216:   10101010 cpu-clock:pppH: ",
    "\t  2 leaf+0x1 (/usr/bin/app)",
    "\t  1 root+0x2 (/usr/bin/app)",
    "",
    "java 24636/25607 [000] 4794564.109216: 1 cycles:",
    "\t  3 Lorg/Foo;.bar(I)V+0x1 (/tmp/perf-1.map)",
    " \t ",
    "a;b 12 [000] 1.0: 1 cpu-clock:",
    "",
    "swapper     0 [000]  1843.217297:   10101010 cpu-clock:pppH: ",
    "\tffffffff821f4dab idle+0xb ([kernel.kallsyms])",
    "swapper     0 [001]  1843.217298:   10101010 cpu-clock:pppH: ",
    "\tffffffff821f4dab idle+0xb ([kernel.kallsyms])",
    "# lepd: output cut at a sample boundary after 1 of 2 bytes",
  ].join("\n");
  assert.equal(
    formatFolded(foldPerfScript(script)),
    [
      "V8_WorkerThread;root;leaf 1",
      "a:b 1",
      "java;org/Foo:.bar 1",
      "swapper;idle 2",
      "",
    ].join("\n"),
  );
  assert.equal(sampleCommand("\tffffffff821f4dab idle+0xb ([kernel.kallsyms])"), undefined);
  assert.equal(
    sampleCommand("kworker/0:1-events 123 [000] 1.0: 1 cpu-clock:"),
    "kworker/0:1-events",
  );
});

// ---------------------------------------------------------------------------------------------
// What the real client parses

Deno.test("LEPV's report rules (4.14) read the captured perf 6.1 reports", () => {
  for (
    const [name, event] of [["report-cpuclock.txt", "cpu-clock"], ["report-faults.txt", "faults"]]
  ) {
    const report = fixture(name!);
    assert.match(report, new RegExp(`^# Samples: .* of event '${event}'$`, "m"));
    assert.doesNotMatch(report, /Children/, "no Children column");
    const rows = lepvPerfRows(report);
    assert.ok(rows.length > 0, name);
    assert.ok(rows.length <= 25);
    for (const row of rows) {
      assert.match(row.overhead, /^\d+\.\d\d%$/);
      // A dso name with a space ("memfd:x (deleted)") shifts LEPV's columns: a client limit.
      assert.match(row.symbol, /\[[.k]\] /, `${name}: symbol column of ${JSON.stringify(row)}`);
    }
  }
  assert.deepEqual(lepvPerfRows(fixture("report-cpuclock.txt"))[0], {
    overhead: "96.05%",
    command: "swapper",
    sharedObject: "[kernel.kallsyms]",
    symbol: "[k] pv_native_safe_halt",
  });
});

Deno.test("LEPV's flame rules (4.15) read the captured scripts, one sample per header", () => {
  for (const name of ["script-kernel.txt", "script-user.txt"]) {
    const script = fixture(name);
    const { root, samples } = lepvFlame(script);
    assert.equal(samples.length, sampleHeaders(script).length, name);
    assert.equal(root.value, samples.length);
    assert.ok(samples.every((sample) => sample.length > 1), `${name}: every sample has frames`);
  }
  const { samples } = lepvFlame(fixture("script-user.txt"));
  assert.ok(samples.some((sample) => sample.includes("(/tmp/perf-27922.map)")), "dso of unknowns");
  assert.deepEqual(lepvFlame(fixture("script-empty.txt")).samples, []);
});

// ---------------------------------------------------------------------------------------------
// Output caps, the queue, the templates

Deno.test("CappedOutput keeps everything up to the cap and cuts at a boundary beyond it", () => {
  const capped = (maxBytes: number, chunks: string[], boundary: "line" | "blank-line") => {
    const output = new CappedOutput(maxBytes);
    for (const chunk of chunks) output.push(encoder.encode(chunk));
    return output.finish(boundary);
  };
  assert.deepEqual(capped(100, ["a\n", "b\n\n"], "blank-line"), {
    text: "a\nb\n\n",
    cut: false,
    keptBytes: 5,
    totalBytes: 5,
  });
  assert.deepEqual(capped(5, ["a\nb\n", "\n"], "blank-line"), {
    text: "a\nb\n\n",
    cut: false,
    keptBytes: 5,
    totalBytes: 5,
  });
  assert.deepEqual(capped(9, ["s1\n\ns2\n", "f\n\ns3\n\n"], "blank-line"), {
    text: "s1\n\n",
    cut: true,
    keptBytes: 4,
    totalBytes: 14,
  });
  assert.deepEqual(capped(9, ["line1\nline2\nline3\n"], "line"), {
    text: "line1\n",
    cut: true,
    keptBytes: 6,
    totalBytes: 18,
  });
  assert.equal(capped(4, ["no boundary at all"], "line").text, "");
  // A cut never splits a multi-byte character: it happens at a newline.
  assert.equal(capped(8, ["é\n", "ü\nmore"], "line").text, "é\nü\n");
});

Deno.test("RecordingQueue: shares the running job, joins queued ones, refuses beyond the bound", async () => {
  const queue = new RecordingQueue<string>({
    maxWaiting: 2,
    busyMessage: "busy",
    closedMessage: "closed",
  });
  const started: string[] = [];
  const release = new Map<string, () => void>();
  const job = (key: string) => (_signal: AbortSignal) => {
    started.push(key);
    const { promise, resolve } = Promise.withResolvers<string>();
    release.set(key, () => resolve(`${key} result`));
    return promise;
  };
  const a1 = queue.run("a", job("a"));
  const a2 = queue.run("a", job("a"));
  const b1 = queue.run("b", job("b"));
  const b2 = queue.run("b", job("b"));
  await assert.rejects(queue.run("c", job("c")), (error) => {
    assert.ok(error instanceof MethodFailure);
    assert.equal(error.message, "busy");
    return true;
  });
  const a3 = queue.run("a", job("a"));
  assert.equal(queue.waiting, 2);
  await Promise.resolve();
  assert.deepEqual(started, ["a"]);
  release.get("a")!();
  assert.deepEqual(await Promise.all([a1, a2, a3]), ["a result", "a result", "a result"]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(started, ["a", "b"]);
  assert.equal(queue.waiting, 0);
  release.get("b")!();
  assert.deepEqual(await Promise.all([b1, b2]), ["b result", "b result"]);

  // A failing job fails its waiters only; the next one still runs.
  const failing = queue.run("x", () => Promise.reject(new MethodFailure("x failed")));
  const after = queue.run("y", () => Promise.resolve("y result"));
  await assert.rejects(failing, /x failed/);
  assert.equal(await after, "y result");

  // close(): queued requests fail, the running job sees its signal abort.
  let aborted = false;
  const running = queue.run("r", (signal) =>
    new Promise((_resolve, reject) => {
      signal.addEventListener("abort", () => {
        aborted = true;
        reject(new MethodFailure("stopped"));
      });
    }));
  const queued = assert.rejects(queue.run("q", job("q")), /closed/);
  const stopped = assert.rejects(running, /stopped/);
  await Promise.resolve();
  await queue.close();
  assert.ok(aborted);
  await stopped;
  await queued;
  await assert.rejects(queue.run("a", job("a")), /closed/);
});

Deno.test("perf runs from fixed argument templates and a fixed search path", () => {
  const data = "/tmp/lepd-perf-x/perf.data";
  assert.deepEqual(perfRecordArgs("cpuclock", data, { major: 6, minor: 1 }), [
    "record",
    "-a",
    "-e",
    "cpu-clock",
    "-N",
    "--no-bpf-event",
    "-o",
    data,
    "--",
    "sleep",
    "1",
  ]);
  assert.deepEqual(perfRecordArgs("faults", data, { major: 5, minor: 1 }), [
    "record",
    "-a",
    "-e",
    "faults",
    "-N",
    "--no-bpf-event",
    "-o",
    data,
    "--",
    "sleep",
    "1",
  ]);
  assert.deepEqual(perfRecordArgs("flame", data, { major: 4, minor: 19 }), [
    "record",
    "-F",
    "99",
    "-a",
    "-g",
    "-N",
    "-o",
    data,
    "--",
    "sleep",
    "1",
  ]);
  assert.deepEqual(perfReportArgs(data), [
    "report",
    "-i",
    data,
    "--stdio",
    "--sort",
    "comm,dso,sym",
  ]);
  assert.deepEqual(perfScriptArgs(data), ["script", "-i", data]);
  assert.deepEqual(parsePerfVersion("perf version 6.1.187\n"), { major: 6, minor: 1 });
  assert.deepEqual(parsePerfVersion("perf version 3.13.11-ckt39\n"), { major: 3, minor: 13 });
  assert.equal(parsePerfVersion("WARNING: perf not found for kernel 6.8.0-31"), undefined);
  assert.equal(
    parseRecordedSamples(
      "[ perf record: Woken up 1 times to write data ]\n" +
        "[ perf record: Captured and wrote 1.527 MB /tmp/x/perf.data (101 samples) ]\n",
    ),
    101,
  );
  assert.equal(parseRecordedSamples("[ perf record: Captured and wrote 0.001 MB x ]"), undefined);
  assert.equal(
    perfErrorLine("[ perf record: x ]\nError:\nThe sys_perf_event_open() syscall failed.\nmore"),
    "The sys_perf_event_open() syscall failed.",
  );
  assert.equal(
    perfErrorLine("\n  perf: 'bogus' is not a perf-command.\n"),
    "perf: 'bogus' is not a perf-command.",
  );
  assert.equal(perfErrorLine(""), "no message");
  assert.equal(perfErrorLine("x".repeat(500)).length, 200);
  assert.deepEqual(PERF_DIRECTORIES, [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ]);
});

Deno.test("resolvePerf takes the first executable perf that only its owner may write", () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd-perf-resolve-" });
  try {
    const directories = ["none", "data", "writable", "good", "later"].map((name) => {
      Deno.mkdirSync(`${root}/${name}`);
      return `${root}/${name}`;
    });
    Deno.writeTextFileSync(`${root}/data/perf`, "not executable");
    Deno.chmodSync(`${root}/data/perf`, 0o644);
    Deno.writeTextFileSync(`${root}/writable/perf`, "#!/bin/sh\n");
    Deno.chmodSync(`${root}/writable/perf`, 0o777);
    Deno.writeTextFileSync(`${root}/good/perf`, "#!/bin/sh\n");
    Deno.chmodSync(`${root}/good/perf`, 0o755);
    Deno.writeTextFileSync(`${root}/later/perf`, "#!/bin/sh\n");
    Deno.chmodSync(`${root}/later/perf`, 0o755);
    assert.equal(resolvePerf(directories), `${root}/good/perf`);
    assert.equal(resolvePerf(directories.slice(0, 3)), undefined);
    // This machine has perf installed (.ci/run makes sure of it).
    assert.equal(resolvePerf(), "/usr/bin/perf");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// A fake perf for the error paths

interface ProcessEntry {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
}

/** Every process now, from the live /proc. */
function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    entries.push({
      pid: Number(entry.name),
      comm: stat.slice(stat.indexOf("(") + 1, close),
      state: fields[0]!,
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
    });
  }
  return entries;
}

/**
 * Waits until `condition` holds, polling; fails with `message` after `timeoutMs`, which only a
 * hang reaches (a loaded machine may take seconds to reap a killed group).
 */
async function eventually(condition: () => boolean, message: () => string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(message());
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Asserts that no process of the given process groups is left, and no zombie of ours. */
async function assertNothingLeft(groups: readonly number[]): Promise<void> {
  // Grandchildren killed with their group are reaped by init, which may take a moment.
  await eventually(
    () => processTable().every((entry) => !groups.includes(entry.pgrp)),
    () =>
      `processes left: ${
        JSON.stringify(processTable().filter((entry) => groups.includes(entry.pgrp)))
      }`,
  );
  const zombies = processTable().filter((entry) => entry.ppid === Deno.pid && entry.state === "Z");
  assert.deepEqual(zombies, []);
}

interface FakePerf {
  executable: string;
  directory: string;
  /** One line per call: `pid|pgrp|cwd|mode of cwd|HOME|TMPDIR|PATH|LC_ALL|canary|args`. */
  calls(): string[][];
  remove(): void;
}

/** Writes a fake perf whose subcommands run the given shell snippets. */
function fakePerf(
  snippets: { version?: string; record?: string; report?: string; script?: string },
) {
  const directory = Deno.makeTempDirSync({ prefix: "lepd-fake-perf-" });
  const executable = `${directory}/perf`;
  const reportFixture = new URL("report-cpuclock.txt", FIXTURES).pathname;
  const scriptFixture = new URL("script-kernel.txt", FIXTURES).pathname;
  Deno.writeTextFileSync(
    executable,
    `#!/bin/sh
printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\\n' "$$" "$(cut -d ' ' -f 5 /proc/$$/stat)" "$(pwd)" \\
  "$(stat -c %a .)" "$HOME" "$TMPDIR" "$PATH" "$LC_ALL" "\${LEPD_TEST_CANARY:-absent}" "$*" \\
  >> "${directory}/calls.log"
case "$1" in
version) ${snippets.version ?? 'echo "perf version 6.1.0"'} ;;
record) ${
      snippets.record ??
        'echo "[ perf record: Captured and wrote 0.100 MB perf.data (98 samples) ]" >&2'
    } ;;
report) ${snippets.report ?? `cat "${reportFixture}"`} ;;
script) ${snippets.script ?? `cat "${scriptFixture}"`} ;;
esac
`,
  );
  Deno.chmodSync(executable, 0o755);
  return {
    executable,
    directory,
    calls: () => {
      try {
        return Deno.readTextFileSync(`${directory}/calls.log`).trimEnd().split("\n")
          .map((line) => line.split("|"));
      } catch {
        return [];
      }
    },
    remove: () => Deno.removeSync(directory, { recursive: true }),
  } satisfies FakePerf;
}

/** perf_event_paranoid as a fake perf's tests see it: permissive, whatever the host says. */
const PERMISSIVE_PARANOID = () => Promise.resolve("-1\n");

/** Options for a fake (or missing) perf: the host's perf settings play no part. */
function options(executable: string | undefined, overrides: Partial<PerfOptions> = {}) {
  return { executable, ...PERF_DEFAULTS, readParanoid: PERMISSIVE_PARANOID, ...overrides };
}

/** Asserts a one-line MethodFailure whose message matches every pattern. */
async function assertFailure(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let message = "";
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof MethodFailure, `a MethodFailure, not ${error}`);
    message = error.message;
    return true;
  });
  assert.doesNotMatch(message, /\n/, "one line");
  for (const pattern of patterns) assert.match(message, pattern);
  return message;
}

Deno.test("fake perf: fixed argv, fixed environment, a private directory removed afterwards", async () => {
  const fake = fakePerf({});
  Deno.env.set("LEPD_TEST_CANARY", "leaked");
  const perf = createPerfCollectors(options(fake.executable));
  try {
    const report = await perf.cpuclock.collect(context);
    assert.equal(report, fixture("report-cpuclock.txt"));
    const flame = await perf.record("flame");
    assert.equal(flame.text, fixture("script-kernel.txt"));
    assert.equal(flame.folded, fixture("script-kernel.folded"));
    assert.equal(flame.recordedSamples, 98);
    assert.equal(await perf.flameFolded.collect(context), fixture("script-kernel.folded"));

    const calls = fake.calls();
    assert.deepEqual(calls.map((call) => call[9]!.split(" ")[0]), [
      "version",
      "record",
      "report",
      "record",
      "script",
      "record",
      "script",
    ]);
    for (const [, , cwd, mode, home, tmpdir, path, lcAll, canary, args] of calls.slice(1)) {
      assert.match(cwd!, /\/lepd-perf-[^/]+$/);
      assert.equal(mode, "700", "private directory");
      assert.equal(home, cwd);
      assert.equal(tmpdir, cwd);
      assert.equal(path, "/usr/bin:/bin");
      assert.equal(lcAll, "C");
      assert.equal(canary, "absent", "nothing of lepd's environment reaches perf");
      assert.ok(args!.includes(`${cwd}/perf.data`));
      assert.throws(() => Deno.statSync(cwd!), Deno.errors.NotFound, "directory removed");
    }
    const [record, report_] = [calls[1]!, calls[2]!];
    assert.equal(
      record[9],
      perfRecordArgs("cpuclock", `${record[2]}/perf.data`, { major: 6, minor: 1 }).join(" "),
    );
    assert.equal(report_[9], perfReportArgs(`${record[2]}/perf.data`).join(" "));
    assert.equal(record[2], report_[2], "record and report share one directory");
    await assertNothingLeft(calls.map((call) => Number(call[0])));
  } finally {
    Deno.env.delete("LEPD_TEST_CANARY");
    await perf.close();
    fake.remove();
  }
});

Deno.test("perf missing: the probe and every method say so with the remedy", async () => {
  const perf = createPerfCollectors(options(undefined));
  const reason = await perf.probe();
  assert.match(reason!, /^perf is not installed \(no executable perf in \/usr\/local\/sbin,/);
  assert.match(reason!, /install the linux-perf package/);
  for (const collector of [perf.faults, perf.cpuclock, perf.flame, perf.flameFolded]) {
    assert.equal(await collector.probe!(context), reason);
    const message = await assertFailure(collector.collect(context), /linux-perf/);
    assert.equal(message, reason);
  }
  await perf.close();

  const gone = createPerfCollectors(options("/nonexistent/lepd-test/perf"));
  await assertFailure(
    gone.cpuclock.collect(context),
    /^perf is gone from "\/nonexistent\/lepd-test\/perf"/,
    /linux-perf/,
  );
  assert.match((await gone.probe())!, /perf is gone/);
  await gone.close();
});

Deno.test("perf failing: exit status, perf's own error line and a remedy in one line", async () => {
  const fake = fakePerf({
    record:
      'printf "Error:\\nThe sys_perf_event_open() syscall returned with 22 (Invalid argument)\\nmore\\n" >&2; exit 129',
  });
  const perf = createPerfCollectors(options(fake.executable));
  try {
    await assertFailure(
      perf.faults.collect(context),
      /^"perf record -a -e faults -N --no-bpf-event -o perf\.data -- sleep 1" failed/,
      /exit status 129: The sys_perf_event_open\(\) syscall returned with 22 \(Invalid argument\)\)/,
      /run it as lepd's user/,
    );
    assert.doesNotMatch(
      await perf.faults.collect(context).catch((error) => error.message),
      /lepd-perf-/,
    );
    const tmpdir = Deno.env.get("TMPDIR");
    Deno.env.set("TMPDIR", "/nonexistent/lepd-test");
    try {
      await assertFailure(
        perf.flame.collect(context),
        /^Cannot create a private directory for perf\.data: .*; give lepd a writable TMPDIR/,
      );
    } finally {
      if (tmpdir === undefined) Deno.env.delete("TMPDIR");
      else Deno.env.set("TMPDIR", tmpdir);
    }
  } finally {
    await perf.close();
    fake.remove();
  }

  const broken = fakePerf({
    version: 'echo "WARNING: perf not found for kernel 6.8.0-31" >&2; exit 2',
  });
  const brokenPerf = createPerfCollectors(options(broken.executable));
  try {
    assert.match(
      (await brokenPerf.probe())!,
      /"perf version" failed \(exit status 2: WARNING: perf not found for kernel 6\.8\.0-31\)/,
    );
    await assertFailure(
      brokenPerf.flame.collect(context),
      /perf not found for kernel/,
      /matches the running kernel/,
    );
    assert.equal(broken.calls().filter((call) => call[9]!.startsWith("record")).length, 0);
  } finally {
    await brokenPerf.close();
    broken.remove();
  }
});

Deno.test("perf not permitted: detected at start-up from the settings and per request from perf", async () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd-perf-proc-" });
  const fake = fakePerf({
    record:
      `printf "Error:\\nAccess to performance monitoring and observability operations is limited.\\nperf_event_paranoid setting is 2:\\n" >&2; exit 255`,
  });
  const setting = (paranoid: string | undefined, capEff: string) => {
    Deno.mkdirSync(`${root}/proc/sys/kernel`, { recursive: true });
    Deno.mkdirSync(`${root}/proc/self`, { recursive: true });
    if (paranoid === undefined) Deno.removeSync(`${root}/proc/sys/kernel/perf_event_paranoid`);
    else Deno.writeTextFileSync(`${root}/proc/sys/kernel/perf_event_paranoid`, `${paranoid}\n`);
    Deno.writeTextFileSync(
      `${root}/proc/self/status`,
      `Name:\tlepd\nUid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`,
    );
    // The settings under test, read from the tree: no injected value.
    return createPerfCollectors({ executable: fake.executable, ...PERF_DEFAULTS, procRoot: root });
  };
  try {
    const refused = setting("2", "0000000000000000");
    const reason = await refused.probe();
    assert.equal(
      reason,
      "perf may not record system-wide: kernel.perf_event_paranoid is 2 and lepd (uid 1000) " +
        "lacks CAP_PERFMON; grant lepd CAP_PERFMON (and CAP_SYSLOG for kernel symbol names), " +
        "run it as root, or set kernel.perf_event_paranoid to 0 or lower",
    );
    assert.equal(await assertFailure(refused.cpuclock.collect(context)), reason);
    await refused.close();
    // An injected reader takes the file's place.
    const injected = createPerfCollectors({
      executable: fake.executable,
      ...PERF_DEFAULTS,
      procRoot: root,
      readParanoid: () => Promise.resolve("3\n"),
    });
    assert.match(
      (await injected.probe())!,
      /kernel\.perf_event_paranoid is 3 and lepd \(uid 1000\)/,
    );
    await injected.close();

    // CAP_PERFMON (bit 38) or CAP_SYS_ADMIN (bit 21) is enough, and so is paranoid <= 0.
    for (
      const [paranoid, capEff] of [["2", "0000004000000000"], ["2", "0000000000200000"], [
        "-1",
        "0",
      ], ["0", "0"]]
    ) {
      const allowed = setting(paranoid, capEff!);
      assert.equal(await allowed.probe(), undefined, `paranoid ${paranoid}, CapEff ${capEff}`);
      await allowed.close();
    }
    // Per request: perf's own refusal is recognised even when the settings looked fine.
    const later = setting("1", "0000004000000000");
    await assertFailure(
      later.flame.collect(context),
      /perf was refused access to performance events/,
      /Access to performance monitoring/,
      /CAP_PERFMON/,
    );
    await later.close();

    const noEvents = setting(undefined, "0");
    assert.match((await noEvents.probe())!, /kernel has no perf events .*CONFIG_PERF_EVENTS/);
    await noEvents.close();
  } finally {
    Deno.removeSync(root, { recursive: true });
    fake.remove();
  }
});

Deno.test("a perf that never exits is killed at the deadline with everything it started", async () => {
  const marker = String(900_000 + Math.floor(Math.random() * 99_999));
  const fake = fakePerf({ script: `trap '' TERM; sleep ${marker} & sleep ${marker}; wait` });
  const perf = createPerfCollectors(options(fake.executable, { deadlineMs: 500 }));
  try {
    const started = performance.now();
    await assertFailure(
      perf.flame.collect(context),
      /^"perf script -i perf\.data" did not finish within 0\.5 s and was killed/,
      /raise --perf-timeout/,
    );
    // Far below the children's sleeps; generous for a loaded machine.
    assert.ok(performance.now() - started < 15_000, "answered soon after the deadline");
    const calls = fake.calls();
    assert.equal(calls.at(-1)![9], `script -i ${calls.at(-1)![2]}/perf.data`);
    // The fake leads its own process group, which is what was killed.
    assert.equal(calls.at(-1)![0], calls.at(-1)![1]);
    await assertNothingLeft(calls.map((call) => Number(call[0])));
    const cmdlines = processTable().map((entry) => {
      try {
        return Deno.readTextFileSync(`/proc/${entry.pid}/cmdline`);
      } catch {
        return "";
      }
    });
    assert.ok(!cmdlines.some((cmdline) => cmdline.includes(marker)), "no sleep left");
    assert.throws(() => Deno.statSync(calls.at(-1)![2]!), Deno.errors.NotFound);
  } finally {
    await perf.close();
    fake.remove();
  }
});

Deno.test("runChild: a child holding its pipes after the deadline does not hold the caller", async () => {
  const started = performance.now();
  const run = await runChild("/bin/sh", {
    args: ["-c", "echo out; echo err >&2; sleep 30 & exec sleep 30"],
    env: { PATH: "/usr/bin:/bin" },
    cwd: "/",
    deadlineMs: 300,
    onStdout: () => {},
  });
  assert.equal(run.end, "timeout");
  assert.equal(run.status.signal, "SIGKILL");
  assert.equal(run.stderr, "err\n");
  assert.ok(performance.now() - started < 15_000, "not the 30 s of the sleeps");
  // A child that exits and leaves a grandchild holding its pipes: the grandchild goes too.
  const marker = String(800_000 + Math.floor(Math.random() * 99_999));
  let pid = 0;
  const quick = performance.now();
  const orphaning = await runChild("/bin/sh", {
    args: ["-c", `echo $$; sleep ${marker} & exit 3`],
    env: { PATH: "/usr/bin:/bin" },
    cwd: "/",
    deadlineMs: 10_000,
    onStdout: (chunk) => pid = Number(new TextDecoder().decode(chunk)),
  });
  assert.equal(orphaning.end, "exited");
  assert.equal(orphaning.status.code, 3);
  assert.ok(performance.now() - quick < 15_000, "the pipes did not wait for the grandchild");
  await assertNothingLeft([pid]);

  const aborted = new AbortController();
  const pending = runChild("/bin/sleep", {
    args: ["30"],
    env: {},
    cwd: "/",
    deadlineMs: 10_000,
    signal: aborted.signal,
  });
  aborted.abort();
  assert.equal((await pending).end, "aborted");
  await assert.rejects(
    runChild("/nonexistent/perf", { args: [], env: {}, cwd: "/", deadlineMs: 1000 }),
    Deno.errors.NotFound,
  );
});

Deno.test("output beyond the cap is cut at a sample boundary with a note; folding sees it all", async () => {
  const script = fixture("script-kernel.txt");
  const copies = 5;
  const scriptPath = new URL("script-kernel.txt", FIXTURES).pathname;
  const fake = fakePerf({ script: Array(copies).fill(`cat "${scriptPath}"`).join("; ") });
  const maxOutputBytes = 2 * encoder.encode(script).length + 1000;
  const perf = createPerfCollectors(options(fake.executable, { maxOutputBytes }));
  try {
    const { text, folded } = await perf.record("flame");
    const note = text.slice(text.lastIndexOf("\n# lepd:") + 1);
    assert.match(
      note,
      /^# lepd: output cut at a sample boundary after \d+ of \d+ bytes \(limit \d+, --perf-max-output-bytes\)\n$/,
    );
    const kept = text.slice(0, text.length - note.length);
    // Expected: the first maxOutputBytes bytes of the whole output, back to the last blank line.
    const head = encoder.encode(script.repeat(copies)).subarray(0, maxOutputBytes);
    const expected = new TextDecoder().decode(
      head.subarray(0, new TextDecoder().decode(head).lastIndexOf("\n\n") + 2),
    );
    assert.equal(kept, expected);
    assert.ok(kept.endsWith("\n\n"), "cut after a blank line");
    assert.ok(sampleHeaders(kept).length >= 2 * sampleHeaders(script).length, "whole samples");
    assert.equal(
      note,
      `# lepd: output cut at a sample boundary after ${encoder.encode(kept).length} of ` +
        `${copies * encoder.encode(script).length} bytes (limit ${maxOutputBytes}, ` +
        "--perf-max-output-bytes)\n",
    );
    const { samples } = lepvFlame(text);
    assert.equal(
      samples.filter((sample) => sample[0] !== "#").length,
      sampleHeaders(kept).length,
    );
    assert.equal(foldedTotal(folded!), copies * sampleHeaders(script).length, "folded from all");
  } finally {
    await perf.close();
    fake.remove();
  }
});

Deno.test("one recording at a time: shared while running, queued, busy beyond the queue", async () => {
  const fake = fakePerf({
    record: `echo "start $(date +%s%N) $*" >> "$(dirname "$0")/timeline.log"; sleep 0.4; ` +
      `echo "end $(date +%s%N)" >> "$(dirname "$0")/timeline.log"`,
  });
  const perf = createPerfCollectors(options(fake.executable, { queueLength: 2 }));
  try {
    await perf.probe();
    const cpuclock = perf.cpuclock.collect(context);
    const faults = perf.faults.collect(context);
    const flame = perf.flame.collect(context);
    const busy = perf.flameFolded.collect(context);
    const sharedCpuclock = perf.cpuclock.collect(context);
    // flameFolded joins the queued flame recording, but the queue is full already.
    await assertFailure(
      busy,
      /^Busy: 2 perf requests already wait for a recording \(--perf-queue-length 2\); retry in a few seconds$/,
    );
    const results = await Promise.all([cpuclock, faults, flame, sharedCpuclock]);
    assert.equal(results[0], fixture("report-cpuclock.txt"));
    assert.equal(results[3], results[0]);
    assert.equal(results[2], fixture("script-kernel.txt"));
    const timeline = Deno.readTextFileSync(`${fake.directory}/timeline.log`).trimEnd().split("\n")
      .map((line) => line.split(" "));
    assert.deepEqual(timeline.map((fields) => fields[0]), [
      "start",
      "end",
      "start",
      "end",
      "start",
      "end",
    ]);
    assert.deepEqual(
      timeline.filter((fields) => fields[0] === "start").map((fields) => fields[3]),
      [
        "-a",
        "-a",
        "-F",
      ],
    );
    assert.deepEqual(
      timeline.filter((fields) => fields[0] === "start").map((fields) => fields[5]),
      ["cpu-clock", "faults", "-a"],
    );
    for (let index = 1; index < timeline.length; index++) {
      assert.ok(BigInt(timeline[index]![1]!) >= BigInt(timeline[index - 1]![1]!), "in order");
    }
    assert.equal(fake.calls().filter((call) => call[9]!.startsWith("record")).length, 3);
  } finally {
    await perf.close();
    fake.remove();
  }
});

Deno.test("close() kills a running recording, fails queued requests and refuses new ones", async () => {
  const fake = fakePerf({ record: "sleep 30" });
  const perf = createPerfCollectors(options(fake.executable));
  try {
    const running = perf.flame.collect(context);
    await eventually(
      () => fake.calls().some((call) => call[9]!.startsWith("record")),
      () => "the recording did not start",
    );
    const stopped = assertFailure(
      running,
      /^lepd is shutting down: the perf recording was stopped/,
    );
    const cancelled = assertFailure(
      perf.faults.collect(context),
      /^lepd is shutting down: the perf request was cancelled/,
    );
    const started = performance.now();
    await perf.close();
    assert.ok(performance.now() - started < 15_000, "not the 30 s of the recording");
    await stopped;
    await cancelled;
    await assertFailure(perf.cpuclock.collect(context), /shutting down/);
    await assertNothingLeft(fake.calls().map((call) => Number(call[0])));
    await perf.close();
  } finally {
    fake.remove();
  }
});

// ---------------------------------------------------------------------------------------------
// Live: the real perf on this machine

const livePerf = resolvePerf();

/** Why the real perf cannot record system-wide here; undefined when it can. */
const livePerfProblem = livePerf === undefined ? "perf is not installed" : await (async () => {
  const probe = createPerfCollectors({ executable: livePerf, ...PERF_DEFAULTS });
  try {
    return await probe.probe();
  } finally {
    await probe.close();
  }
})();

/** A test of the real perf: skipped, with the probe's reason, where perf may not record. */
function liveTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: skipUnless(livePerfProblem === undefined, livePerfProblem ?? "", name),
    fn,
  });
}

/** The real perf's options: the host's own settings decide. */
function liveOptions(): PerfOptions {
  return { executable: livePerf, ...PERF_DEFAULTS };
}

/** perf processes that are children of this test process. */
function ourPerfProcesses(): ProcessEntry[] {
  return processTable().filter((entry) => entry.ppid === Deno.pid && entry.comm === "perf");
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

liveTest(
  "live: GetCmdPerfFlame is complete and larger than 16 KiB while a busy child spins",
  async () => {
    // One-byte reads and writes keep the child in deep kernel stacks, so every sample of it is
    // long whatever else the machine does (a shell loop's stacks were too short to be sure).
    const busy = new Deno.Command("dd", {
      args: ["if=/dev/zero", "of=/dev/null", "bs=1"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const perf = createPerfCollectors(liveOptions());
    try {
      const flame = await perf.record("flame");
      const headers = sampleHeaders(flame.text);
      assert.equal(headers.length, flame.recordedSamples, "as many samples as perf record wrote");
      assert.ok(encoder.encode(flame.text).length > 16 * 1024, `${flame.text.length} chars`);
      assert.doesNotMatch(flame.text, /^# lepd: output cut/m);
      assert.ok(flame.text.endsWith("\n\n"), "ends after a whole sample");
      assert.ok(
        headers.some((line) => new RegExp(`^dd +${busy.pid} `).test(line)),
        "the busy child was sampled",
      );
      assert.equal(lepvFlame(flame.text).samples.length, headers.length);
      assert.equal(foldedTotal(flame.folded!), headers.length);
    } finally {
      busy.kill("SIGKILL");
      await busy.status;
      await perf.close();
    }
  },
);

// One test for both, so the real recordings (a second each) are made once.
liveTest(
  "live: every perf method returns a text with samples; concurrent requests are all answered, one recording at a time",
  async () => {
    const perf = createPerfCollectors(liveOptions());
    assert.equal(await perf.probe(), undefined);
    let maxAlive = 0;
    const recordPids = new Set<number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const alive = ourPerfProcesses();
        maxAlive = Math.max(maxAlive, alive.length);
        for (const entry of alive) {
          if (cmdline(entry.pid).includes(" record ")) recordPids.add(entry.pid);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      const started = performance.now();
      // The flame text and the folded stacks share one queued flame recording.
      const [cpuclock, faults, flame, folded] = await Promise.all([
        perf.cpuclock.collect(context),
        perf.faults.collect(context),
        perf.record("flame"),
        perf.flameFolded.collect(context),
      ]);
      const elapsed = performance.now() - started;
      for (const [report, event] of [[cpuclock, "cpu-clock"], [faults, "faults"]] as const) {
        assert.match(report, new RegExp(`^# Samples: \\S+ +of event '${event}'$`, "m"));
        assert.ok(lepvPerfRows(report).length > 0, `${event}: LEPV reads rows`);
        assert.doesNotMatch(report, /# lepd: output cut/);
      }
      const headers = sampleHeaders(flame.text);
      assert.ok(headers.length > 0);
      assert.equal(headers.length, flame.recordedSamples, "every recorded sample is in the text");
      assert.equal(lepvFlame(flame.text).samples.length, headers.length);
      assert.equal(foldedTotal(flame.folded!), headers.length);
      assert.equal(flame.folded, formatFolded(foldPerfScript(flame.text)));
      assert.equal(folded, flame.folded, "GetCmdPerfFlameFolded joined the flame recording");
      assert.match(folded, /^\S+ \d+$/m);
      assert.doesNotMatch(folded, /\+0x[\da-f]+[; ]/);
      assert.ok(elapsed >= 3000, `three one-second recordings took ${elapsed} ms`);
      watching = false;
      await watcher;
      assert.equal(recordPids.size, 3, "three recordings");
      assert.equal(maxAlive, 1, "never two perf processes at once");
      assert.deepEqual(ourPerfProcesses(), []);
    } finally {
      watching = false;
      await watcher;
      await perf.close();
    }
  },
);

function serverConfig(port: number): ServerConfig {
  return testServerConfig({ port });
}

liveTest(
  "live over TCP: a client that disconnects mid-recording leaves no perf behind",
  async () => {
    const perf = createPerfCollectors(liveOptions());
    const log = new Logger("error", "test");
    const registry = new Registry({ fs: context.fs, log, maxResultBytes: 16 * 1024 * 1024 })
      .register("GetCmdPerfFaults", perf.faults)
      .register("GetCmdPerfCpuclock", perf.cpuclock)
      .register("GetCmdPerfFlame", perf.flame)
      .register("GetCmdPerfFlameFolded", perf.flameFolded);
    const port = freePort();
    const worker = await startNetworkWorker(serverConfig(port), { methods: registry, log });
    const groups = new Set<number>();
    try {
      const leaving = await Client.connect(port);
      await leaving.send('{"method": "GetCmdPerfFlame"}');
      await eventually(() => {
        for (const entry of ourPerfProcesses()) groups.add(entry.pgrp);
        return ourPerfProcesses().some((entry) => cmdline(entry.pid).includes(" record "));
      }, () => "perf record did not start");
      leaving.close();
      // The daemon finishes the run regardless of the client, then nothing is left.
      await eventually(
        () => {
          for (const entry of ourPerfProcesses()) groups.add(entry.pgrp);
          return registry.stats("GetCmdPerfFlame")!.totalMs > 0;
        },
        () => "the abandoned run did not finish",
        15_000,
      );
      assert.equal(registry.stats("GetCmdPerfFlame")!.failures, 0);
      await assertNothingLeft([...groups]);
      assert.deepEqual(ourPerfProcesses(), []);

      const client = await Client.connect(port);
      try {
        const response = await client.request({ method: "GetCmdPerfFlameFolded" });
        const folded = legacyText(response);
        assert.match(folded, /^\S+ \d+$/m);
      } finally {
        client.close();
      }
    } finally {
      await worker.stop();
      await registry.close();
    }
    assert.deepEqual(ourPerfProcesses(), []);
  },
);
