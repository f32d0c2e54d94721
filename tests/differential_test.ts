// Differential tests: lepd's texts against the real tools (procps ps, free and vmstat, sysstat
// mpstat and iostat, coreutils df) and against /proc/<pid>/smaps_rollup, on this machine, with
// the collectors instantiated in-process. Each test is skipped, with the reason printed, where
// its tool is not installed (`apt-get install procps sysstat smem`; .ci/run installs them).
//
// Two kinds of figures, two kinds of tolerance:
//
// - Levels (memory, sizes, a process's columns) are read by lepd and by the tool a moment apart.
//   The kernel's own figure is read before and after both; each answer must lie within what the
//   kernel showed over that window, widened by the rounding of the layout. Processes whose
//   columns changed between a tool run before lepd's snapshot and one after it are not compared.
// - Rates (vmstat, mpstat, iostat) are taken over the same interval: the tool is started first,
//   lepd's first snapshot is taken as soon as the tool has printed its first report (its first
//   reading), and both wait the same 2 s. The two intervals are then offset by the time a pipe
//   takes to deliver a line, a few ms of 2 s, so a steady counter gives the same rate; on a
//   loaded machine a burst at an edge still shifts one of them. The tolerance is therefore the
//   larger of 10 % of the rate and a floor per column, and a comparison that fails is taken
//   again over a new interval, up to three times: a real disagreement (a wrong formula, a
//   wrong width, a stale value) fails every time.

import assert from "node:assert/strict";
import { createRegistry } from "../registry/methods.ts";
import { ProcFs } from "../proc/fs.ts";
import type { Registry } from "../registry/registry.ts";
import { Logger } from "../log.ts";
import { cmdlineOf, waitFor } from "./helpers/processes.ts";
import { parseTaskStat } from "../proc/pid.ts";

const ATTEMPTS = 3;

function registry(intervalMs = 2000): Registry {
  return createRegistry({
    fs: new ProcFs({ maxFileBytes: 1 << 24 }),
    log: new Logger("error", "differential"),
    maxResultBytes: 1 << 24,
    dmesgMaxBytes: 65536,
    perf: { maxOutputBytes: 1 << 20, deadlineMs: 5000, queueLength: 1 },
    sampling: { intervalMs, idleStopMs: 60_000 },
  });
}

async function call(registry: Registry, method: string): Promise<string> {
  const outcome = await registry.call(method);
  if (!outcome.ok) throw new Error(`${method}: ${outcome.message}`);
  return outcome.text;
}

/** True when `program` runs here; otherwise prints why the test is skipped. */
function installed(program: string, args: string[], packageName: string): boolean {
  try {
    if (new Deno.Command(program, { args, stdout: "null", stderr: "null" }).outputSync().success) {
      return true;
    }
  } catch {
    // Not found: reported below.
  }
  console.log(`skipped: ${program} is not installed (package ${packageName})`);
  return false;
}

/**
 * The environment the real tools run in: the caller's COLUMNS (ps cuts its last column to it),
 * LANG and LC_* (ps prints `?` for every byte outside ASCII in the C locale; sysstat's decimal
 * point and time format follow LC_NUMERIC and S_TIME_FORMAT) and S_COLORS would make their
 * output depend on who runs the tests, so they see a PATH, a HOME and a UTF-8 locale only, and
 * the caller's TZ, which lepd's clock follows too.
 */
const TOOL_ENV = {
  clearEnv: true,
  env: {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: "/",
    LC_ALL: "C.UTF-8",
    ...(Deno.env.get("TZ") === undefined ? {} : { TZ: Deno.env.get("TZ")! }),
  },
};

