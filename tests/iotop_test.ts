/**
 * Tests of `GetCmdIotop`: rate maths and humanising, I/O priority, sorting, the columns LEPV
 * reads (docs/protocol.md 4.12, checked with LEPV's own regular expressions), golden texts of the
 * fixture trees, failures, and a live run that watches a child process write to disk.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import {
  formatIotop,
  formatRate,
  ioPriority,
  IOTOP_HEADER,
  iotopCollector,
  type IotopRow,
  iotopRows,
  iotopTotals,
} from "../methods/iotop.ts";
import { ProcFs } from "../proc/fs.ts";
import { UserNames } from "../methods/processes.ts";
import { Policy, type TaskStat } from "../proc/pid.ts";
import type { Interval } from "../sampling/sampler.ts";
import {
  type Snapshot,
  taskKey,
  TaskSampling,
  type ThreadEntry,
} from "../sampling/task_snapshots.ts";
import { untilGrown } from "./helpers/kernel_counters.ts";
import { VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

// ---------------------------------------------------------------------------------------------
// LEPV's get_io_top (docs/protocol.md 4.12), rewritten as closely as its description allows.

const LEPV_HEADER = /^\W*TID\W+PRIO\W+USER\W+DISK READ\W+DISK WRITE\W+SWAPIN\W+IO\W+COMMAND\W*/i;
const LEPV_RATE = /\s*\d+\.\d{2}\s*[GMKB|]\/s\s+/g;
const LEPV_PERCENT = /\s*\d+\.\d{2}\s*%\s+/g;

interface LepvRow {
  tid: string;
  prio: string;
  user: string;
  read: string;
  write: string;
  swapin: string;
  io: string;
  command: string;
}

/**
 * What LEPV makes of a result: strip, split on newlines and on literal `\n`, skip through the
 * header (an exception when there is none), then every row that has two rates and two
 * percentages. Also returns how many non-blank rows it skipped.
 */
function lepvParse(result: string): { rows: LepvRow[]; skipped: number } {
  const lines = result.trim().split(/\\n|\n/);
  assert.ok(lines.length >= 2, "LEPV needs at least two lines");
  let index = 0;
  while (true) {
    const line = lines[index++];
    if (line === undefined) throw new Error("LEPV ran past the end looking for the header");
    if (LEPV_HEADER.test(line.trim())) break;
  }
  const rows: LepvRow[] = [];
  let skipped = 0;
  for (const line of lines.slice(index)) {
    if (line.trim() === "") continue;
    const rates = [...line.matchAll(LEPV_RATE)].map((match) => match[0].trim());
    const percents = [...line.matchAll(LEPV_PERCENT)].map((match) => match[0].trim());
    const tokens = line.trim().split(/\s+/);
    const [read, write] = rates;
    const [swapin, io] = percents;
    const [tid, prio, user] = tokens;
    if (
      read === undefined || write === undefined || swapin === undefined || io === undefined ||
      tid === undefined || prio === undefined || user === undefined
    ) {
      skipped++;
      continue;
    }
    rows.push({
      tid,
      prio,
      user,
      read,
      write,
      swapin,
      io,
      command: line.slice(line.lastIndexOf("%") + 1),
    });
  }
  return { rows, skipped };
}

// ---------------------------------------------------------------------------------------------
// Builders of snapshots.

function stat(pid: number, fields: Partial<TaskStat> = {}): TaskStat {
  return {
    pid,
    comm: `task${pid}`,
    state: "S",
    ppid: 1,
    utime: 0,
    stime: 0,
    priority: 20,
    nice: 0,
    numThreads: 1,
    startTime: 5000 + pid,
    vsizeBytes: 0,
    rssPages: 0,
    rtPriority: 0,
    policy: Policy.OTHER,
    blkioTicks: 0,
    ...fields,
  };
}

function thread(
  pid: number,
  values: {
    read?: number | undefined;
    write?: number | undefined;
    blkio?: number;
    uid?: number | undefined;
    args?: string[];
    stat?: Partial<TaskStat>;
  } = {},
): ThreadEntry {
  return {
    stat: stat(pid, { blkioTicks: values.blkio ?? 0, ...values.stat }),
    tgid: pid,
    uid: "uid" in values ? values.uid : 0,
    args: values.args ?? [`/bin/prog${pid}`],
    readBytes: "read" in values ? values.read : 0,
    writeBytes: "write" in values ? values.write : 0,
  };
}

