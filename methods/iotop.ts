/**
 * `GetCmdIotop`: every thread with its disk read and write rates over the sampler's latest
 * interval, in the batch layout of the C port of iotop the original linked in
 * (docs/protocol.md 3.10), shaped so that LEPV's `get_io_top` reads every row (docs/protocol.md 4.12).
 *
 * The original asked taskstats over generic netlink, which needs root and crashed the daemon on
 * new kernels. Here the same numbers come from files, as docs/protocol.md 3.10 suggests:
 *
 * - `DISK READ` / `DISK WRITE`: `read_bytes` and `write_bytes` of
 *   `/proc/<pid>/task/<tid>/io` (bytes the thread caused to be fetched from or sent to the
 *   storage layer, CONFIG_TASK_IO_ACCOUNTING). Another user's file needs CAP_SYS_PTRACE; a
 *   thread whose counters cannot be read shows `0.00 B/s`.
 * - `IO`: field 42 of `/proc/<pid>/task/<tid>/stat` (`delayacct_blkio_ticks`, time spent
 *   waiting for block I/O in clock ticks). It stays 0 unless delay accounting is on
 *   (`delayacct` boot option or `sysctl kernel.task_delayacct=1` since Linux 5.14), so `IO` is
 *   then `0.00 %` for every thread.
 * - `SWAPIN`: always `0.00 %`; swap-in delay exists only in taskstats.
 * - `PRIO`: the thread's I/O priority from the `ioprio_get` system call, which the main isolate
 *   calls through libc's `syscall` (Deno FFI), as iotop does: `ionice -c3` shows `id/…`,
 *   `-c2 -n7` `be/7`, `-c1 -n2` `rt/2`. A thread that never set one (class none), and every
 *   thread when the call is unavailable (no FFI, no glibc, a captured tree under `--root`) or
 *   fails (the thread exited), shows the priority derived from its policy and nice value as the
 *   kernel derives it (see `ioPriority`).
 *
 * Deliberate differences from the original: the rows are not cut at 49 (every thread is
 * listed, as the totals cover every thread); kernel thread names keep their last letter;
 * `T/s` is never printed because LEPV does not recognise it.
 *
 * @module
 */

import { counterDelta } from "../proc/counter.ts";
import { MethodFailure } from "../failure.ts";
import { libc } from "../libc.ts";
import { Policy, type TaskStat, USER_HZ } from "../proc/pid.ts";
import { printable, type UserNames } from "./processes.ts";
import { type Collector, INTERVAL, type Schema } from "./collector.ts";
import type { ProcFs } from "../proc/fs.ts";
import type { Interval } from "../sampling/sampler.ts";
import type { Snapshot, TaskSampling, ThreadEntry } from "../sampling/task_snapshots.ts";

/** The column header LEPV looks for before the first row; it must stay exactly this. */
export const IOTOP_HEADER = "  TID PRIO     USER   DISK READ  DISK WRITE SWAPIN     IO COMMAND";

/** Rate units in the order iotop steps through them; LEPV knows no `T/s`, so `G/s` is last. */
const RATE_UNITS = ["B", "K", "M", "G"] as const;

/** One thread row before formatting. */
export interface IotopRow {
  tid: number;
  /** I/O priority `class/level`: `be/4`, `rt/0`, `id/7`. */
  prio: string;
  /** One whitespace-free token of at most 10 characters. */
  user: string;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  /** Always 0: the swap-in delay is known only to taskstats. */
  swapinPercent: number;
  /** Share of the interval the thread waited for block I/O, 0 to 100. */
  ioPercent: number;
  /** One line without `%`, ready to print. */
  command: string;
}

/** Sums over every thread, for the first line. */
export interface IotopTotals {
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
}

/**
 * A rate as iotop prints it, `%7.2f %-3.3s`: bytes per second divided by 1000 while it exceeds
 * 10000, stepping `B/s → K/s → M/s → G/s`, and never beyond `G/s` (`12345.67 G/s` rather than
 * a `T/s` LEPV would skip).
 */
