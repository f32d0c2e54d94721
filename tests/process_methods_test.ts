// GetCmdTop and GetCmdTopH: parsers and formatters, then the real daemon on the live system.

import assert from "node:assert/strict";
import { printable, UserNames } from "../methods/processes.ts";
import { parseCmdline, parseStatusUid, parseTaskStat, type TaskStat } from "../proc/pid.ts";
import {
  psCommand,
  psCpu,
  psMem,
  psNice,
  psPriority,
  psRows,
  psTime,
  psUser,
} from "../methods/top.ts";
import { ProcFs } from "../proc/fs.ts";
import { cpuPercent, TaskSampling } from "../sampling/task_snapshots.ts";
import { formatUptime, topPriority, topRows, topTime } from "../methods/top_h.ts";
import { countUserSessions } from "../proc/utmp.ts";
import { Client, legacyText, startDaemon } from "./helpers/daemon.ts";
import { type Bracket, bracket, readTaskTicks, USER_HZ } from "./helpers/kernel_counters.ts";
import { flushPromises, VirtualClock } from "./helpers/virtual_clock.ts";

const MODERN_STAT =
  "1234 (my (odd) name) R 1 1234 1234 0 -1 4194560 100 0 2 0 360 72 0 0 20 0 3 0 5000 50000000 " +
  "500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 7 0 0 0 0 0 0 0 0 0 0";

Deno.test("parseTaskStat: names with spaces and parentheses, and the fields lepd uses", () => {
  const stat = parseTaskStat(MODERN_STAT)!;
  assert.equal(stat.pid, 1234);
  assert.equal(stat.comm, "my (odd) name");
  assert.equal(stat.state, "R");
  assert.deepEqual([stat.utime, stat.stime, stat.priority, stat.nice], [360, 72, 20, 0]);
  assert.deepEqual([stat.numThreads, stat.startTime, stat.vsizeBytes, stat.rssPages], [
    3,
    5000,
    50000000,
    500,
  ]);
  assert.deepEqual([stat.rtPriority, stat.policy, stat.blkioTicks], [0, 0, 7]);
});

Deno.test("parseTaskStat: old kernels, kernel threads, garbage", () => {
  // A 32-bit ARM kernel of the 3.x era: 44 fields, no delay-accounting column beyond 42.
  const arm = "700 (armapp) S 1 700 700 0 -1 4194560 100 0 2 0 50 0 0 0 20 0 1 0 9000 " +
    "4294963200 1200 4294967295 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0";
  const old = parseTaskStat(arm)!;
  assert.deepEqual([old.vsizeBytes, old.rssPages, old.blkioTicks], [4294963200, 1200, 0]);
  assert.equal(
    parseTaskStat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 5 0 0 20 0 1 0 1 0 0")?.comm,
    "kthreadd",
  );
  for (const bad of ["", "garbage", "12 no parentheses 1 2 3", "x (a) S 1 2"]) {
    assert.equal(parseTaskStat(bad), undefined, bad);
  }
});

Deno.test("parseCmdline, parseStatusUid, printable", () => {
  assert.deepEqual(parseCmdline("/bin/sh\0-c\0echo a b\0"), ["/bin/sh", "-c", "echo a b"]);
  assert.deepEqual(parseCmdline(""), []);
  assert.equal(parseStatusUid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), 0);
  assert.equal(parseStatusUid("Name:\tx\n"), undefined);
  assert.equal(printable("a\nb\tc\x7f"), "a?b?c?");
  assert.equal(
    printable("run\\nightly \\t"),
    "run?nightly \\t",
    "LEPV splits on a literal backslash-n",
  );
});

function stat(fields: Partial<TaskStat>): TaskStat {
  return {
    pid: 1,
    comm: "x",
    state: "S",
    ppid: 0,
    utime: 0,
    stime: 0,
    priority: 20,
    nice: 0,
    numThreads: 1,
    startTime: 0,
    vsizeBytes: 0,
    rssPages: 0,
    rtPriority: 0,
    policy: 0,
    blkioTicks: 0,
    ...fields,
  };
}

