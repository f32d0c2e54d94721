/**
 * `/proc/stat`: CPU time counters (the `cpu` and `cpuN` lines), the shares of an interval spent
 * in each state, and the system-wide counters (interrupts, context switches, forks, runnable
 * and blocked tasks) that mpstat, vmstat, top and irq_info turn into rates.
 *
 * @module
 */

import { counterDelta } from "./counter.ts";
import type { ProcFs } from "./proc_fs.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** Clock ticks spent in each state since boot, as the ten columns of a `cpu` line. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Already included in `user` (and `guestNice` in `nice`) by the kernel. */
  guest: number;
  guestNice: number;
}

const CPU_FIELDS = [
  "user",
  "nice",
  "system",
  "idle",
  "iowait",
  "irq",
  "softirq",
  "steal",
  "guest",
  "guestNice",
] as const;

/**
 * The `cpu` (all CPUs) and `cpuN` lines of `/proc/stat`, keyed `cpu`, `cpu0`, `cpu1` …
 * Columns that old kernels lack read 0.
 */
export function parseCpuTimes(text: string): Map<string, CpuTimes> {
  const cpus = new Map<string, CpuTimes>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("cpu")) continue;
    const [name = "", ...values] = line.trim().split(/\s+/);
    const times = Object.fromEntries(
      CPU_FIELDS.map((field, index) => [field, Number(values[index] ?? 0) || 0]),
    ) as unknown as CpuTimes;
    cpus.set(name, times);
  }
  return cpus;
}

/** Ticks of the eight states that add up to the time that passed (guest is inside user). */
export function totalTicks(times: CpuTimes): number {
  return times.user + times.nice + times.system + times.idle + times.iowait + times.irq +
    times.softirq + times.steal;
}

/** The shares of an interval in which nothing ran: all idle. */
export const IDLE_SHARES: Readonly<CpuTimes> = Object.freeze({
  user: 0,
  nice: 0,
  system: 0,
  idle: 100,
  iowait: 0,
  irq: 0,
  softirq: 0,
  steal: 0,
  guest: 0,
  guestNice: 0,
});

/**
 * Percentage of the interval spent in each state, from two readings of one CPU line. Counters
 * that went backwards (a CPU brought back online) count as 0; an interval with no ticks at all
 * reads as 100 % idle.
 */
export function cpuShares(previous: CpuTimes, latest: CpuTimes): CpuTimes {
  const delta = (field: keyof CpuTimes) =>
    counterDelta(previous[field], latest[field], "monotonic");
  const deltas = Object.fromEntries(
    CPU_FIELDS.map((field) => [field, delta(field)]),
  ) as unknown as CpuTimes;
  const total = totalTicks(deltas);
  if (total === 0) return { ...IDLE_SHARES };
  return Object.fromEntries(
    CPU_FIELDS.map((field) => [field, deltas[field] / total * 100]),
  ) as unknown as CpuTimes;
}

/** Everything lepd uses from one reading of `/proc/stat`. */
export interface ProcStat {
  /** `cpu` (all CPUs together), `cpu0`, `cpu1` … of online CPUs. */
  cpus: Map<string, CpuTimes>;
  /** Interrupts serviced since boot (first number of the `intr` line). */
  interrupts: number;
  /** Softirqs serviced since boot (first number of the `softirq` line). */
  softirqs: number;
  contextSwitches: number;
  /** Processes and threads created since boot. */
  forks: number;
  procsRunning: number;
  procsBlocked: number;
  /** Boot time, seconds since the epoch. */
  bootTime: number;
}

/** Parses the whole of `/proc/stat`; counters a kernel lacks read 0. */
export function parseProcStat(text: string): ProcStat {
  const first = (key: string): number => {
    const match = new RegExp(`^${key} (\\d+)`, "m").exec(text);
    return match === null ? 0 : Number(match[1]);
  };
  return {
    cpus: parseCpuTimes(text),
    interrupts: first("intr"),
    softirqs: first("softirq"),
    contextSwitches: first("ctxt"),
    forks: first("processes"),
    procsRunning: first("procs_running"),
    procsBlocked: first("procs_blocked"),
    bootTime: first("btime"),
  };
}

/** A sampled source of `/proc/stat`, shared by every method that needs its rates. */
export function procStatSource(fs: ProcFs, options: SamplingOptions = {}): SampledSource<ProcStat> {
  return new SampledSource(() => parseProcStat(fs.readTextSync("/proc/stat")), options, "demand");
}
