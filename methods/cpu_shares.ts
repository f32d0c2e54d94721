/**
 * The shares of an interval spent in each CPU state, from two readings of a `/proc/stat` CPU line
 * (parsed by proc/stat.ts): what mpstat, vmstat and top -H show.
 *
 * @module
 */

import { CPU_FIELDS, type CpuTimes } from "../proc/stat.ts";
import { counterDelta } from "../proc/counter.ts";

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