Deno.test("ps columns: PRI, NI, USER, %CPU, %MEM, TIME, CMD", () => {
  assert.equal(psPriority(stat({ priority: 20 })), 19);
  assert.equal(psPriority(stat({ priority: 0, nice: -20 })), 39);
  assert.equal(psPriority(stat({ priority: -100, rtPriority: 99, policy: 1 })), 139);
  assert.equal(psNice(stat({ nice: 5, policy: 3 })), "5");
  assert.equal(psNice(stat({ policy: 1 })), "-");
  assert.equal(psUser("root"), "root");
  assert.equal(psUser("averyverylongusername"), "averyve+");
  assert.deepEqual([psCpu(0), psCpu(4.84), psCpu(99.94), psCpu(150.2)], [
    "0.0",
    "4.8",
    "99.9",
    "150",
  ]);
  assert.deepEqual([psMem(0, 1000), psMem(3, 1000), psMem(2000, 1000), psMem(5, 0)], [
    "0.0",
    "0.3",
    "99.9",
    "0.0",
  ]);
  assert.deepEqual([psTime(0), psTime(6100), psTime(100 * 90_061)], [
    "00:00:00",
    "00:01:01",
    "1-01:01:01",
  ]);
  assert.equal(psCommand(stat({}), ["/bin/sh", "-c", "a\nb"]), "/bin/sh -c a b");
  assert.equal(psCommand(stat({}), ["x\ty\x01", "\\n"]), "x?y? ?n");
  assert.equal(psCommand(stat({ comm: "kthreadd" }), []), "[kthreadd]");
  assert.equal(psCommand(stat({ comm: "child", state: "Z" }), []), "[child] <defunct>");
});

Deno.test("cpuPercent: share of one CPU over the interval", () => {
  assert.equal(cpuPercent(stat({ utime: 100 }), stat({ utime: 150 }), 1), 50);
  assert.equal(cpuPercent(stat({ utime: 100 }), stat({ utime: 300, stime: 100 }), 2), 150);
  assert.equal(cpuPercent(undefined, stat({ utime: 30 }), 1), 30, "started during the interval");
  assert.equal(cpuPercent(stat({ utime: 100 }), stat({ utime: 50 }), 1), 0, "never negative");
  assert.equal(cpuPercent(stat({}), stat({ utime: 5 }), 0), 0);
});

Deno.test("top: uptime, TIME+, PR and utmp sessions", () => {
  assert.equal(formatUptime(59), "up 0 min");
  assert.equal(formatUptime(17 * 60 + 5), "up 17 min");
  assert.equal(formatUptime(2 * 3600 + 5 * 60), "up  2:05");
  assert.equal(formatUptime(86_400 + 3 * 60), "up 1 day, 3 min");
  assert.equal(formatUptime(3 * 86_400 + 12 * 3600 + 60), "up 3 days, 12:01");
  assert.deepEqual([topTime(0), topTime(12_345), topTime(738_456)], [
    "0:00.00",
    "2:03.45",
    "123:04.56",
  ]);
  assert.deepEqual([topPriority(stat({ priority: -100 })), topPriority(stat({ priority: -51 }))], [
    "rt",
    "-51",
  ]);
  const utmp = new Uint8Array(384 * 3);
  new DataView(utmp.buffer).setInt16(0, 7, true);
  new DataView(utmp.buffer).setInt16(384, 8, true);
  new DataView(utmp.buffer).setInt16(768, 7, true);
  assert.equal(countUserSessions(utmp), 2);
  assert.equal(countUserSessions(utmp.subarray(0, 100)), 0, "a torn record is not counted");
});

/** Rows of a ps-style table: header tokens, and each row split the way LEPV splits it. */
function lepvTopRows(text: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = text.trim().split("\n");
  const headerIndex = lines.findIndex((line) => /^\W*PID\W+USER\W+/i.test(line));
  assert.ok(headerIndex >= 0, "a PID USER header");
  const header = lines[headerIndex]!.trim().split(/\s+/);
  const rows = lines.slice(headerIndex + 1).map((line) => {
    const tokens = line.trim().split(/\s+/);
    assert.ok(tokens.length >= header.length - 1, `row has a token per column: ${line}`);
    const row: Record<string, string> = {};
    header.forEach((name, index) => {
      row[name] = index === header.length - 1 ? tokens.slice(index).join(" ") : tokens[index]!;
    });
    return row;
  });
  return { header, rows };
}

/** A child that spins one CPU, single-threaded (no V8 helper threads), until killed. */
function spinningChild(): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--single-threaded", "for (;;) {}"],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Slack for the kernel's tick accounting: a reading may lag the CPU time by up to a tick. */
const SLACK_TICKS = 2;

/**
 * The %CPU range the daemon may report for a single-threaded task over an interval of at least
 * `minSeconds` that lay within `counters` (its utime + stime read around the request): its
 * ticks in the interval are at most those of the whole bracket, and at least those minus the
 * time outside the interval (one CPU at most). True under any load.
 */
function cpuRange(counters: Bracket<number>, minSeconds: number): { low: number; high: number } {
  const ticks = (counters.after - counters.before) / USER_HZ;
  const bracketSeconds = (counters.afterMs - counters.beforeMs) / 1000;
  const slack = SLACK_TICKS / USER_HZ;
  return {
    low: Math.max(0, 100 * (1 - (bracketSeconds - ticks + slack) / minSeconds)),
    high: 100 * (ticks + slack) / minSeconds,
  };
}

