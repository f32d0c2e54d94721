/**
 * `/proc/stat`: the CPU time counters (the `cpu` and `cpuN` lines) and the system-wide counters
 * (interrupts, softirqs, context switches, forks, boot time, runnable and blocked tasks).
 * Every kernel writes the `cpu` line first, so a text without one is not /proc/stat.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel publishes the counters. */
export const STAT_PATH = "/proc/stat";

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

/** The ten columns of a `cpu` line, in the kernel's order. */
export const CPU_FIELDS = [
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
] as const satisfies readonly (keyof CpuTimes)[];

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

/**
 * Parses the whole of `/proc/stat`; counters a kernel lacks read 0.
 *
 * @throws {ProcParseError} when the text has no `cpu` line (empty, garbage, truncated)
 */
export function parseProcStat(text: string): ProcStat {
  const cpus = parseCpuTimes(text);
  if (!cpus.has("cpu")) throw new ProcParseError(STAT_PATH, 'it has no "cpu" line');
  const first = (key: string): number => {
    const match = new RegExp(`^${key} (\\d+)`, "m").exec(text);
    return match === null ? 0 : Number(match[1]);
  };
  return {
    cpus,
    interrupts: first("intr"),
    softirqs: first("softirq"),
    contextSwitches: first("ctxt"),
    forks: first("processes"),
    procsRunning: first("procs_running"),
    procsBlocked: first("procs_blocked"),
    bootTime: first("btime"),
  };
}