function run(program: string, args: string[]): string {
  const output = new Deno.Command(program, { args, stdout: "piped", stderr: "piped", ...TOOL_ENV })
    .outputSync();
  if (!output.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

function meminfo(): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of Deno.readTextFileSync("/proc/meminfo").split("\n")) {
    const match = /^(\S+):\s+(\d+)/.exec(line);
    if (match !== null) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/** Asserts that `value` lies within the readings of the window, widened by `slack`. */
function assertWithin(value: number, readings: number[], slack: number, what: string): void {
  const low = Math.min(...readings) - slack;
  const high = Math.max(...readings) + slack;
  assert.ok(value >= low && value <= high, `${what}: ${value} outside [${low}, ${high}]`);
}

/** Asserts two rates of the same interval agree within 10 % or `floor`. */
function assertRate(lepd: number, tool: number, floor: number, what: string): void {
  const tolerance = Math.max(floor, 0.1 * Math.max(Math.abs(lepd), Math.abs(tool)));
  assert.ok(
    Math.abs(lepd - tool) <= tolerance,
    `${what}: lepd ${lepd}, tool ${tool}, tolerance ${tolerance}`,
  );
}

/** Runs `check` up to {@link ATTEMPTS} times; the last failure is thrown. */
async function retried(check: (attempt: number) => Promise<void>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await check(attempt);
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      console.log(
        `attempt ${attempt} disagreed, taking a new interval: ${(error as Error).message}`,
      );
    }
  }
}

/**
 * Compares per-process rows that a tool read twice around lepd's reading, over up to
 * {@link ATTEMPTS} attempts, and returns what disagreed on every one of them.
 *
 * A process whose row is equal in the tool's two readings held still, so lepd's row must equal
 * it. But a busy process's memory can move and come back between the readings (a garbage
 * collector that frees and takes back the same pages), so one disagreement proves nothing:
 * a disagreeing process whose row changes over ten quick re-readings (`moves`) is moving and
 * not compared, and a process fails only if it disagrees on every attempt, as a formatting
 * error does. Each attempt returns its disagreements by pid.
 */
async function persistentDisagreements(
  attempt: (number: number) => Promise<Map<string, string>>,
  moves: (pid: string) => boolean,
): Promise<string[]> {
  let suspects: Map<string, string[]> | undefined;
  for (let number = 1; number <= ATTEMPTS; number++) {
    const next = new Map<string, string[]>();
    for (const [pid, text] of await attempt(number)) {
      const earlier = suspects === undefined ? [] : suspects.get(pid);
      if (earlier === undefined) continue;
      if (moves(pid)) {
        console.log(`pid ${pid} moves while it is read again and again: not compared`);
        continue;
      }
      next.set(pid, [...earlier, `attempt ${number}: ${text}`]);
    }
    suspects = next;
    if (suspects.size === 0) return [];
    console.log(`disagreeing so far:\n${[...suspects.values()].flat().join("\n")}`);
  }
  return [...suspects!.values()].flat();
}

/**
 * Fails with the rows that disagreed on every attempt: the last attempt's rows of the first
 * two processes, each line cut to 200 characters, so that the end of a CI log shows them.
 */
function assertNoneDisagree(failures: string[], what: string): void {
  if (failures.length === 0) return;
  const last = failures.filter((text) => text.startsWith(`attempt ${ATTEMPTS}: `));
  const rows = last.slice(0, 2).flatMap((text) => text.split("\n"))
    .map((line) => line.length > 200 ? `${line.slice(0, 200)}…` : line);
  const error = new Error(
    `${last.length} ${what} on all ${ATTEMPTS} attempts; the last attempt's rows:\n` +
      rows.join("\n"),
  );
  // No stack: the rows are the end of what the test prints, where a CI log's tail shows them.
  error.stack = `${error.name}: ${error.message}`;
  throw error;
}

/** Whether `read` gives more than one answer in ten readings in a row. */
function readingsDiffer(read: () => string | undefined): boolean {
  const answers = new Set<string | undefined>();
  for (let reading = 0; reading < 10; reading++) answers.add(read());
  return answers.size > 1;
}

/**
 * Starts `program`, waits until it has printed `firstLines` lines (its first reading is taken),
 * then takes lepd's interval of `method` (its first snapshot now, the second after the
 * registry's interval), and returns both texts.
 */