/** Whether `promise` has settled once the promises queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await flushPromises();
  return done;
}

/** `TIME+` (minutes:seconds.hundredths) in ticks. */
function topTimeTicks(text: string): number {
  const [minutes, seconds] = text.split(":");
  return Math.round((Number(minutes) * 60 + Number(seconds)) * USER_HZ);
}

Deno.test("GetCmdTop and GetCmdTopH over TCP: the client's parsing rules; a busy child's share agrees with its kernel counters", async () => {
  const daemon = await startDaemon();
  const busy = spinningChild();
  const client = await Client.connect(daemon.port);
  const ticks = () => readTaskTicks(busy.pid);
  try {
    // The daemon's first GetCmdTop starts its sampler: both snapshots are taken during this
    // request, a full clock interval (1 s, less a timer's rounding) apart.
    const first = await bracket(ticks, () => client.request({ method: "GetCmdTop" }));
    const top = lepvTopRows(legacyText(first.result));
    assert.deepEqual(top.header, [
      "PID",
      "USER",
      "PRI",
      "NI",
      "VSZ",
      "RSS",
      "S",
      "%CPU",
      "%MEM",
      "TIME",
      "CMD",
    ]);
    const range = cpuRange(first.counters, 0.95);
    const child = top.rows.find((row) => row.PID === String(busy.pid));
    const rows = JSON.stringify(top.rows.slice(0, 3));
    if (child !== undefined) {
      const share = Number(child["%CPU"]);
      assert.ok(
        share >= range.low - 0.05 && share <= range.high + 0.05,
        `busy child at ${share} %CPU; its kernel counters allow ${range.low.toFixed(1)}..${
          range.high.toFixed(1)
        }: ${rows}`,
      );
    } else {
      // Not among the busiest 26: then the kernel says it cannot have been above the last row.
      const last = Number(top.rows.at(-1)!["%CPU"]);
      assert.ok(range.low <= last + 0.05, `child missing though above ${range.low}: ${rows}`);
    }
    const cpu = top.rows.map((row) => Number(row["%CPU"]));
    assert.deepEqual(cpu, [...cpu].sort((a, b) => b - a), "sorted by %CPU, descending");
    for (const row of top.rows) {
      for (const column of ["PID", "PRI", "VSZ", "RSS"]) {
        assert.match(row[column]!, /^\d+$/, column);
      }
      assert.match(row.NI!, /^(-?\d+|-)$/);
      assert.match(row["%MEM"]!, /^\d+\.\d$/);
      assert.match(row.TIME!, /^(\d+-)?\d\d:\d\d:\d\d$/);
    }
    assert.ok(
      top.rows.some((row) => row.PID === String(daemon.process.pid)),
      "the daemon is listed",
    );

    // GetCmdTopH waits for two snapshots with threads, both taken during the request, at
    // least half an interval apart (the sampler skips a tick closer than that).
    const mainThread = () => readTaskTicks(busy.pid, busy.pid);
    const second = await bracket(mainThread, () => client.request({ method: "GetCmdTopH" }));
    const threads = legacyText(second.result);
    assert.match(
      threads,
      /^top - \d\d:\d\d:\d\d up .+, +\d+ users?, +load average: [\d.]+, [\d.]+, [\d.]+\n/,
    );
    assert.match(
      threads,
      /\nThreads: +\d+ total, +\d+ running, +\d+ sleeping, +\d+ stopped, +\d+ zombie\n/,
    );
    const states = /%Cpu\(s\): +(.*)\n/.exec(threads)?.[1]?.split(",").map((part) =>
      Number.parseFloat(part)
    );
    assert.equal(states?.length, 8, "us sy ni id wa hi si st");
    const sum = states!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 100) <= 0.5 || sum === 0, `%Cpu(s) parts sum to ${sum}`);
    const table = lepvTopRows(threads);
    assert.deepEqual(table.header, [
      "PID",
      "USER",
      "PR",
      "NI",
      "VIRT",
      "RES",
      "SHR",
      "S",
      "%CPU",
      "%MEM",
      "TIME+",
      "COMMAND",
    ]);
    const thread = table.rows.find((row) => row.PID === String(busy.pid));
    if (thread !== undefined) {
      // TIME+ is the thread's CPU time at the latest snapshot, taken during the request.
      const time = topTimeTicks(thread["TIME+"]!);
      assert.ok(
        time >= second.counters.before - SLACK_TICKS && time <= second.counters.after + 1,
        `TIME+ ${
          thread["TIME+"]
        } outside the kernel's ${second.counters.before}..${second.counters.after} ticks`,
      );
      const threadRange = cpuRange(second.counters, 0.5 * 0.95);
      const share = Number(thread["%CPU"]);
      assert.ok(
        share >= threadRange.low - 0.05 && share <= Math.min(100, threadRange.high) + 0.05,
        `busy thread at ${share} %CPU, kernel allows ${threadRange.low}..${threadRange.high}`,
      );
    } else {
      const last = Number(table.rows.at(-1)!["%CPU"]);
      const low = cpuRange(second.counters, 0.5 * 0.95).low;
      assert.ok(low <= last + 0.05, `thread missing though above ${low} %CPU`);
    }
  } finally {
    client.close();
    busy.kill("SIGKILL");
    await busy.status;
    assert.equal(await daemon.stop(), 0);
  }
});

