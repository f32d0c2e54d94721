/**
 * `GetCmdMpstat` and `GetCmdMpstat-I`: the texts of sysstat 11.5.1 `mpstat -P ALL 1 1` and
 * `mpstat -I ALL 1 1` (docs/protocol.md 3.2 and 3.3), computed over the sampler's latest interval of
 * /proc/stat, /proc/interrupts and /proc/softirqs instead of two readings taken back to back
 * (the original's HEAD lost its one-second wait, so LEPV's CPU gauge read 100 % on idle boards).
 *
 * LEPV reads these texts by position (docs/protocol.md 4.7, 4.8): three lines before the CPU rows,
 * columns counted from the right, the softirq section after the second empty line and the CPU
 * number as the second token — so times are one 24-hour token and the layout is exact.
 *
 * @module
 */

import { counterDelta, counterRate } from "../proc/counter.ts";
import { INTERRUPTS_PATH, parseIrqTable, SOFTIRQS_PATH } from "../proc/interrupts.ts";
import { ProcParseError } from "../proc/parse_error.ts";
import { type IrqRates, irqRates } from "./interrupt_rates.ts";
import type { IrqTable } from "../proc/interrupts.ts";
import type { CpuTimes, ProcStat } from "../proc/stat.ts";
import type { ProcFs } from "../proc/fs.ts";
import { type Collector, INTERVAL, PERCENT, type Schema } from "./collector.ts";
import type { Interval, SampledSource } from "../sampling/sampler.ts";
import { clockTime, cpuNumbers, readSystemIdentity, sysstatBanner } from "./sysstat.ts";

/** The columns of the CPU header after the time label. */
export const MPSTAT_CPU_COLUMNS =
  "  CPU    %usr   %nice    %sys %iowait    %irq   %soft  %steal  %guest  %gnice   %idle";

/** The label of the repeated block at the end. */
const AVERAGE = "Average:";
/** sysstat keeps at most 15 characters of an interrupt's label (`MAX_IRQ_LEN` − 1). */
const MAX_IRQ_LABEL = 15;

/** What surrounds the numbers: the banner line and the times of the two snapshots. */
export interface SysstatLabels {
  /** The first line, from {@linkcode sysstatBanner}. */
  banner: string;
  /** Time of the earlier snapshot, labelling the headers (`HH:MM:SS`). */
  start: string;
  /** Time of the later snapshot, labelling the rows (`HH:MM:SS`). */
  end: string;
}

/** One row of the CPU table: ten percentages in column order, `%usr` to `%idle`. */
export interface MpstatRow {
  cpu: "all" | number;
  percentages: number[];
}

const OFFLINE: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const TICKLESS: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 100];

/**
 * mpstat's ten percentages from two readings of one `cpu`/`cpuN` line: `%usr` = Δ(user − guest)
 * and `%nice` = Δ(nice − guest_nice) because the kernel counts guest time inside user and nice
 * time, then Δsystem, Δiowait, Δirq, Δsoftirq, Δsteal, Δguest, Δguest_nice and Δidle. A part
 * whose counter went backwards counts 0, and the parts are divided by their own sum, so a row
 * always adds up to 100 (sysstat's interval is the same sum, `get_per_cpu_interval`). A CPU
 * whose counters did not move (tickless) is 100 % idle.
 */
export function mpstatPercentages(previous: CpuTimes, latest: CpuTimes): number[] {
  const increase = (before: number, after: number) => counterDelta(before, after, "monotonic");
  const parts = [
    increase(previous.user - previous.guest, latest.user - latest.guest),
    increase(previous.nice - previous.guestNice, latest.nice - latest.guestNice),
    increase(previous.system, latest.system),
    increase(previous.iowait, latest.iowait),
    increase(previous.irq, latest.irq),
    increase(previous.softirq, latest.softirq),
    increase(previous.steal, latest.steal),
    increase(previous.guest, latest.guest),
    increase(previous.guestNice, latest.guestNice),
    increase(previous.idle, latest.idle),
  ];
  const total = parts.reduce((sum, part) => sum + part, 0);
  if (total === 0) return [...TICKLESS];
  return parts.map((part) => part / total * 100);
}

/**
 * CPU numbers 0 … the highest number in any of the lists (CPUs known to /sys, offline ones
 * included, and to each reading), as sysstat numbers its rows.
 */
export function cpuRange(lists: readonly (readonly number[])[]): number[] {
  let highest = -1;
  for (const numbers of lists) {
    for (const cpu of numbers) highest = Math.max(highest, cpu);
  }
  return Array.from({ length: highest + 1 }, (_, cpu) => cpu);
}