async function sameInterval(
  program: string,
  args: string[],
  firstLines: number,
  method: string,
): Promise<{ tool: string; lepd: string }> {
  const methods = registry();
  const child = new Deno.Command(program, { args, stdout: "piped", stderr: "null", ...TOOL_ENV })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let tool = "";
  while (tool.split("\n").length - 1 < firstLines) {
    const { value, done } = await reader.read();
    if (done) break;
    tool += value;
  }
  try {
    const lepd = await call(methods, method);
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      tool += value;
    }
    await child.status;
    return { tool, lepd };
  } finally {
    await methods.close();
  }
}

// ---------------------------------------------------------------------------------------------

Deno.test("differential: GetCmdFree against free, within the window's meminfo", async () => {
  if (!installed("free", ["-V"], "procps")) return;
  const methods = registry();
  try {
    const before = meminfo();
    const lepd = await call(methods, "GetCmdFree");
    const tool = run("free", ["-k"]);
    const after = meminfo();
    const lepdMem = lepd.split("\n").find((line) => line.startsWith("Mem:"))!.split(/\s+/);
    const lepdSwap = lepd.split("\n").find((line) => line.startsWith("Swap:"))!.split(/\s+/);
    const toolMem = tool.split("\n").find((line) => line.startsWith("Mem:"))!.split(/\s+/);
    const toolSwap = tool.split("\n").find((line) => line.startsWith("Swap:"))!.split(/\s+/);
    const total = before.get("MemTotal")!;
    console.log(
      `free: total ${toolMem[1]} free ${toolMem[3]}; lepd total ${lepdMem[1]} free ${lepdMem[3]}`,
    );
    assert.equal(Number(lepdMem[1]), Number(toolMem[1]), "total");
    // 0.5 % of MemTotal: what a busy machine allocates between two reads a few ms apart.
    const slack = total / 200;
    const read = (key: string) => [before.get(key)!, after.get(key)!];
    for (const [name, lepdValue, toolValue] of [["free", lepdMem[3], toolMem[3]]] as const) {
      assertWithin(Number(lepdValue), read("MemFree"), slack, `lepd ${name}`);
      assertWithin(Number(toolValue), read("MemFree"), slack, `free ${name}`);
      assertWithin(
        Number(lepdValue),
        [Number(toolValue)],
        slack + Math.abs(
          before.get("MemFree")! - after.get("MemFree")!,
        ),
        `${name}: lepd against free`,
      );
    }
    assertWithin(Number(lepdMem[4]), read("Shmem"), slack, "shared");
    assertWithin(Number(toolMem[4]), read("Shmem"), slack, "free's shared");
    assert.equal(Number(lepdSwap[1]), Number(toolSwap[1]), "swap total");
    assertWithin(Number(lepdSwap[3]), [Number(toolSwap[3])], slack, "swap free");
  } finally {
    await methods.close();
  }
});

/**
 * busybox `df -h` sizes: `252.0G`, `4.0K`, `0`; bytes, and how far the true size may be. busybox
 * (and lepd's `humanSize`) rounds the tenth from the remainder of the last division by 1024 only,
 * every earlier division having floored: half the last digit's unit, plus the floored remainder,
 * less than 1/1024 of the unit (30.0505 GiB is `30.0G`: 51.4 MiB above 30 G, floored to 51 MiB,
 * is 0.0498 of a G).
 */
function humanBytes(text: string): { bytes: number; rounding: number } {
  const match = /^([\d.]+)([KMGTPE]?)$/.exec(text);
  if (match === null) throw new Error(`not a df -h size: ${text}`);
  const unit = 1024 ** (" KMGTPE".indexOf(match[2] || " ") + 0);
  const scale = match[2] === "" ? 1 : unit;
  return {
    bytes: Number(match[1]) * scale,
    rounding: match[2] === "" ? 1 : 0.05 * scale + scale / 1024,
  };
}

