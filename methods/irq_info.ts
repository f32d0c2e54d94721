/**
 * `GetCmdIrqInfo`: interrupts and softirqs per second of the whole machine (docs/protocol.md 3.11),
 * from the first numbers of /proc/stat's `intr` and `softirq` lines over the sampler's latest
 * interval — answered at once instead of after the original's one-second sleep, and without its
 * `%d` that wrapped 64-bit counts above 2^31. Counts are exact up to 2^53 (see interrupt_rates.ts).
 *
 * @module
 */

import { counterRate } from "../proc/counter.ts";
import type { ProcStat } from "../proc/stat.ts";
import { type Collector, INTERVAL, type Schema } from "./collector.ts";
import type { SampledSource } from "../sampling/sampler.ts";

/** Whole interrupts and softirqs per second. */
export interface IrqInfoRates {
  interrupts: number;
  softirqs: number;
}

/** Rates over an interval, rounded to whole numbers; an interval of no time reads 0. */
export function irqInfoRates(
  interval: { previous: ProcStat; latest: ProcStat; seconds: number },
): IrqInfoRates {
  const { previous, latest, seconds } = interval;
  // Both totals are 64-bit sums of 32-bit per-CPU counters: width 32, as GetCmdVmstat reads `in`.
  const perSecond = (before: number, after: number) =>
    Math.round(counterRate(before, after, 32, seconds));
  return {
    interrupts: perSecond(previous.interrupts, latest.interrupts),
    softirqs: perSecond(previous.softirqs, latest.softirqs),
  };
}

/** `irq:<n>/s softirq:<m>/s ` and a newline — the space before the newline is the original's. */
export function formatIrqInfo(rates: IrqInfoRates): string {
  return `irq:${rates.interrupts}/s softirq:${rates.softirqs}/s \n`;
}

/** The schema of `GetCmdIrqInfo`'s JSON (whole rates, as in the text). */
export const IRQ_INFO_SCHEMA: Schema = {
  type: "object",
  fields: {
    interval_s: INTERVAL,
    irq_per_s: { type: "integer", unit: "1/s" },
    softirq_per_s: { type: "integer", unit: "1/s" },
  },
};

/** The `GetCmdIrqInfo` collector over the shared /proc/stat source. */
export function irqInfoCollector(options: { procStat: SampledSource<ProcStat> }): Collector {
  return {
    async collect() {
      return formatIrqInfo(irqInfoRates(await options.procStat.interval()));
    },
    async json() {
      const interval = await options.procStat.interval();
      const rates = irqInfoRates(interval);
      return {
        interval_s: interval.seconds,
        irq_per_s: rates.interrupts,
        softirq_per_s: rates.softirqs,
      };
    },
    schema: IRQ_INFO_SCHEMA,
    async probe({ fs }) {
      await fs.readText("/proc/stat");
      return undefined;
    },
  };
}
