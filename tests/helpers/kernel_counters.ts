/**
 * The kernel's own counters, read by the test around a request, to check figures the daemon
 * computed over an interval it chose. A counter read before an interval starts and after it
 * ends bounds what the daemon can have seen, whatever the load: no threshold needed.
 *
 * @module
 */

/** The clock ticks per second the kernel reports in /proc (USER_HZ, 100 on Linux). */
export const USER_HZ = 100;

/** A `cpu` line of /proc/stat: idle ticks, user ticks less guest time, and all ticks. */
export interface CpuTicks {
  idle: number;
  /** user − guest: what mpstat shows as %usr. */
  user: number;
  total: number;
}

/** One `cpu` line of /proc/stat (`cpu` for the machine, `cpuN` for one CPU), now. */
export function readCpuTicks(name = "cpu"): CpuTicks {
  return readAllCpuTicks().get(name) ?? (() => {
    throw new Error(`/proc/stat has no ${name} line`);
  })();
}

/** Every `cpu` line of /proc/stat by name, read at once. */
export function readAllCpuTicks(): Map<string, CpuTicks> {
  const lines = new Map<string, CpuTicks>();
  for (const line of Deno.readTextFileSync("/proc/stat").split("\n")) {
    if (!/^cpu\d* /.test(line)) continue;
    const [name, ...values] = line.trim().split(/\s+/);
    const fields = values.map(Number);
    // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user, nice)
    const total = fields.slice(0, 8).reduce((sum, value) => sum + (value || 0), 0);
    lines.set(name!, { idle: fields[3]!, user: fields[0]! - (fields[8] ?? 0), total });
  }
  return lines;
}

/** utime + stime of a process (or, with a tid, one thread), in ticks, now. */
export function readTaskTicks(pid: number, tid?: number): number {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const stat = Deno.readTextFileSync(path);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5); the slice starts at field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * A reading taken around something the daemon did: the counters before it started and after
 * it ended, and the monotonic time of each.
 */
export interface Bracket<T> {
  before: T;
  after: T;
  beforeMs: number;
  afterMs: number;
}

/** Runs `action` between two readings of `read`. */
export async function bracket<T, R>(
  read: () => T,
  action: () => Promise<R>,
): Promise<{ result: R; counters: Bracket<T> }> {
  const beforeMs = performance.now();
  const before = read();
  const result = await action();
  const after = read();
  const afterMs = performance.now();
  return { result, counters: { before, after, beforeMs, afterMs } };
}

/**
 * The range a share `part / total` of an interval can have when the interval began inside
 * `start` and ended inside `end` (two brackets of monotonic counters), in percent.
 * Undefined when the brackets overlap so much that the range is not bounded.
 */
export function shareRange(
  start: Bracket<{ part: number; total: number }>,
  end: Bracket<{ part: number; total: number }>,
): { low: number; high: number } | undefined {
  const partLow = Math.max(0, end.before.part - start.after.part);
  const partHigh = end.after.part - start.before.part;
  const totalLow = end.before.total - start.after.total;
  const totalHigh = end.after.total - start.before.total;
  if (totalLow <= 0) return undefined;
  return { low: 100 * partLow / totalHigh, high: Math.min(100, 100 * partHigh / totalLow) };
}

/** The `intr` and `softirq` totals of /proc/stat, now. */
export function readInterruptTotals(): { interrupts: number; softirqs: number } {
  const text = Deno.readTextFileSync("/proc/stat");
  const total = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1]);
  return { interrupts: total("intr"), softirqs: total("softirq") };
}

/** Waits, polling every 10 ms however long it takes, until `read()` has grown by `count`. */
export async function untilGrown(read: () => number, count: number): Promise<void> {
  const target = read() + count;
  while (read() < target) await new Promise((resolve) => setTimeout(resolve, 10));
}
