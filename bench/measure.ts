/**
 * What every benchmark script measures with: percentiles of latencies and the CPU time of a
 * process.
 *
 * @module
 */

/** The nearest-rank percentile of ascending `sorted` (`fraction` 0.5 is the median). */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(sorted.length * fraction) - 1))]!;
}

/** The median of `values` in any order. */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** User plus system CPU time of a process (`self` for the benchmark itself), in clock ticks. */
export function cpuTicks(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
