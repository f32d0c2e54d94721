/**
 * `GetCmdCgtop` (docs/protocol.md 3.12): one row per control group with its processes, CPU share,
 * memory and I/O rates over the sampler's latest interval, under the original's header:
 *
 * ```
 * -----------------------path----------------------⇥-task-⇥  ----cpu(%)----⇥-memory(MB)-⇥…
 * /system.slice                                     ⇥   0⇥     1.52⇥  612        1024        0
 * ```
 *
 * Both layouts the kernel has:
 * - **cgroup v2** (one unified hierarchy, what current systems mount at /sys/fs/cgroup):
 *   `cgroup.procs`, `cpu.stat` (`usage_usec`), `memory.current`, `io.stat` (`rbytes`, `wbytes`).
 * - **cgroup v1** (one hierarchy per controller; also the "hybrid" layout, v1 controllers beside
 *   a controller-less cgroup2 mount): CPU from the `cpuacct` hierarchy (`cpuacct.usage`), memory
 *   from `memory` (`memory.usage_in_bytes`), I/O from `blkio`
 *   (`blkio.throttle.io_service_bytes_recursive`, else `…io_service_bytes`). A row is a path
 *   relative to the hierarchy roots (`/`, `/system.slice`, …) that exists in at least one of
 *   `name=systemd`, `cpuacct`, `memory`, `blkio`; each figure comes from its own hierarchy.
 *
 * The layout is found in /proc/mounts (where v1 controllers are mounted the machine is v1, else
 * a cgroup2 mount makes it v2), or, when /proc/mounts names none, by the files under
 * /sys/fs/cgroup.
 *
 * Columns: `task` = processes directly in the cgroup (its `cgroup.procs`; on v1 from one
 * hierarchy, the first of `name=systemd`, `cpuacct`, `memory`, `blkio` that is mounted, and `-`
 * for a path only other hierarchies have, as systemd-cgtop shows it: a process is in one cgroup
 * of every hierarchy, so counting each path in whichever hierarchy has it would count a process
 * once per hierarchy). CPU, memory and I/O include
 * the cgroup's descendants, as the kernel accounts them. CPU % is of one CPU (a cgroup using two
 * CPUs shows 200), memory in MiB, input/output in bytes per second. `-` where a figure is not
 * available: a file this cgroup or kernel lacks (the v2 root has no `memory.current`), or a
 * rate whose first reading is missing or whose counter went back. Deviations from 3.12, which
 * described v1 only: rows of cgroups without processes of their own are kept (a slice holds
 * none, but accounts for its children), and a zero figure prints as `0`, not `-`.
 *
 * v1 I/O: the root's blkio counters stay 0 on current kernels (they account throttled I/O of
 * child groups only), so the v1 root row reads the machine's I/O where the kernel's v2 root does,
 * from /proc/diskstats (every whole disk in /sys/block). When the disks moved over the interval
 * and the root's blkio counters did not, this kernel accounts no v1 blkio at all, and the other
 * rows' I/O is `-`, not a false 0.
 *
 * Rows are in tree order (a cgroup, then its children by name). The walk is bounded: at most
 * {@link DEFAULT_MAX_DEPTH} levels below the root (3.12's bound) and
 * {@link DEFAULT_MAX_CGROUPS} cgroups, taken level by level so the shallow ones come first. A
 * cgroup that disappears during the walk is skipped.
 *
 * @module
 */

import { counterDelta, counterIncrease } from "../proc/counter.ts";
import { printable } from "./processes.ts";
import { type Collector, INTERVAL, type Schema } from "./collector.ts";
import { type CgroupSnapshot, detectCgroupLayout } from "../sampling/cgroups.ts";
import type { Interval, SampledSource } from "../sampling/sampler.ts";

/** The header line, exactly as the original printed it (fields separated by TABs). */
export const CGTOP_HEADER = "-----------------------path----------------------\t-task-\t" +
  "  ----cpu(%)----\t-memory(MB)-\t-input(bp/s)-\t-output(bp/s)-";

/** One row of the table, before formatting; undefined figures print as `-`. */
export interface CgtopRow {
  path: string;
  tasks: number | undefined;
  cpuPercent: number | undefined;
  memoryBytes: number | undefined;
  readBytesPerSecond: number | undefined;
  writeBytesPerSecond: number | undefined;
}

function rate(
  previous: number | undefined,
  latest: number | undefined,
  seconds: number,
): number | undefined {
  // cpuacct.usage, cpu.stat and the byte sums over devices start again from 0 when a cgroup is
  // created again under the same path: a restart, whose figure is unknown (`-`).
  const increase = counterIncrease(previous, latest, "monotonic");
  return increase === undefined || seconds <= 0 ? undefined : increase / seconds;
}