Deno.test("differential: GetCmdDf against df, sizes within their rounding", async () => {
  if (!installed("df", ["--version"], "coreutils")) return;
  const methods = registry();
  try {
    // Files written and deleted by other programs between the reads move "used" and
    // "available" up and down, not only one way, so a window of two readings does not bound
    // them: those two are compared on the file systems that held still between df's two
    // readings, the size on every one; a disagreement is measured again.
    await retried(async () => {
      const before = run("df", ["-k", "--output=target,size,used,avail"]);
      const lepd = await call(methods, "GetCmdDf");
      const after = run("df", ["-k", "--output=target,size,used,avail"]);
      const parse = (text: string) => {
        const rows = new Map<string, number[]>();
        for (const line of text.trim().split("\n").slice(1)) {
          const fields = line.trim().split(/\s+/);
          const target = fields.slice(0, -3).join(" ");
          if (!rows.has(target)) {
            rows.set(
              target,
              fields.slice(-3).map((kib) => Number(kib) * 1024),
            );
          }
        }
        return rows;
      };
      const [toolBefore, toolAfter] = [parse(before), parse(after)];
      let compared = 0;
      let stillCount = 0;
      for (const line of lepd.trim().split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        const mount = fields.at(-1)!;
        const [first, second] = [toolBefore.get(mount), toolAfter.get(mount)];
        if (first === undefined || second === undefined) continue;
        const still = first.every((value, index) => value === second[index]);
        for (const [index, name] of ["size", "used", "available"].entries()) {
          if (index > 0 && !still) continue;
          const { bytes, rounding } = humanBytes(fields[fields.length - 5 + index]!);
          assertWithin(bytes, [first[index]!, second[index]!], rounding + 1024, `${mount} ${name}`);
        }
        compared++;
        if (still) stillCount++;
      }
      console.log(`df: ${compared} file systems compared, ${stillCount} of them in full`);
      assert.ok(compared >= 1, `no file system of lepd's df is in df's:\n${lepd}\n${before}`);
    });
  } finally {
    await methods.close();
  }
});

Deno.test("differential: GetCmdTop against ps, for every process ps saw unchanged", async () => {
  if (!installed("ps", ["-V"], "procps") || !installed("bash", ["--version"], "bash")) return;
  // The sleeping child's command line holds a newline, a tab, a control character and a
  // backslash before `n`: ps and lepd must agree on it too (see psCommand and printable).
  const argv0 = "sleep\nwith\ttab\x01and\\n";
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec -a "$0" sleep 60', argv0],
    stdout: "null",
  }).spawn();
  try {
    // bash execs at once unless the machine is starved for far longer than any other part of
    // this suite tolerates.
    await waitFor(
      () => cmdlineOf(child.pid).split("\0")[0] === argv0,
      `process ${child.pid} to exec with its new argv[0]`,
      3000,
    );
    // -ww: the whole command line, whatever width ps believes the output has.
    const psArgs = ["-e", "-ww", "-o", "pid=,user=,pri=,ni=,vsz=,rss=,time=,args="];
    // A kernel worker's name ends with the work queue it serves at the moment
    // (`[kworker/u4:2-events_unbound]`), which changes, and may change back, between any two
    // reads without the process changing: compare the worker's own part only.
    const unqueued = (line: string) => line.replace(/\[(kworker\/[^\]-]+)-[^\]]*\]$/, "[$1]");
    // ps prints `?` for each byte of a command line that is not valid UTF-8 or not printable
    // in its locale, lepd a replacement character per invalid sequence: a run of either, or of
    // anything outside ASCII, is one `?` on both sides.
    // lepd also writes a backslash before `n` as `?` (LEPV splits texts on those two
    // characters; see printable), where ps keeps it.
    // ps writes at most 128 KiB of a row (its output buffer), lepd the whole command line:
    // rows are compared on their first 64 KiB.
    const ascii = (line: string) =>
      line.replace(/\\(?=n)/g, "?").replace(/[^\x20-\x7e]+/g, "?").replace(/\?+/g, "?")
        .slice(0, 65_536);
    const parse = (text: string) =>
      new Map(
        text.trim().split("\n").map((line) => {
          const fields = line.trim().split(/\s+/);
          return [fields[0]!, ascii(unqueued(line.trim().replace(/\s+/g, " ")))];
        }),
      );
    // ps reads once before and once after lepd's interval; a process that held still between
    // them is compared (see persistentDisagreements). The test's own sleeping child holds still
    // by construction and must agree on every attempt.
    const childPid = String(child.pid);
    const psRow = (pid: string): string | undefined => {
      const output = new Deno.Command("ps", { args: ["-p", pid, ...psArgs.slice(1)], ...TOOL_ENV })
        .outputSync();
      const text = new TextDecoder().decode(output.stdout).trim();
      return text === "" ? undefined : parse(text).get(pid);
    };
    const failures = await persistentDisagreements(async (attempt) => {
      const methods = registry(1000);
      try {
        const before = parse(run("ps", psArgs));
        const lepd = await call(methods, "GetCmdTop");
        const after = parse(run("ps", psArgs));
        let compared = 0;
        const disagreements = new Map<string, string>();
        for (const line of lepd.trim().split("\n").slice(1)) {
          const fields = line.trim().split(/\s+/);
          // PID USER PRI NI VSZ RSS S %CPU %MEM TIME CMD: drop S, %CPU (lepd's is of the
          // latest interval, ps's of the lifetime) and %MEM, and compare the rest as ps
          // prints it. ps cuts a user name longer than 8 characters to 7 and `+`, as lepd does.
          const pid = fields[0]!;
          const seen = before.get(pid);
          if (seen === undefined || seen !== after.get(pid)) continue;
          const ours = ascii(unqueued([...fields.slice(0, 6), ...fields.slice(9)].join(" ")));
          if (ours !== seen) disagreements.set(pid, `lepd: ${ours}\n  ps: ${seen}`);
          compared++;
        }
        console.log(
          `ps, attempt ${attempt}: ${compared} processes compared, ${disagreements.size} disagreed`,
        );
        assert.ok(before.has(childPid), "ps lists the sleeping child");
        assert.ok(
          lepd.split("\n").some((line) => line.trim().startsWith(`${childPid} `)),
          `lepd lists the sleeping child ${childPid}:\n${lepd}`,
        );
        assert.equal(disagreements.get(childPid), undefined, "the sleeping child agrees");
        return disagreements;
      } finally {
        await methods.close();
      }
    }, (pid) => readingsDiffer(() => psRow(pid)));
    assertNoneDisagree(failures, "processes that ps saw unchanged and lepd showed otherwise");
  } finally {
    child.kill();
    await child.status;
  }
});

