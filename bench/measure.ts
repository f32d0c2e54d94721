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

/** The threads of a process a CPU breakdown groups: what each costs of the whole. */
export type ThreadRole = "main isolate" | "network worker" | "V8 helpers" | "other";

/** The roles in the order a breakdown prints them. */
export const THREAD_ROLES: readonly ThreadRole[] = [
  "main isolate",
  "network worker",
  "V8 helpers",
  "other",
];

/**
 * A thread's role from its id and name: the process's own thread runs the main isolate, Deno
 * names a Worker's thread `worker-N`, V8 its platform's threads `V8 DefaultWorker` (cut to 15
 * characters by the kernel); the rest are Deno's I/O and blocking-pool threads.
 */
export function threadRole(pid: number, tid: number, name: string): ThreadRole {
  if (tid === pid) return "main isolate";
  if (/^worker-\d+$/.test(name)) return "network worker";
  if (name.startsWith("V8 ")) return "V8 helpers";
  return "other";
}

/**
 * CPU nanoseconds each thread of a process has run, by thread id, from
 * `/proc/<pid>/task/<tid>/schedstat` (nanoseconds, where `stat` counts 10 ms ticks). Undefined
 * when the kernel has no schedstat (built without `CONFIG_SCHED_INFO`) or the process is gone.
 */
export function threadCpuNs(
  pid: number,
): Map<number, { role: ThreadRole; ns: number }> | undefined {
  const threads = new Map<number, { role: ThreadRole; ns: number }>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      const tid = Number(entry.name);
      try {
        const name = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/comm`).trim();
        const ns = Number(
          Deno.readTextFileSync(`/proc/${pid}/task/${tid}/schedstat`).split(" ")[0],
        );
        threads.set(tid, { role: threadRole(pid, tid, name), ns });
      } catch (error) {
        // A thread that ended between the listing and the read has nothing left to count.
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  return threads;
}

/**
 * Nanoseconds each role ran between two readings of {@link threadCpuNs}. A thread started in
 * between counts from 0; one that ended in between is lost, with its time since the first
 * reading (Deno's threads live as long as the process).
 */
export function cpuNsByRole(
  before: ReadonlyMap<number, { ns: number }>,
  after: ReadonlyMap<number, { role: ThreadRole; ns: number }>,
): Map<ThreadRole, number> {
  const byRole = new Map<ThreadRole, number>(THREAD_ROLES.map((role) => [role, 0]));
  for (const [tid, { role, ns }] of after) {
    byRole.set(role, byRole.get(role)! + ns - (before.get(tid)?.ns ?? 0));
  }
  return byRole;
}