/**
 * False when the v1 root's disks moved over the interval and its blkio counters did not: this
 * kernel accounts no v1 blkio, and a child's blkio figure would be a false 0.
 */
function blkioAccounted(interval: Interval<CgroupSnapshot>): boolean {
  const latest = interval.latest.get("/");
  const previous = interval.previous.get("/");
  if (latest === undefined || !("blkioReadBytes" in latest)) return true;
  const moved = (before: number | undefined, after: number | undefined) =>
    counterDelta(before, after, "monotonic") > 0;
  const disksMoved = moved(previous?.readBytes, latest.readBytes) ||
    moved(previous?.writeBytes, latest.writeBytes);
  const blkioMoved = moved(previous?.blkioReadBytes, latest.blkioReadBytes) ||
    moved(previous?.blkioWriteBytes, latest.blkioWriteBytes);
  return blkioMoved || !disksMoved;
}

/** The rows of the latest snapshot, with rates over the interval. */
export function cgtopRows(interval: Interval<CgroupSnapshot>): CgtopRow[] {
  const rows: CgtopRow[] = [];
  const accounted = blkioAccounted(interval);
  for (const [path, latest] of interval.latest) {
    const previous = interval.previous.get(path);
    const cpuUsecPerSecond = rate(previous?.cpuUsec, latest.cpuUsec, interval.seconds);
    const io = path === "/" || accounted;
    rows.push({
      path,
      tasks: latest.tasks,
      cpuPercent: cpuUsecPerSecond === undefined ? undefined : cpuUsecPerSecond / 10_000,
      memoryBytes: latest.memoryBytes,
      readBytesPerSecond: io
        ? rate(previous?.readBytes, latest.readBytes, interval.seconds)
        : undefined,
      writeBytesPerSecond: io
        ? rate(previous?.writeBytes, latest.writeBytes, interval.seconds)
        : undefined,
    });
  }
  return rows;
}

/** `-` right-aligned in 8 columns, as the original printed a missing figure. */
const MISSING = "-".padStart(8);
const MIB = 1024 * 1024;

function wholeOrMissing(value: number | undefined): string {
  return value === undefined ? MISSING : String(Math.floor(value)).padStart(5);
}

/** One row: `%-50s⇥%4d⇥%9.2f⇥%5ld` + 8 spaces + `%5ld` + 8 spaces + `%5ld`. */
export function formatCgtopRow(row: CgtopRow): string {
  const tasks = row.tasks === undefined ? "-" : String(row.tasks);
  return `${printable(row.path).padEnd(50)}\t${tasks.padStart(4)}\t` +
    `${row.cpuPercent === undefined ? MISSING : row.cpuPercent.toFixed(2).padStart(9)}\t` +
    `${wholeOrMissing(row.memoryBytes === undefined ? undefined : row.memoryBytes / MIB)}` +
    `        ${wholeOrMissing(row.readBytesPerSecond)}` +
    `        ${wholeOrMissing(row.writeBytesPerSecond)}`;
}

/** The whole text: header and one line per row. */
export function formatCgtop(rows: readonly CgtopRow[]): string {
  return [CGTOP_HEADER, ...rows.map(formatCgtopRow)].join("\n") + "\n";
}

/** The `GetCmdCgtop` collector over a {@link cgroupSource}. */
export function cgtopCollector(
  options: { cgroups: SampledSource<CgroupSnapshot> },
): Collector {
  return {
    async collect() {
      return formatCgtop(cgtopRows(await options.cgroups.interval()));
    },
    async json() {
      const interval = await options.cgroups.interval();
      return {
        interval_s: interval.seconds,
        cgroups: cgtopRows(interval).map((row) => ({
          path: row.path,
          tasks: row.tasks ?? null,
          cpu_pct: row.cpuPercent ?? null,
          memory_bytes: row.memoryBytes ?? null,
          read_bytes_per_s: row.readBytesPerSecond ?? null,
          write_bytes_per_s: row.writeBytesPerSecond ?? null,
        })),
      };
    },
    schema: {
      type: "object",
      fields: {
        interval_s: INTERVAL,
        cgroups: {
          type: "array",
          items: {
            type: "object",
            fields: {
              path: { type: "string" },
              tasks: { type: "integer", nullable: true, description: "null: not known" },
              cpu_pct: { type: "number", unit: "%", nullable: true },
              memory_bytes: { type: "number", unit: "B", nullable: true },
              read_bytes_per_s: { type: "number", unit: "B/s", nullable: true },
              write_bytes_per_s: { type: "number", unit: "B/s", nullable: true },
            },
          },
        },
      },
    } satisfies Schema,
    probe({ fs }) {
      return Promise.try(() => {
        try {
          detectCgroupLayout(fs);
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      });
    },
  };
}