export function formatRate(bytesPerSecond: number): string {
  let value = Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? bytesPerSecond : 0;
  let unit = 0;
  while (value > 10000 && unit < RATE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(2).padStart(7)} ${RATE_UNITS[unit]}/s`;
}

/**
 * `PRIO`: the I/O priority the kernel gives a task without an explicit one
 * (`task_nice_ioclass` and `task_nice_ioprio`): class `rt` for SCHED_FIFO, SCHED_RR and
 * SCHED_DEADLINE, `id` for SCHED_IDLE, `be` otherwise; level (nice + 20) / 5, 0 to 7.
 * A task that did set its I/O priority (`ionice`) is shown with the derived one.
 */
export function ioPriority(stat: Pick<TaskStat, "policy" | "nice">): string {
  const level = Math.min(7, Math.max(0, Math.trunc((stat.nice + 20) / 5)));
  switch (stat.policy) {
    case Policy.FIFO:
    case Policy.RR:
    case Policy.DEADLINE:
      return `rt/${level}`;
    case Policy.IDLE:
      return `id/${level}`;
    default:
      return `be/${level}`;
  }
}

/** The I/O scheduling classes by number (`IOPRIO_CLASS_*`), as iotop names them. */
const IOPRIO_CLASSES = ["", "rt", "be", "id"] as const;

/**
 * `PRIO` from an `ioprio_get` value (`class << 13 | data`): `rt/2`, `be/7`, `id/7`; the derived
 * priority ({@link ioPriority}) for class none (0), for an unknown value and when the value
 * could not be read.
 */
export function ioPriorityOf(
  ioprio: number | undefined,
  stat: Pick<TaskStat, "policy" | "nice">,
): string {
  if (ioprio === undefined || ioprio < 0) return ioPriority(stat);
  const ioClass = ioprio >> 13;
  const name = IOPRIO_CLASSES[ioClass];
  if (name === undefined || name === "") return ioPriority(stat);
  return `${name}/${ioprio & 0xff}`;
}

/** Reads a thread's I/O priority (`ioprio_get`); undefined when it cannot. */
export type IoprioReader = (tid: number) => number | undefined;

/** `ioprio_get` on the architectures Deno runs on (arch/x86/entry/syscalls, asm-generic). */
const IOPRIO_GET: Partial<Record<typeof Deno.build.arch, bigint>> = {
  x86_64: 252n,
  aarch64: 31n,
};
const IOPRIO_WHO_PROCESS = 1n;

let liveReader: IoprioReader | null | undefined;

/**
 * `ioprio_get(IOPRIO_WHO_PROCESS, tid)` through libc's `syscall`, opened once; null where FFI
 * or glibc is unavailable (the caller then derives the priority).
 */
export function liveIoprioReader(): IoprioReader | null {
  if (liveReader !== undefined) return liveReader;
  const number = IOPRIO_GET[Deno.build.arch];
  const functions = libc();
  liveReader = number === undefined || functions === null ? null : (tid) => {
    const value = Number(functions.syscall(number, IOPRIO_WHO_PROCESS, BigInt(tid)));
    return value >= 0 ? value : undefined;
  };
  return liveReader;
}

/**
 * Text for a column LEPV reads by position or after the last `%` of the row: control
 * characters and a backslash before `n` (see `printable`), and `%`, since LEPV takes COMMAND to
 * start after the row's last `%`, become `?`.
 */
function rowSafe(text: string): string {
  return printable(text).replaceAll("%", "?");
}

/** `USER`: the name cut to 10 characters, the uid when unnamed, `UNKNOWN` when unreadable. */
function userColumn(users: Pick<UserNames, "nameOf">, uid: number | undefined): string {
  if (uid === undefined) return "UNKNOWN";
  const name = users.nameOf(uid) ?? String(uid);
  // LEPV splits the row on whitespace and takes the third token as the user.
  return Array.from(rowSafe(name).replace(/\s/g, "?")).slice(0, 10).join("");
}

/** `COMMAND`: the process's command line, or `[name]` of the thread for kernel threads. */
function commandColumn(entry: ThreadEntry): string {
  const command = entry.args.length > 0 ? entry.args.join(" ") : `[${entry.stat.comm}]`;
  return rowSafe(command);
}

/** Increase of a task's 64-bit counter (bytes, delay ticks); unknown ones count as none. */
function increase(before: number | undefined, after: number | undefined): number {
  return counterDelta(before, after, 64);
}

/**
 * One row per thread of the latest snapshot, with its rates over the interval, sorted by IO%
 * descending, then by read plus write rate descending, then by tid.
 *
 * A thread missing from the previous snapshot started during the interval, and the kernel
 * starts a new task's counters at 0, so all its bytes and delay belong to the interval. A
 * thread whose `io` was unreadable in either snapshot gets rate 0 rather than a guess.
 * IO% is capped at 100: a thread cannot wait longer than the interval, and a larger value
 * only means the two snapshots were read a little apart from the times they were taken.
 */
export function iotopRows(
  interval: Interval<Snapshot<ThreadEntry>>,
  users: Pick<UserNames, "nameOf">,
  ioprio?: IoprioReader,
): IotopRow[] {
  const { seconds } = interval;
  const rows: IotopRow[] = [];
  for (const [key, entry] of interval.latest) {
    const previous = interval.previous.get(key);
    const readBytes = previous === undefined
      ? increase(0, entry.readBytes)
      : increase(previous.readBytes, entry.readBytes);
    const writeBytes = previous === undefined
      ? increase(0, entry.writeBytes)
      : increase(previous.writeBytes, entry.writeBytes);
    const blkioTicks = increase(previous?.stat.blkioTicks ?? 0, entry.stat.blkioTicks);
    rows.push({
      tid: entry.stat.pid,
      prio: ioPriorityOf(ioprio?.(entry.stat.pid), entry.stat),
      user: userColumn(users, entry.uid),
      readBytesPerSecond: seconds > 0 ? readBytes / seconds : 0,
      writeBytesPerSecond: seconds > 0 ? writeBytes / seconds : 0,
      swapinPercent: 0,
      ioPercent: seconds > 0 ? Math.min(100, blkioTicks / USER_HZ / seconds * 100) : 0,
      command: commandColumn(entry),
    });
  }
  return rows.sort((a, b) =>
    b.ioPercent - a.ioPercent ||
    (b.readBytesPerSecond + b.writeBytesPerSecond) -
      (a.readBytesPerSecond + a.writeBytesPerSecond) ||
    a.tid - b.tid
  );
}

/** Sums of the rates of all rows. */
export function iotopTotals(rows: readonly IotopRow[]): IotopTotals {
  let readBytesPerSecond = 0;
  let writeBytesPerSecond = 0;
  for (const row of rows) {
    readBytesPerSecond += row.readBytesPerSecond;
    writeBytesPerSecond += row.writeBytesPerSecond;
  }
  return { readBytesPerSecond, writeBytesPerSecond };
}

/** The whole text: the totals line, the header and one line per row. */
export function formatIotop(rows: readonly IotopRow[], totals: IotopTotals): string {
  const lines = [
    `Total DISK READ: ${formatRate(totals.readBytesPerSecond)} | ` +
    `Total DISK WRITE: ${formatRate(totals.writeBytesPerSecond)}`,
    IOTOP_HEADER,
  ];
  for (const row of rows) {
    lines.push(
      `${String(row.tid).padStart(5)} ${row.prio.padStart(4)} ${row.user.padEnd(10)} ` +
        `${formatRate(row.readBytesPerSecond)} ${formatRate(row.writeBytesPerSecond)} ` +
        `${row.swapinPercent.toFixed(2)} % ${row.ioPercent.toFixed(2)} % ${row.command}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The `GetCmdIotop` collector.
 *
 * @throws {MethodFailure} when /proc cannot be listed or holds no process, or when no thread
 *   has readable I/O counters (a kernel without CONFIG_TASK_IO_ACCOUNTING)
 */
export function iotopCollector(
  options: { sampling: TaskSampling; users: UserNames; ioprio?: IoprioReader },
): Collector {
  /** The interval and its rows, which the text and the JSON show. */
  const measured = async (fs: ProcFs) => {
    const interval = await options.sampling.threads.interval();
    if (interval.latest.size === 0) {
      throw new MethodFailure(`Cannot list threads: "/proc" holds no readable process`);
    }
    // lepd may always read its own threads' counters, so none readable means no accounting.
    const readable = [...interval.latest.values()].some((entry) =>
      entry.readBytes !== undefined || entry.writeBytes !== undefined
    );
    if (!readable) {
      throw new MethodFailure(
        `Cannot read "/proc/<pid>/task/<tid>/io" of any of ${interval.latest.size} threads: ` +
          "this kernel has no per-task I/O accounting (CONFIG_TASK_IO_ACCOUNTING)",
      );
    }
    // Under --root the tids are a captured machine's: asking the live kernel would be wrong.
    const live = fs.resolve("/proc") === "/proc";
    const ioprio = options.ioprio ?? (live ? liveIoprioReader() ?? undefined : undefined);
    const rows = iotopRows(interval, options.users, ioprio);
    return { interval, rows };
  };
  return {
    async collect({ fs }) {
      const { rows } = await measured(fs);
      return formatIotop(rows, iotopTotals(rows));
    },
    async json({ fs }) {
      const { interval, rows } = await measured(fs);
      const totals = iotopTotals(rows);
      return {
        interval_s: interval.seconds,
        total_read_bytes_per_s: totals.readBytesPerSecond,
        total_write_bytes_per_s: totals.writeBytesPerSecond,
        threads: rows.map((row) => ({
          tid: row.tid,
          prio: row.prio,
          user: row.user,
          read_bytes_per_s: row.readBytesPerSecond,
          write_bytes_per_s: row.writeBytesPerSecond,
          swapin_pct: row.swapinPercent,
          io_pct: row.ioPercent,
          command: row.command,
        })),
      };
    },
    schema: {
      type: "object",
      fields: {
        interval_s: INTERVAL,
        total_read_bytes_per_s: { type: "number", unit: "B/s" },
        total_write_bytes_per_s: { type: "number", unit: "B/s" },
        threads: {
          type: "array",
          items: {
            type: "object",
            fields: {
              tid: { type: "integer" },
              prio: { type: "string", description: "I/O class/level: be/4, rt/0, id/7" },
              user: { type: "string" },
              read_bytes_per_s: { type: "number", unit: "B/s" },
              write_bytes_per_s: { type: "number", unit: "B/s" },
              swapin_pct: { type: "number", unit: "%", description: "always 0" },
              io_pct: { type: "number", unit: "%", description: "waiting for block I/O" },
              command: { type: "string" },
            },
          },
        },
      },
    } satisfies Schema,
  };
}