Deno.test("differential: GetCmdProcrank against smaps_rollup, for processes that held still", async () => {
  const methods = registry();
  const child = new Deno.Command("sleep", { args: ["60"], stdout: "null" }).spawn();
  const childPid = String(child.pid);
  try {
    // Rss, Pss and Uss in KiB, or undefined when the process is gone or its map is not ours to
    // read.
    const rollup = (pid: string): [number, number, number] | undefined => {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
        const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1]);
        return [kib("Rss"), kib("Pss"), kib("Private_Clean") + kib("Private_Dirty")];
      } catch {
        return undefined;
      }
    };
    // A process holds still when its resident pages do: Rss. Its Uss and Pss move whenever any
    // other process maps or unmaps a page it shares (a page left to one process becomes its
    // private page), and the suite's other files start tools in parallel: these two are compared
    // within the span of the readings before and after lepd's.
    const resident = (reading: [number, number, number] | undefined) => reading?.[0];
    if (rollup("self") === undefined) {
      console.log("skipped: this kernel has no /proc/<pid>/smaps_rollup (Linux 4.14+)");
      return;
    }
    // The child is compared on every attempt, so it must have finished exec and dynamic linking
    // first: its command line is sleep's, it sleeps (state S, where loading would be R or D) and
    // its resident pages no longer change between looks.
    const state = (pid: string) => {
      try {
        return parseTaskStat(Deno.readTextFileSync(`/proc/${pid}/stat`))?.state;
      } catch {
        return undefined;
      }
    };
    let last: number | undefined;
    await waitFor(
      () => {
        const now = resident(rollup(childPid));
        // argv[0] is the path the spawn resolved: /usr/bin/sleep or another.
        const [program, seconds] = cmdlineOf(child.pid).split("\0");
        const settled = /(^|\/)sleep$/.test(program ?? "") && seconds === "60" &&
          state(childPid) === "S" && now !== undefined && now === last;
        last = now;
        return settled;
      },
      `process ${childPid} to exec sleep and hold still`,
      3000,
    );
    const failures = await persistentDisagreements(async (attempt) => {
      const pids = [...Deno.readDirSync("/proc")].map((entry) => entry.name).filter((name) =>
        /^\d+$/.test(name)
      );
      const before = new Map(pids.map((pid) => [pid, rollup(pid)]));
      const lepd = await call(methods, "GetCmdProcrank");
      const after = new Map(pids.map((pid) => [pid, rollup(pid)]));
      const compared = new Set<string>();
      const disagreements = new Map<string, string>();
      for (const line of lepd.split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        const pid = fields[0] ?? "";
        if (!/^\d+$/.test(pid)) continue;
        const first = before.get(pid);
        const second = after.get(pid);
        if (first === undefined || second === undefined || first[0] !== second[0]) continue;
        // Rss: exact. Uss: within the two readings. Pss divides each shared page by the processes
        // mapping it at that instant: within the two readings, widened by 2 % of the shared part
        // + 4 KiB for a short-lived process that mapped a library and left between them. A
        // process that did so with a page of this one's own makes it disagree on one attempt,
        // not on every one (see persistentDisagreements).
        const within = (value: number, index: 1 | 2, slack: number) =>
          value >= Math.min(first[index], second[index]) - slack &&
          value <= Math.max(first[index], second[index]) + slack;
        const [rss, pss, uss] = fields.slice(2, 5).map((value) => Number(value.replace(/K$/, "")));
        if (
          rss !== first[0] || !within(uss!, 2, 0) ||
          !within(pss!, 1, (first[0] - first[2]) * 0.02 + 4)
        ) {
          disagreements.set(
            pid,
            `pid ${pid}: Rss Pss Uss ${rss} ${pss} ${uss} against ${first.join(" ")} then ` +
              second.join(" "),
          );
        }
        compared.add(pid);
      }
      console.log(
        `procrank, attempt ${attempt}: ${compared.size} processes compared, ` +
          `${disagreements.size} disagreed`,
      );
      // lepd's user may always read its own child's memory map, and the sleeping child's
      // resident pages hold still.
      assert.ok(
        compared.has(childPid),
        `the sleeping child ${childPid} is compared (Rss ${resident(before.get(childPid))} ` +
          `then ${resident(after.get(childPid))}):\n${lepd}`,
      );
      return disagreements;
    }, (pid) => readingsDiffer(() => rollup(pid)?.join(" ")));
    assertNoneDisagree(
      failures,
      "processes whose resident pages held still and lepd showed otherwise",
    );
  } finally {
    await methods.close();
    child.kill();
    await child.status;
  }
});

