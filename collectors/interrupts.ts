/**
 * `/proc/interrupts` and `/proc/softirqs`: pure parsers of their per-CPU count tables, the
 * increase of a kernel counter between two readings (32-bit wraparound included), rates per CPU
 * over an interval, and sampled sources of both files for the mpstat `-I` method.
 *
 * Counts are JavaScript numbers. They are exact up to 2^53 (`Number.MAX_SAFE_INTEGER`); the
 * kernel's per-CPU interrupt and softirq counters are 32-bit (`unsigned int`) and only the sums
 * in /proc/stat are 64-bit, which would need ≈ 285 years at a million interrupts a second to pass
 * 2^53. Beyond it a count keeps its magnitude and loses its last digits (the spacing of doubles,
 * 2048 near 2^64), so a rate is off by at most that spacing per interval — it never wraps.
 *
 * @module
 */

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

/** Per-CPU interrupt and softirq counters are `unsigned int` in the kernel: they wrap at 2^32. */
const WRAP = 2 ** 32;

/**
 * How much a kernel counter grew between two readings, never negative.
 *
 * A decrease is read modulo 2^32: a per-CPU counter that passed 2^32 − 1 and went on from 0, and
 * a 64-bit sum of such counters (/proc/stat's `intr` total on x86 and its `softirq` total) that
 * dropped by 2^32 when one of them wrapped, both fall short of the truth by a multiple of 2^32 —
 * sysstat gets the first right by unsigned arithmetic and the second wrong. A decrease that is
 * not a wrap by that reading (it would mean 2^31 or more events in one interval), such as a
 * counter that started again from 0 because its interrupt was freed and allocated anew, counts
 * as no increase rather than a huge one.
 */
export function counterIncrease(previous: number, latest: number): number {
  if (latest >= previous) return latest - previous;
  const modulo = ((latest - previous) % WRAP + WRAP) % WRAP;
  return modulo < WRAP / 2 ? modulo : 0;
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
      if (latestColumn < 0 || previousColumn < 0 || before === undefined || seconds <= 0) {
        return 0;
      }
      return counterIncrease(before.counts[previousColumn]!, line.counts[latestColumn]!) /
        seconds;
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