function snapshot(...entries: ThreadEntry[]): Snapshot<ThreadEntry> {
  return new Map(entries.map((entry) => [taskKey(entry.stat), entry]));
}

function interval(
  previous: ThreadEntry[],
  latest: ThreadEntry[],
  seconds = 1,
): Interval<Snapshot<ThreadEntry>> {
  return { previous: snapshot(...previous), latest: snapshot(...latest), seconds, takenAt: 0 };
}

const USERS = {
  nameOf: (uid: number): string | undefined =>
    new Map([[0, "root"], [1000, "alice"], [1001, "averyverylongusername"], [1002, "two words"]])
      .get(uid),
};

function rowOf(rows: IotopRow[], tid: number): IotopRow {
  const row = rows.find((candidate) => candidate.tid === tid);
  assert.ok(row !== undefined, `a row for tid ${tid}`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Pure tests.

Deno.test("formatRate steps B, K, M, G at values above 10000 and never prints T", () => {
  const cases: [number, string][] = [
    [0, "   0.00 B/s"],
    [1.005, "   1.00 B/s"],
    [512, " 512.00 B/s"],
    [10000, "10000.00 B/s"],
    [10001, "  10.00 K/s"],
    [12_000, "  12.00 K/s"],
    [10_000_000, "10000.00 K/s"],
    [10_000_001, "  10.00 M/s"],
    [123_456_789, " 123.46 M/s"],
    [10e9, "10000.00 M/s"],
    [10e9 + 1000, "  10.00 G/s"],
    [10e12, "10000.00 G/s"],
    [10e12 + 1e6, "10000.00 G/s"],
    [123e15, "123000000.00 G/s"],
  ];
  for (const [bytesPerSecond, expected] of cases) {
    assert.equal(formatRate(bytesPerSecond), expected, `${bytesPerSecond} B/s`);
    const line = `${expected} `;
    assert.equal([...line.matchAll(LEPV_RATE)].length, 1, `LEPV reads ${expected}`);
  }
});

Deno.test("formatRate prints 0.00 B/s for negative, NaN and infinite rates", () => {
  for (const value of [-1, -20000, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(formatRate(value), "   0.00 B/s", String(value));
  }
});

Deno.test("ioPriority derives class from the policy and level from nice", () => {
  const cases: [number, number, string][] = [
    [Policy.OTHER, 0, "be/4"],
    [Policy.OTHER, -20, "be/0"],
    [Policy.OTHER, -16, "be/0"],
    [Policy.OTHER, -15, "be/1"],
    [Policy.OTHER, 19, "be/7"],
    [Policy.BATCH, 5, "be/5"],
    [Policy.FIFO, 0, "rt/4"],
    [Policy.RR, -20, "rt/0"],
    [Policy.DEADLINE, 0, "rt/4"],
    [Policy.IDLE, 0, "id/4"],
    [Policy.IDLE, 19, "id/7"],
    [Policy.ISO, 0, "be/4"],
    [Policy.OTHER, 40, "be/7"],
    [Policy.OTHER, -40, "be/0"],
  ];
  for (const [policy, nice, expected] of cases) {
    assert.equal(ioPriority({ policy, nice }), expected, `policy ${policy}, nice ${nice}`);
  }
});

Deno.test("iotopRows divides byte increases by the interval", () => {
  const rows = iotopRows(
    interval(
      [thread(10, { read: 1000, write: 0 }), thread(11, { read: 0, write: 5_000_000 })],
      [thread(10, { read: 5000, write: 300 }), thread(11, { read: 0, write: 25_000_000 })],
      2,
    ),
    USERS,
  );
  assert.equal(rowOf(rows, 10).readBytesPerSecond, 2000);
  assert.equal(rowOf(rows, 10).writeBytesPerSecond, 150);
  assert.equal(rowOf(rows, 11).readBytesPerSecond, 0);
  assert.equal(rowOf(rows, 11).writeBytesPerSecond, 10_000_000);
  assert.deepEqual(iotopTotals(rows), {
    readBytesPerSecond: 2000,
    writeBytesPerSecond: 10_000_150,
  });
});

Deno.test("iotopRows counts a new thread from zero and an unknown counter as no increase", () => {
  const rows = iotopRows(
    interval(
      [
        thread(20, { read: 100, write: 100 }),
        thread(21, { read: undefined, write: undefined }),
        thread(22, { read: 100, write: 100 }),
      ],
      [
        // 20 decreased (cannot happen for one task; must not give a negative rate).
        thread(20, { read: 50, write: 0 }),
        // 21 was unreadable before: its lifetime bytes are not a rate.
        thread(21, { read: 1_000_000, write: 1_000_000 }),
        // 22 became unreadable.
        thread(22, { read: undefined, write: undefined }),
        // 23 started during the interval.
        thread(23, { read: 400, write: 800, blkio: 25 }),
      ],
      0.5,
    ),
    USERS,
  );
  for (const tid of [20, 21, 22]) {
    assert.equal(rowOf(rows, tid).readBytesPerSecond, 0, `read of ${tid}`);
    assert.equal(rowOf(rows, tid).writeBytesPerSecond, 0, `write of ${tid}`);
  }
  assert.equal(rowOf(rows, 23).readBytesPerSecond, 800);
  assert.equal(rowOf(rows, 23).writeBytesPerSecond, 1600);
  assert.equal(rowOf(rows, 23).ioPercent, 50);
});

Deno.test("iotopRows tells a reused tid from the same thread by its start time", () => {
  const old = thread(30, { read: 9_000_000, stat: { startTime: 100 } });
  const reused = thread(30, { read: 1000, stat: { startTime: 200 } });
  const rows = iotopRows(interval([old], [reused]), USERS);
  assert.equal(rows.length, 1);
  assert.equal(rowOf(rows, 30).readBytesPerSecond, 1000);
});

Deno.test("iotopRows computes IO% from block-I/O delay ticks, capped at 100", () => {
  const rows = iotopRows(
    interval(
      [thread(40, { blkio: 40 }), thread(41, { blkio: 0 }), thread(42, { blkio: 10 })],
      [thread(40, { blkio: 90 }), thread(41, { blkio: 500 }), thread(42, { blkio: 5 })],
      2,
    ),
    USERS,
  );
  assert.equal(rowOf(rows, 40).ioPercent, 25);
  assert.equal(rowOf(rows, 41).ioPercent, 100);
  assert.equal(rowOf(rows, 42).ioPercent, 0);
  for (const row of rows) assert.equal(row.swapinPercent, 0);
});

Deno.test("iotopRows gives zero rates for an interval of zero seconds", () => {
  const rows = iotopRows(
    interval([thread(50, { read: 0, blkio: 0 })], [thread(50, { read: 1000, blkio: 9 })], 0),
    USERS,
  );
  assert.equal(rowOf(rows, 50).readBytesPerSecond, 0);
  assert.equal(rowOf(rows, 50).ioPercent, 0);
  assert.ok(!formatIotop(rows, iotopTotals(rows)).includes("NaN"));
});

Deno.test("iotopRows sorts by IO%, then read plus write rate, then tid", () => {
  const before = [60, 61, 62, 63, 64, 65].map((tid) => thread(tid));
  const rows = iotopRows(
    interval(before, [
      thread(60, { read: 100 }),
      thread(61),
      thread(62, { blkio: 10 }),
      thread(63, { read: 50, write: 60 }),
      thread(64, { blkio: 20 }),
      thread(65),
    ]),
    USERS,
  );
  assert.deepEqual(rows.map((row) => row.tid), [64, 62, 63, 60, 61, 65]);
});

Deno.test("iotopRows makes USER one token of at most 10 characters", () => {
  const rows = iotopRows(
    interval([], [
      thread(70, { uid: 0 }),
      thread(71, { uid: 4242 }),
      thread(72, { uid: undefined }),
      thread(73, { uid: 1001 }),
      thread(74, { uid: 1002 }),
    ]),
    USERS,
  );
  assert.deepEqual(rows.map((row) => row.user), [
    "root",
    "4242",
    "UNKNOWN",
    "averyveryl",
    "two?words",
  ]);
  const { rows: parsed } = lepvParse(formatIotop(rows, iotopTotals(rows)));
  assert.deepEqual(parsed.map((row) => row.user), rows.map((row) => row.user));
});

Deno.test("iotopRows shows kernel threads as [name] with the whole name", () => {
  const rows = iotopRows(
    interval([], [
      thread(80, { args: [], stat: { comm: "kthreadd" } }),
      thread(81, { args: [], stat: { comm: "kworker/R-kvfree_rcu_reclaim" } }),
      thread(82, { args: ["/usr/bin/worker", "--threads", "3"], stat: { comm: "worker-io" } }),
    ]),
    USERS,
  );
  assert.deepEqual(rows.map((row) => row.command), [
    "[kthreadd]",
    "[kworker/R-kvfree_rcu_reclaim]",
    "/usr/bin/worker --threads 3",
  ]);
});

Deno.test("iotopRows keeps every command on one line and without %", () => {
  const rows = iotopRows(
    interval([], [
      thread(90, { args: ["sh", "-c", "echo a\nb\r\tc\x7f"] }),
      thread(91, { args: ["date", "+%s 100.00 % "] }),
      thread(92, { args: [], stat: { comm: "bad\nname%" } }),
      thread(93, { args: ["printf", "a\\nb", "C:\\dir"] }),
    ]),
    USERS,
  );
  assert.deepEqual(rows.map((row) => row.command), [
    "sh -c echo a?b??c?",
    "date +?s 100.00 ? ",
    "[bad?name?]",
    "printf a?nb C:\\dir",
  ]);
  const text = formatIotop(rows, iotopTotals(rows));
  assert.equal(text.split("\n").length, 2 + rows.length + 1);
  const { rows: parsed, skipped } = lepvParse(text);
  assert.equal(skipped, 0);
  assert.deepEqual(parsed.map((row) => row.command), rows.map((row) => ` ${row.command}`));
});

Deno.test("formatIotop writes the totals line, the exact header and iotop's row layout", () => {
  const rows: IotopRow[] = [
    {
      tid: 812,
      prio: "be/4",
      user: "root",
      readBytesPerSecond: 0,
      writeBytesPerSecond: 12_000,
      swapinPercent: 0,
      ioPercent: 3.52,
      command: "/usr/sbin/rsyslogd",
    },
    {
      tid: 123456,
      prio: "rt/0",
      user: "averyveryl",
      readBytesPerSecond: 25e9,
      writeBytesPerSecond: 0,
      swapinPercent: 0,
      ioPercent: 100,
      command: "[kthread]",
    },
  ];
  assert.equal(
    formatIotop(rows, iotopTotals(rows)),
    "Total DISK READ:   25.00 G/s | Total DISK WRITE:   12.00 K/s\n" +
      "  TID PRIO     USER   DISK READ  DISK WRITE SWAPIN     IO COMMAND\n" +
      "  812 be/4 root          0.00 B/s   12.00 K/s 0.00 % 3.52 % /usr/sbin/rsyslogd\n" +
      "123456 rt/0 averyveryl   25.00 G/s    0.00 B/s 0.00 % 100.00 % [kthread]\n",
  );
  assert.equal(IOTOP_HEADER, "  TID PRIO     USER   DISK READ  DISK WRITE SWAPIN     IO COMMAND");
});

Deno.test("LEPV reads every row's numbers and columns back", () => {
  const rows = iotopRows(
    interval(
      [thread(100, { read: 0, write: 0, blkio: 0 }), thread(101, { uid: 1000 })],
      [
        thread(100, { read: 20_480_000, write: 4096, blkio: 33 }),
        thread(101, { uid: 1000, read: 1, write: 99e9, stat: { policy: Policy.IDLE } }),
        thread(102, { args: [], stat: { comm: "kswapd0" }, write: 15_000 }),
      ],
    ),
    USERS,
  );
  const text = formatIotop(rows, iotopTotals(rows));
  const { rows: parsed, skipped } = lepvParse(text);
  assert.equal(skipped, 0);
  assert.deepEqual(parsed, [
    {
      tid: "100",
      prio: "be/4",
      user: "root",
      read: "20.48 M/s",
      write: "4096.00 B/s",
      swapin: "0.00 %",
      io: "33.00 %",
      command: " /bin/prog100",
    },
    {
      tid: "101",
      prio: "id/4",
      user: "alice",
      read: "1.00 B/s",
      write: "99.00 G/s",
      swapin: "0.00 %",
      io: "0.00 %",
      command: " /bin/prog101",
    },
    {
      tid: "102",
      prio: "be/4",
      user: "root",
      read: "0.00 B/s",
      write: "15.00 K/s",
      swapin: "0.00 %",
      io: "0.00 %",
      command: " [kswapd0]",
    },
  ]);
  assert.match(text.split("\n")[0]!, /^Total DISK READ:\s+20\.48 M\/s \| Total DISK WRITE:/);
});

// ---------------------------------------------------------------------------------------------
// Collector over fixture trees.

/** Runs the collector once over a tree on a virtual clock; the sampling is stopped even when it throws. */
async function collectTree(root: string): Promise<string> {
  const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const sampling = new TaskSampling(fs, { intervalMs: 1000, clock });
  try {
    const collector = iotopCollector({ sampling, users: new UserNames(fs) });
    const text = collector.collect({ fs, methods: ["GetCmdIotop"] });
    text.catch(() => {}); // awaited below
    await clock.advance(1000);
    return await text;
  } finally {
    sampling.stop();
  }
}

for (const tree of ["synthetic-processes", "x86_64-vm"]) {
  Deno.test(`GetCmdIotop of ${tree} matches expected/GetCmdIotop.txt`, async () => {
    const root = fileURLToPath(new URL(tree, FIXTURES));
    const expected = await Deno.readTextFile(`${root}/expected/GetCmdIotop.txt`);
    const text = await collectTree(root);
    assert.equal(text, expected);
    const { rows, skipped } = lepvParse(text);
    assert.equal(skipped, 0, "LEPV reads every row");
    assert.equal(rows.length, text.trimEnd().split("\n").length - 2);
  });
}

Deno.test("GetCmdIotop of synthetic-processes lists every thread and skips a vanished pid", async () => {
  const text = await collectTree(fileURLToPath(new URL("synthetic-processes", FIXTURES)));
  const { rows } = lepvParse(text);
  assert.deepEqual(
    rows.map((row) => row.tid),
    ["1", "2", "100", "200", "300", "500", "600", "601", "602", "700"],
  );
  assert.deepEqual(
    rows.map(({ tid, prio, user }) => `${tid} ${prio} ${user}`).filter((row) =>
      /^(200|300|500|601) /.test(row)
    ),
    ["200 be/4 averyveryl", "300 be/4 4242", "500 rt/4 root", "601 be/5 alice"],
  );
});

Deno.test("GetCmdIotop fails clearly for a /proc without processes or without I/O counters", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-iotop-" });
  try {
    await Deno.mkdir(`${root}/proc`);
    await assert.rejects(
      collectTree(root),
      (error) => error instanceof MethodFailure && /holds no readable process/.test(error.message),
    );
    const line = "7 (sleeper) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 50 0 0 0 0 0 0 0 0 0 0 0 0 " +
      "0 0 0 17 0 0 0 0 0 0\n";
    await Deno.mkdir(`${root}/proc/7/task/7`, { recursive: true });
    await Deno.writeTextFile(`${root}/proc/7/stat`, line);
    await Deno.writeTextFile(`${root}/proc/7/task/7/stat`, line);
    await assert.rejects(
      collectTree(root),
      (error) =>
        error instanceof MethodFailure &&
        error.message ===
          `Cannot read "/proc/<pid>/task/<tid>/io" of any of 1 threads: this kernel has no ` +
            "per-task I/O accounting (CONFIG_TASK_IO_ACCOUNTING)",
    );
    await Deno.writeTextFile(`${root}/proc/7/task/7/io`, "read_bytes: 0\nwrite_bytes: 0\n");
    assert.match(await collectTree(root), /\n {4}7 be\/4 UNKNOWN {7}0\.00 B\/s/);
    await Deno.remove(`${root}/proc`, { recursive: true });
    await assert.rejects(
      collectTree(root),
      (error) => error instanceof MethodFailure && error.message.includes('"/proc"'),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Live /proc.

/** File-system type of the mount holding `path`, from /proc/self/mounts. */
function fileSystemOf(path: string): string {
  let best = { mountPoint: "", type: "" };
  for (const line of Deno.readTextFileSync("/proc/self/mounts").split("\n")) {
    const [, mountPoint, type] = line.split(" ");
    if (mountPoint === undefined || type === undefined) continue;
    const within = path === mountPoint || path.startsWith(mountPoint.replace(/\/?$/, "/"));
    if (within && mountPoint.length >= best.mountPoint.length) best = { mountPoint, type };
  }
  return best.type;
}

/**
 * A fresh directory on a file system whose writes reach a block device: `write_bytes` stays 0
 * for tmpfs and ramfs, so the system temp dir is used only when it is not one of those.
 */
async function blockBackedTempDir(): Promise<string> {
  const temp = await Deno.makeTempDir({ prefix: "lepd-iotop-live-" });
  if (!["tmpfs", "ramfs"].includes(fileSystemOf(await Deno.realPath(temp)))) return temp;
  await Deno.remove(temp);
  return await Deno.makeTempDir({
    dir: fileURLToPath(new URL("./", import.meta.url)),
    prefix: ".lepd-iotop-live-",
  });
}

/**
 * Writes 1 MiB and syncs it, over and over (within a 32 MiB file) on the main thread, so the
 * bytes are the main thread's (tid = pid). Ends by itself after 20 s should the test die.
 */
const WRITER = `
const file = Deno.openSync(Deno.args[0], { write: true, create: true, truncate: true });
const chunk = new Uint8Array(1 << 20).fill(0x5a);
const end = Date.now() + 20000;
let offset = 0;
while (Date.now() < end) {
  if (offset >= 32 << 20) { file.seekSync(0, Deno.SeekMode.Start); offset = 0; }
  let done = 0;
  while (done < chunk.length) done += file.writeSync(chunk.subarray(done));
  file.syncDataSync();
  offset += done;
}
`;

/** write_bytes of one thread (/proc/PID/task/TID/io), now. */
function writeBytes(pid: number): number {
  const io = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/io`);
  return Number(/^write_bytes: (\d+)$/m.exec(io)?.[1]);
}

/** Bytes per second of an iotop rate (`12.34 K/s`), and half its last digit's worth. */
function rateBytes(text: string): { value: number; rounding: number } {
  const match = /^\s*([\d.]+) ([BKMG])\/s$/.exec(text);
  assert.ok(match !== null, `an iotop rate: ${text}`);
  const scale = 1000 ** "BKMG".indexOf(match[2]!);
  return { value: Number(match[1]) * scale, rounding: 0.005 * scale };
}

Deno.test("GetCmdIotop: a live writer's DISK WRITE is its own write_bytes over the interval", async () => {
  const dir = await blockBackedTempDir();
  const path = `${dir}/written.bin`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", WRITER, path],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const fs = new ProcFs({ maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const sampling = new TaskSampling(fs, { intervalMs: 1000, clock });
  try {
    // However long a loaded machine takes to start it, but not forever.
    const started = performance.now();
    while (((await Deno.stat(path).catch(() => undefined))?.size ?? 0) < 1 << 20) {
      assert.ok(performance.now() - started < 120_000, "the writer started");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const users = new UserNames(fs);
    const collector = iotopCollector({ sampling, users });
    const uid = Deno.uid() ?? 0;
    const written = () => writeBytes(child.pid);
    // The first snapshot is taken inside the call, the second at the clock's tick, exactly one
    // second later: the test reads the writer's counter around each.
    const before0 = written();
    const pending = collector.collect({ fs, methods: ["GetCmdIotop"] });
    const after0 = written();
    await untilGrown(written, 1 << 20);
    const before1 = written();
    await clock.advance(1000);
    const after1 = written();
    const text = await pending;
    const { rows, skipped } = lepvParse(text);
    assert.equal(skipped, 0, "LEPV reads every live row");
    assert.ok(rows.length > 10, "a live system has many threads");
    const row = rows.find((candidate) => candidate.tid === String(child.pid));
    assert.ok(row !== undefined, `a row for the writer (pid ${child.pid})`);
    assert.equal(row.user, (users.nameOf(uid) ?? String(uid)).slice(0, 10));
    assert.match(row.command, /eval/);
    const { value, rounding } = rateBytes(row.write);
    const [low, high] = [before1 - after0, after1 - before0];
    assert.ok(
      value >= low - rounding && value <= high + rounding,
      `DISK WRITE ${row.write}, kernel ${low}..${high} bytes in the second`,
    );
    assert.ok(low >= 1 << 20, "the mebibyte the test waited for is in the interval");
    const total = rateBytes(/Total DISK WRITE: +(.+?\/s)/.exec(text.split("\n")[0]!)![1]!);
    assert.ok(total.value + total.rounding >= value - rounding, "the total includes the writer");
  } finally {
    sampling.stop();
    try {
      child.kill("SIGKILL");
    } catch {
      // It has already ended.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