/** CPU numbers of the `cpuN` lines of a /proc/stat reading (the online CPUs). */
function statCpuNumbers(stat: ProcStat): number[] {
  const numbers: number[] = [];
  for (const name of stat.cpus.keys()) {
    if (/^cpu\d+$/.test(name)) numbers.push(Number(name.slice(3)));
  }
  return numbers;
}

/**
 * The `all` row and one row per CPU in `cpus`. A CPU without a line in either reading is
 * offline (or went offline or online during the interval) and gets sysstat's all-zero row.
 */
export function mpstatRows(
  interval: { previous: ProcStat; latest: ProcStat },
  cpus: readonly number[],
): MpstatRow[] {
  const row = (cpu: "all" | number): MpstatRow => {
    const name = cpu === "all" ? "cpu" : `cpu${cpu}`;
    const before = interval.previous.cpus.get(name);
    const after = interval.latest.cpus.get(name);
    const percentages = before === undefined || after === undefined
      ? [...OFFLINE]
      : mpstatPercentages(before, after);
    return { cpu, percentages };
  };
  return [row("all"), ...cpus.map(row)];
}

/**
 * A table's columns and each row's text after its time label: what the interval's block and the
 * `Average:` block of one text share, so the numbers are formatted once for both.
 */
interface TableText {
  columns: string;
  rows: string[];
}

/** Runs of 1 … 40 blanks, made once: what goes before a right-aligned number. */
const BLANKS = Array.from({ length: 41 }, (_, count) => " ".repeat(count));

/**
 * The blanks before `text` in its column of `width`, one blank apart from the column before it,
 * as `" " + text.padStart(width)` has them (a text wider than the column gets just the one).
 */
function blanksBefore(text: string, width: number): string {
  const count = 1 + Math.max(0, width - text.length);
  return BLANKS[count] ?? " ".repeat(count);
}

/** The CPU and percentage columns of each row (see {@link TableText}). */
function cpuTableText(rows: readonly MpstatRow[]): TableText {
  return {
    columns: MPSTAT_CPU_COLUMNS,
    rows: rows.map(({ cpu, percentages }) => {
      const parts = [cpu === "all" ? "  all" : ` ${String(cpu).padStart(4)}`];
      for (const percentage of percentages) {
        const value = percentage.toFixed(2);
        parts.push(blanksBefore(value, 7), value);
      }
      return parts.join("");
    }),
  };
}

/** One block: the header labelled `headerLabel`, then the rows labelled `rowLabel`. */
function block(table: TableText, headerLabel: string, rowLabel: string): string[] {
  const label = rowLabel.padEnd(11);
  return [headerLabel.padEnd(11) + table.columns, ...table.rows.map((row) => label + row)];
}

/**
 * The `mpstat -P ALL 1 1` text: banner, one empty line, header, `all` row, CPU rows, one empty
 * line, and the same block labelled `Average:` (over one interval the average is that interval).
 */
export function formatMpstat(rows: readonly MpstatRow[], labels: SysstatLabels): string {
  const table = cpuTableText(rows);
  return [
    labels.banner,
    "",
    ...block(table, labels.start, labels.end),
    "",
    ...block(table, AVERAGE, AVERAGE),
  ].join("\n") + "\n";
}

/** The numbers of `mpstat -I ALL`: the interrupt total and the two per-CPU tables. */
export interface MpstatInterrupts {
  /** Interrupts per second of all CPUs together (first number of /proc/stat's `intr` line). */
  totalPerSecond: number;
  interrupts: IrqRates;
  softirqs: IrqRates;
}

/** The interrupt columns (labels cut to 15 characters) and each CPU's rates (see {@link TableText}). */
function irqTableText(rates: IrqRates): TableText {
  const labels = rates.labels.map((label) => label.slice(0, MAX_IRQ_LABEL));
  const widths = labels.map((label) => Math.max(10, label.length + 2));
  const columns = ["  CPU"];
  for (const label of labels) columns.push(blanksBefore(label, 8), label, "/s");
  return {
    columns: columns.join(""),
    rows: rates.rows.map(({ cpu, perSecond }) => {
      const parts = [`  ${String(cpu).padStart(3)}`];
      for (let index = 0; index < perSecond.length; index++) {
        const value = perSecond[index]!.toFixed(2);
        parts.push(blanksBefore(value, widths[index]!), value);
      }
      return parts.join("");
    }),
  };
}