Deno.test("differential: GetCmdVmstat against vmstat over the same 2 s", async () => {
  if (!installed("vmstat", ["-V"], "procps")) return;
  await retried(async () => {
    const before = meminfo();
    // vmstat prints its two headers and the since-boot line, then the line of the interval.
    const { tool, lepd } = await sameInterval("vmstat", ["2", "2"], 3, "GetCmdVmstat");
    const after = meminfo();
    const toolLine = tool.trim().split("\n").at(-1)!.trim().split(/\s+/).map(Number);
    const lepdLine = lepd.trim().split("\n").at(-1)!.trim().split(/\s+/).map(Number);
    console.log(`vmstat: ${toolLine.join(" ")}\nlepd:   ${lepdLine.join(" ")}`);
    const slack = before.get("MemTotal")! / 200;
    const window = (key: string) => [before.get(key)!, after.get(key)!];
    assertWithin(lepdLine[3]!, [...window("MemFree"), toolLine[3]!], slack, "free");
    assertWithin(lepdLine[4]!, [...window("Buffers"), toolLine[4]!], slack, "buff");
    assertWithin(lepdLine[2]!, [toolLine[2]!], slack, "swpd");
    // si so bi bo in cs: per second; us sy id wa st: whole percentages.
    const names = ["si", "so", "bi", "bo", "in", "cs"];
    for (const [offset, name] of names.entries()) {
      assertRate(lepdLine[6 + offset]!, toolLine[6 + offset]!, 50, name);
    }
    for (const [offset, name] of ["us", "sy", "id", "wa", "st"].entries()) {
      assertRate(lepdLine[12 + offset]!, toolLine[12 + offset]!, 5, `${name} (points)`);
    }
  });
});