Deno.test("task sampling on a virtual clock, live /proc: a busy child's %CPU is its own utime + stime over the interval", async () => {
  const clock = new VirtualClock();
  const fs = new ProcFs({ maxFileBytes: 1 << 20 });
  const sampling = new TaskSampling(fs, { intervalMs: 1000, clock });
  const users = new UserNames(fs);
  const busy = spinningChild();
  const ticks = () => readTaskTicks(busy.pid);
  /** Waits, however long the machine needs, until the child has run `count` more ticks. */
  const run = async (count: number) => {
    const target = ticks() + count;
    while (ticks() < target) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  try {
    // The first snapshot is taken inside the call, the second at the clock's tick: the test
    // reads the child's counters right around each, and sets the interval to exactly 1 s.
    const before0 = ticks();
    const processes = sampling.processes.interval();
    const after0 = ticks();
    await run(10);
    const before1 = ticks();
    await clock.advance(1000);
    const after1 = ticks();
    const interval = await processes;
    assert.equal(interval.seconds, 1);
    const row = psRows(interval, users).find((entry) => entry.pid === busy.pid);
    assert.ok(row !== undefined, "the child is in both snapshots");
    // ticks / 100 per second over 1 s: one tick is 1 %CPU.
    assert.ok(
      row.cpuPercent >= before1 - after0 && row.cpuPercent <= after1 - before0,
      `%CPU ${row.cpuPercent}, kernel ${before1 - after0}..${after1 - before0} ticks in 1 s`,
    );
    assert.ok(before1 - after0 >= 10, "the child ran in between");

    // Threads: asked for now, read from the next tick on; the pair is the next two ticks.
    const threadsInterval = sampling.threads.interval();
    const thread = () => readTaskTicks(busy.pid, busy.pid);
    await run(10);
    const before2 = thread();
    await clock.advance(1000);
    const after2 = thread();
    await run(10);
    const before3 = thread();
    await clock.advance(1000);
    const after3 = thread();
    const threadSnapshots = await threadsInterval;
    assert.equal(threadSnapshots.seconds, 1);
    const threadRow = topRows(threadSnapshots, { users }).find((entry) =>
      entry.stat.pid === busy.pid
    );
    assert.ok(threadRow !== undefined, "the child's main thread is in both snapshots");
    assert.ok(
      threadRow.cpuPercent >= Math.min(100, before3 - after2) &&
        threadRow.cpuPercent <= after3 - before2,
      `%CPU ${threadRow.cpuPercent}, kernel ${before3 - after2}..${after3 - before2} ticks`,
    );
  } finally {
    busy.kill("SIGKILL");
    await busy.status;
    sampling.stop();
  }
});

Deno.test("task sampling: one pass serves processes and, once asked for, threads", async () => {
  const root = new URL("./fixtures/synthetic-processes", import.meta.url).pathname;
  const clock = new VirtualClock();
  const sampling = new TaskSampling(new ProcFs({ root, maxFileBytes: 1 << 20 }), {
    intervalMs: 1000,
    clock,
  });
  try {
    const processesRequest = sampling.processes.interval();
    await clock.advance(1000);
    const processes = await processesRequest;
    assert.deepEqual([...processes.latest.values()].map((entry) => entry.stat.pid), [
      1,
      2,
      100,
      200,
      300,
      500,
      600,
      700,
    ]);
    const threadsRequest = sampling.threads.interval();
    // Snapshots with threads start at the next tick; the pair is complete one tick later.
    await clock.advance(1000);
    assert.equal(await settled(threadsRequest), false, "one snapshot with threads is not a pair");
    await clock.advance(1000);
    const threads = await threadsRequest;
    assert.deepEqual(
      [...threads.latest.values()].map((entry) => `${entry.tgid}/${entry.stat.pid}`),
      [
        "1/1",
        "2/2",
        "100/100",
        "200/200",
        "300/300",
        "500/500",
        "600/600",
        "600/601",
        "600/602",
        "700/700",
      ],
    );
    assert.equal(threads.previous.size, threads.latest.size, "both snapshots hold the threads");
    const again = await sampling.processes.interval();
    assert.equal(again.latest.size, 8);
  } finally {
    sampling.stop();
  }
});
