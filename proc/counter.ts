/**
 * The one place where lepd turns two readings of a kernel counter into an increase and a rate.
 * Every rate-based method (interrupts, irq_info, mpstat, vmstat, iostat, iotop, cgtop, top)
 * goes through {@link counterDelta} with the width of the counter it reads, so two methods that
 * show the same counter over the same interval show the same figure, wrap or no wrap.
 *
 * Widths:
 *
 * - `32`: an `unsigned int` of the kernel, or a 64-bit sum of such counters that drops by a
 *   multiple of 2^32 when one of them wraps (the `intr` and `softirq` totals of /proc/stat, the
 *   per-CPU counts of /proc/interrupts and /proc/softirqs, the millisecond fields of
 *   /proc/diskstats). A decrease is read modulo 2^32.
 * - `64`: an `unsigned long`/`u64` of a 64-bit kernel (context switches, paging counters, the
 *   I/O and sector counts of /proc/diskstats, a task's bytes). A decrease is read modulo 2^64 —
 *   at a billion events a second that takes 584 years, so in practice a decrease is a restart.
 * - `"monotonic"`: a counter with no width of its own that only grows for the life of the thing
 *   it counts (a cgroup's usage, a sum over devices, CPU ticks assembled from several sources,
 *   whose idle and iowait may step back by a tick on a NO_HZ CPU). A decrease is a restart.
 *
 * A restart — a decrease that is no wrap of the counter's width, or a wrap that would mean half
 * the width or more in one interval — is an interrupt freed and requested again, a device, task
 * or cgroup created again under the same name, or jitter. The increase over such an interval is
 * unknown: {@link counterIncrease} says so with undefined, {@link counterDelta} counts it as none,
 * and the next interval counts from the new reading. A spike of the whole counter, which is what
 * reading the latest value as "events since the restart" gives when the decrease was jitter, is
 * never shown.
 *
 * Counts are JavaScript numbers, exact up to 2^53; a 64-bit counter beyond that keeps its
 * magnitude and loses its last digits, so a rate is off by at most the spacing of doubles there
 * (2048 near 2^64) per interval — it never wraps.
 *
 * @module
 */

/** How a counter behaves when a reading is smaller than the one before; see the module notes. */
export type CounterWidth = 32 | 64 | "monotonic";

/**
 * How much a counter of the given width grew between two readings, never negative; undefined
 * when either reading is missing or the counter restarted (see the module notes).
 */
export function counterIncrease(
  previous: number | undefined,
  latest: number | undefined,
  width: CounterWidth,
): number | undefined {
  if (previous === undefined || latest === undefined) return undefined;
  if (!Number.isFinite(previous) || !Number.isFinite(latest)) return undefined;
  if (latest >= previous) return latest - previous;
  if (width === "monotonic") return undefined;
  const range = 2 ** width;
  const modular = ((latest - previous) % range + range) % range;
  return modular < range / 2 ? modular : undefined;
}

/** {@link counterIncrease}, with a missing reading or a restart counted as no increase. */
export function counterDelta(
  previous: number | undefined,
  latest: number | undefined,
  width: CounterWidth,
): number {
  return counterIncrease(previous, latest, width) ?? 0;
}

/** Increase per second over an interval of `seconds`; 0 for an interval of no time. */
export function counterRate(
  previous: number | undefined,
  latest: number | undefined,
  width: CounterWidth,
  seconds: number,
): number {
  return seconds > 0 ? counterDelta(previous, latest, width) / seconds : 0;
}
