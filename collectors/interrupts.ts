/**
 * `/proc/interrupts` and `/proc/softirqs`: pure parsers of their per-CPU count tables, the
 * increase of a kernel counter between two readings (32-bit wraparound included), rates per CPU
 * over an interval, and sampled sources of both files for the mpstat `-I` method.
 *
 * The kernel's per-CPU interrupt and softirq counters are 32-bit (`unsigned int`); their
 * increases are taken by the shared counter helper (counter.ts) with that width.
 *
 * @module
 */

import { counterDelta, counterRate } from "./counter.ts";
import { MethodFailure } from "./failure.ts";
import type { ProcFs } from "./proc_fs.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** One line of /proc/interrupts or /proc/softirqs. */
export interface IrqLine {
  /** Text before the colon, blanks removed: `0`, `24`, `NMI`, `LOC`, `IPI0`, `Err`, `TIMER`. */
  label: string;
  /**
   * One count per column of the table, in the order of {@linkcode IrqTable.cpus}. Columns a line
   * does not have read 0: `ERR:`/`MIS:`/`Err:` hold one system-wide number, which lands in the
   * first column as sysstat reads it, and ARM's `FIQ:` holds none.
   */
  counts: number[];
  /** What follows the counts (chip, hardware irq, trigger, device names); "" when nothing. */
  description: string;
}

/** A parsed /proc/interrupts or /proc/softirqs. */
export interface IrqTable {
  /**
   * CPU number of each count column, from the header (`CPU0 CPU1 CPU3`). /proc/interrupts lists
   * the online CPUs only; /proc/softirqs lists every possible CPU, offline ones included.
   */
  cpus: number[];
  /** Lines in file order. */
  lines: IrqLine[];
}

/** A count at the start of the remaining text: blanks, digits, then a blank or the end. */
const COUNT = /[ \t]*(\d+)(?=[ \t]|$)/y;

/**
 * Parses /proc/interrupts or /proc/softirqs (both have the same layout: a header of `CPUn`
 * columns, then `label: count count … [description]` lines). Lines without a colon or with an
 * empty label, such as the blank-padded last line of some ARM kernels, are skipped.
 *
 * @throws {Error} when no line names a `CPUn` column
 */
export function parseIrqTable(text: string): IrqTable {
  const lines = text.split("\n");
  let index = 0;
  let cpus: number[] = [];
  // sysstat's rule: the header is the first line that names a CPU at all.
  for (; index < lines.length && cpus.length === 0; index++) {
    cpus = Array.from(lines[index]!.matchAll(/CPU(\d+)/g), (match) => Number(match[1]));
  }
  if (cpus.length === 0) throw new Error('no header line of "CPUn" columns');
  const table: IrqTable = { cpus, lines: [] };
  for (; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const label = line.slice(0, colon).trim();
    if (label === "") continue;
    const counts = new Array<number>(cpus.length).fill(0);
    const rest = line.slice(colon + 1);
    COUNT.lastIndex = 0;
    let end = 0;
    for (let column = 0; column < cpus.length; column++) {
      const match = COUNT.exec(rest);
      if (match === null) break;
      counts[column] = Number(match[1]);
      end = COUNT.lastIndex;
    }
    table.lines.push({ label, counts, description: rest.slice(end).trim() });
  }
  return table;
}

/**
 * How much a per-CPU interrupt or softirq counter (`unsigned int` in the kernel), or a 64-bit
 * sum of such counters (/proc/stat's `intr` and `softirq` totals, which drop by 2^32 when one of
 * them wraps), grew between two readings: {@link counterDelta} of width 32.
 */
export function counterIncrease(previous: number, latest: number): number {
  return counterDelta(previous, latest, 32);
}

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
  const rows = cpus.map((cpu) => {
    const latestColumn = latest.cpus.indexOf(cpu);
    const previousColumn = previous.cpus.indexOf(cpu);
    const perSecond = latest.lines.map((line) => {
      const before = previousByLabel.get(line.label);
      if (latestColumn < 0 || previousColumn < 0 || before === undefined) return 0;
      return counterRate(before.counts[previousColumn], line.counts[latestColumn], 32, seconds);
    });
    return { cpu, perSecond };
  });
  return { labels: latest.lines.map((line) => line.label), rows };
}

function tableSource(fs: ProcFs, path: string, options: SamplingOptions): SampledSource<IrqTable> {
  return new SampledSource(
    () => {
      const text = fs.readTextSync(path);
      try {
        return parseIrqTable(text);
      } catch (error) {
        throw new MethodFailure(`Cannot parse "${path}": ${(error as Error).message}`);
      }
    },
    options,
    "demand",
  );
}

/**
 * A sampled source of /proc/interrupts, for the per-interrupt section of mpstat `-I`.
 *
 * @throws {MethodFailure} from `interval()` when the file cannot be read or parsed
 */
export function interruptsSource(
  fs: ProcFs,
  options: SamplingOptions = {},
): SampledSource<IrqTable> {
  return tableSource(fs, "/proc/interrupts", options);
}

/**
 * A sampled source of /proc/softirqs, for the softirq section of mpstat `-I`.
 *
 * @throws {MethodFailure} from `interval()` when the file cannot be read or parsed
 */
export function softirqsSource(fs: ProcFs, options: SamplingOptions = {}): SampledSource<IrqTable> {
  return tableSource(fs, "/proc/softirqs", options);
}
