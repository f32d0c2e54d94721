/**
 * Rates of `/proc/interrupts` and `/proc/softirqs` (parsed by proc/interrupts.ts, sampled by
 * sampling/interrupts.ts): the increase of a kernel counter between two readings (32-bit
 * wraparound included) and rates per CPU over an interval, for mpstat `-I` and irq_info.
 *
 * The kernel's per-CPU interrupt and softirq counters are 32-bit (`unsigned int`); their
 * increases are taken by the shared counter helper (proc/counter.ts) with that width.
 *
 * @module
 */

import { counterRate } from "../proc/counter.ts";
import type { IrqLine, IrqTable } from "../proc/interrupts.ts";

/** Per-second rates of one table over an interval, one row per requested CPU. */
export interface IrqRates {
  /** Labels of the latest reading, in file order. */
  labels: string[];
  /** One row per CPU, in the order asked for; `perSecond[i]` belongs to `labels[i]`. */
  rows: { cpu: number; perSecond: number[] }[];
}

/**
 * Rates of every line of the latest reading for each CPU in `cpus`. A CPU without a column in
 * either reading (offline in /proc/interrupts) and a line missing from the previous reading (an
 * interrupt registered during the interval) read 0 — a rate needs two counts.
 */
export function irqRates(
  interval: { previous: IrqTable; latest: IrqTable; seconds: number },
  cpus: readonly number[],
): IrqRates {
  const { previous, latest, seconds } = interval;
  const previousByLabel = new Map<string, IrqLine>();
  for (const line of previous.lines) {
    if (!previousByLabel.has(line.label)) previousByLabel.set(line.label, line);
  }
  // Each line's previous reading, looked up once for all the CPUs.
  const befores = latest.lines.map((line) => previousByLabel.get(line.label));
  const rows = cpus.map((cpu) => {
    const latestColumn = latest.cpus.indexOf(cpu);
    const previousColumn = previous.cpus.indexOf(cpu);
    const perSecond = latest.lines.map((line, index) => {
      const before = befores[index];
      if (latestColumn < 0 || previousColumn < 0 || before === undefined) return 0;
      return counterRate(before.counts[previousColumn], line.counts[latestColumn], 32, seconds);
    });
    return { cpu, perSecond };
  });
  return { labels: latest.lines.map((line) => line.label), rows };
}