/** Rows of mpstat's first report: CPU label → the ten percentages. */
function mpstatRows(text: string): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === "Average:" || fields.length !== 12 || fields[1] === "CPU") continue;
    if (!rows.has(fields[1]!)) rows.set(fields[1]!, fields.slice(2).map(Number));
  }
  return rows;
}

Deno.test("differential: GetCmdMpstat against mpstat -P ALL over the same 2 s", async () => {
  if (!installed("mpstat", ["-V"], "sysstat")) return;
  await retried(async () => {
    // mpstat prints its banner after its first reading.
    const { tool, lepd } = await sameInterval("mpstat", ["-P", "ALL", "2", "1"], 1, "GetCmdMpstat");
    const [toolRows, lepdRows] = [mpstatRows(tool), mpstatRows(lepd)];
    console.log(
      `mpstat all: ${toolRows.get("all")?.join(" ")}\nlepd all:   ${
        lepdRows.get("all")?.join(" ")
      }`,
    );
    assert.ok(toolRows.size >= 2, tool);
    assert.deepEqual([...lepdRows.keys()], [...toolRows.keys()], "the same CPUs");
    const columns = [
      "%usr",
      "%nice",
      "%sys",
      "%iowait",
      "%irq",
      "%soft",
      "%steal",
      "%guest",
      "%gnice",
      "%idle",
    ];
    for (const [cpu, toolValues] of toolRows) {
      for (const [index, column] of columns.entries()) {
        assertRate(
          lepdRows.get(cpu)![index]!,
          toolValues[index]!,
          5,
          `CPU ${cpu} ${column} (points)`,
        );
      }
    }
  });
});

/** The per-device values of an iostat report, by column name (sysstat 11.5 or 12 layout). */
function iostatReport(text: string, report: "first" | "last"): Map<string, Map<string, number>> {
  const blocks = text.split(/\n(?=Device)/).slice(1);
  const block = report === "first" ? blocks[0]! : blocks.at(-1)!;
  const [header, ...lines] = block.trim().split("\n");
  const names = header!.trim().split(/\s+/).slice(1);
  const devices = new Map<string, Map<string, number>>();
  for (const line of lines) {
    const [device, ...values] = line.trim().split(/\s+/);
    if (device === undefined || device === "") continue;
    devices.set(device, new Map(names.map((name, index) => [name, Number(values[index])])));
  }
  return devices;
}

Deno.test("differential: GetCmdIostat against iostat -d -x -k over the same 2 s", async () => {
  if (!installed("iostat", ["-V"], "sysstat")) return;
  await retried(async () => {
    // iostat prints its banner, then the since-boot report, after its first reading.
    const { tool, lepd } = await sameInterval(
      "iostat",
      ["-d", "-x", "-k", "2", "2"],
      4,
      "GetCmdIostat",
    );
    const toolDevices = iostatReport(tool, "last");
    const lepdDevices = iostatReport(lepd, "first");
    let compared = 0;
    for (const [device, ours] of lepdDevices) {
      const theirs = toolDevices.get(device);
      if (theirs === undefined) continue;
      console.log(
        `iostat ${device}: w/s ${theirs.get("w/s")} wkB/s ${theirs.get("wkB/s")}; lepd w/s ${
          ours.get("w/s")
        } wkB/s ${ours.get("wkB/s")}`,
      );
      for (const column of ["r/s", "w/s", "rkB/s", "wkB/s"]) {
        assertRate(
          ours.get(column)!,
          theirs.get(column)!,
          column.includes("kB") ? 64 : 5,
          `${device} ${column}`,
        );
      }
      assertRate(ours.get("%util")!, theirs.get("%util")!, 10, `${device} %util (points)`);
      compared++;
    }
    console.log(`iostat: ${compared} devices compared`);
    assert.ok(compared >= 1 || lepdDevices.size === 0, `${tool}\n${lepd}`);
  });
});