/** The SUM, interrupt and softirq sections of one block, each after an empty line. */
function interruptBlocks(
  sum: string,
  tables: { interrupts: TableText; softirqs: TableText },
  headerLabel: string,
  rowLabel: string,
): string[] {
  return [
    "",
    headerLabel.padEnd(11) + "  CPU    intr/s",
    rowLabel.padEnd(11) + sum,
    "",
    ...block(tables.interrupts, headerLabel, rowLabel),
    "",
    ...block(tables.softirqs, headerLabel, rowLabel),
  ];
}

/**
 * The `mpstat -I ALL 1 1` text: banner, then the SUM, per-interrupt and softirq sections, each
 * after one empty line, then the three again labelled `Average:`. The SUM rows carry no stray
 * `"` (a quirk of the original's HEAD that LEPV ignores).
 */
export function formatMpstatInterrupts(numbers: MpstatInterrupts, labels: SysstatLabels): string {
  const sum = "  all" + ` ${numbers.totalPerSecond.toFixed(2).padStart(9)}`;
  const tables = {
    interrupts: irqTableText(numbers.interrupts),
    softirqs: irqTableText(numbers.softirqs),
  };
  return [
    labels.banner,
    ...interruptBlocks(sum, tables, labels.start, labels.end),
    ...interruptBlocks(sum, tables, AVERAGE, AVERAGE),
  ].join("\n") + "\n";
}

/** Banner and times of an interval that ended at `takenAt` after `seconds`. */
function sysstatLabels(
  fs: ProcFs,
  interval: { takenAt: number; seconds: number },
): SysstatLabels {
  const startDate = new Date(interval.takenAt - interval.seconds * 1000);
  return {
    // sysstat dates the banner by its first reading.
    banner: sysstatBanner(readSystemIdentity(fs), startDate),
    start: clockTime(startDate),
    end: clockTime(new Date(interval.takenAt)),
  };
}

/**
 * The whole `GetCmdMpstat` text of an interval: CPU rows 0 … the highest CPU /sys or either
 * reading knows, banner and times from `fs` and the interval.
 */
export function mpstatText(fs: ProcFs, interval: Interval<ProcStat>): string {
  return formatMpstat(mpstatIntervalRows(fs, interval), sysstatLabels(fs, interval));
}

/** The rows of `GetCmdMpstat`: `all`, then CPUs 0 … the highest /sys or either reading knows. */
function mpstatIntervalRows(fs: ProcFs, interval: Interval<ProcStat>): MpstatRow[] {
  const online = statCpuNumbers(interval.latest);
  const cpus = cpuRange([cpuNumbers(fs, online), statCpuNumbers(interval.previous), online]);
  return mpstatRows(interval, cpus);
}

/** The JSON names of mpstat's ten columns, in their order (percent of the CPU's time). */
export const MPSTAT_JSON_FIELDS = [
  "usr_pct",
  "nice_pct",
  "sys_pct",
  "iowait_pct",
  "irq_pct",
  "soft_pct",
  "steal_pct",
  "guest_pct",
  "gnice_pct",
  "idle_pct",
] as const;

/** The `GetCmdMpstat` JSON: the interval and the same rows as the text, unrounded. */
export function mpstatJson(fs: ProcFs, interval: Interval<ProcStat>): unknown {
  return {
    interval_s: interval.seconds,
    cpus: mpstatIntervalRows(fs, interval).map(({ cpu, percentages }) => ({
      cpu: String(cpu),
      ...Object.fromEntries(
        MPSTAT_JSON_FIELDS.map((field, index) => [field, percentages[index] ?? 0]),
      ),
    })),
  };
}

const CPU_LABEL: Schema = { type: "string", description: '"all" or the CPU number ("0", "1" …)' };

/** The schema of {@link mpstatJson}. */
export const MPSTAT_SCHEMA: Schema = {
  type: "object",
  fields: {
    interval_s: INTERVAL,
    cpus: {
      type: "array",
      items: {
        type: "object",
        fields: {
          cpu: CPU_LABEL,
          ...Object.fromEntries(
            MPSTAT_JSON_FIELDS.map((field) => [field, PERCENT]),
          ),
        },
      },
    },
  },
};

/** The intervals `GetCmdMpstat-I` is computed from. */
export interface InterruptIntervals {
  /** For the interrupt total of the SUM section. */
  procStat: Interval<ProcStat>;
  /** For the per-interrupt section and the times of day. */
  interrupts: Interval<IrqTable>;
  softirqs: Interval<IrqTable>;
}

/**
 * The whole `GetCmdMpstat-I` text. Every CPU 0 … the highest known gets a row in both per-CPU
 * sections, offline ones with zeros, as sysstat prints them without `-P ON`.
 */
export function mpstatInterruptsText(fs: ProcFs, intervals: InterruptIntervals): string {
  return formatMpstatInterrupts(
    mpstatInterruptNumbers(fs, intervals),
    sysstatLabels(fs, intervals.interrupts),
  );
}

/** The numbers of `GetCmdMpstat-I`, which the text and the JSON show. */
function mpstatInterruptNumbers(fs: ProcFs, intervals: InterruptIntervals): MpstatInterrupts {
  const { procStat, interrupts, softirqs } = intervals;
  const online = statCpuNumbers(procStat.latest);
  const cpus = cpuRange([
    cpuNumbers(fs, online),
    online,
    interrupts.latest.cpus,
    softirqs.latest.cpus,
  ]);
  return {
    totalPerSecond: counterRate(
      procStat.previous.interrupts,
      procStat.latest.interrupts,
      32,
      procStat.seconds,
    ),
    interrupts: irqRates(interrupts, cpus),
    softirqs: irqRates(softirqs, cpus),
  };
}

function ratesJson(rates: IrqRates): unknown[] {
  return rates.rows.map(({ cpu, perSecond }) => ({
    cpu: String(cpu),
    per_s: Object.fromEntries(rates.labels.map((label, index) => [label, perSecond[index] ?? 0])),
  }));
}

/** The `GetCmdMpstat-I` JSON: the same numbers as the text, unrounded, labels unshortened. */
export function mpstatInterruptsJson(fs: ProcFs, intervals: InterruptIntervals): unknown {
  const numbers = mpstatInterruptNumbers(fs, intervals);
  return {
    interval_s: intervals.interrupts.seconds,
    intr_per_s: numbers.totalPerSecond,
    interrupts: ratesJson(numbers.interrupts),
    softirqs: ratesJson(numbers.softirqs),
  };
}

const RATE_ROWS: Schema = {
  type: "array",
  items: {
    type: "object",
    fields: {
      cpu: { type: "string", description: "the CPU number" },
      per_s: {
        type: "object",
        fields: {},
        other: { type: "number", unit: "1/s", description: "by interrupt label" },
      },
    },
  },
};

/** The schema of {@link mpstatInterruptsJson}. */
export const MPSTAT_INTERRUPTS_SCHEMA: Schema = {
  type: "object",
  fields: {
    interval_s: INTERVAL,
    intr_per_s: { type: "number", unit: "1/s", description: "interrupts of all CPUs together" },
    interrupts: RATE_ROWS,
    softirqs: RATE_ROWS,
  },
};

/** The `GetCmdMpstat` collector over the shared /proc/stat source. */
export function mpstatCollector(options: { procStat: SampledSource<ProcStat> }): Collector {
  return {
    async collect({ fs }) {
      return mpstatText(fs, await options.procStat.interval());
    },
    async json({ fs }) {
      return mpstatJson(fs, await options.procStat.interval());
    },
    schema: MPSTAT_SCHEMA,
    async probe({ fs }) {
      await fs.readText("/proc/stat");
      return undefined;
    },
  };
}

/**
 * The `GetCmdMpstat-I` collector: the shared /proc/stat source gives the interrupt total, the
 * other two the per-CPU tables (`interruptsSource` and `softirqsSource` of sampling/interrupts.ts).
 */
export function mpstatInterruptsCollector(
  options: {
    procStat: SampledSource<ProcStat>;
    interrupts: SampledSource<IrqTable>;
    softirqs: SampledSource<IrqTable>;
  },
): Collector {
  return {
    async collect({ fs }) {
      const [procStat, interrupts, softirqs] = await Promise.all([
        options.procStat.interval(),
        options.interrupts.interval(),
        options.softirqs.interval(),
      ]);
      return mpstatInterruptsText(fs, { procStat, interrupts, softirqs });
    },
    async json({ fs }) {
      const [procStat, interrupts, softirqs] = await Promise.all([
        options.procStat.interval(),
        options.interrupts.interval(),
        options.softirqs.interval(),
      ]);
      return mpstatInterruptsJson(fs, { procStat, interrupts, softirqs });
    },
    schema: MPSTAT_INTERRUPTS_SCHEMA,
    async probe({ fs }) {
      await fs.readText("/proc/stat");
      for (const path of [INTERRUPTS_PATH, SOFTIRQS_PATH] as const) {
        const text = await fs.readText(path);
        try {
          parseIrqTable(text, path);
        } catch (error) {
          if (error instanceof ProcParseError) return error.message;
          throw error;
        }
      }
      return undefined;
    },
  };
}
