/**
 * `/proc/interrupts` and `/proc/softirqs`: their per-CPU count tables, one layout for both — a
 * header of `CPUn` columns, then `label: count count … [description]` lines.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel publishes the interrupt counts. */
export const INTERRUPTS_PATH = "/proc/interrupts";

/** Where the kernel publishes the softirq counts. */
export const SOFTIRQS_PATH = "/proc/softirqs";

/** The two files of this layout. */
export type IrqTablePath = typeof INTERRUPTS_PATH | typeof SOFTIRQS_PATH;

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

const SPACE = 0x20;
const TAB = 0x09;
const ZERO = 0x30;
const NINE = 0x39;

/** Digits a count may have and still be summed exactly in a double (below 2^53). */
const EXACT_DIGITS = 15;

/**
 * The counts of one line after its colon, into `counts` (one per column): each is blanks, then
 * digits followed by a blank or the end of the line. Scanning stops at the first column that does
 * not hold one, and returns where the counts ended (the description starts there).
 */
function scanCounts(line: string, from: number, counts: number[]): number {
  let at = from;
  let end = from;
  for (let column = 0; column < counts.length; column++) {
    let code = line.charCodeAt(at);
    while (code === SPACE || code === TAB) code = line.charCodeAt(++at);
    const start = at;
    let value = 0;
    while (code >= ZERO && code <= NINE) {
      value = value * 10 + (code - ZERO);
      code = line.charCodeAt(++at);
    }
    // No digits, or digits running into something else (`12ab`): not a count.
    if (at === start || !(Number.isNaN(code) || code === SPACE || code === TAB)) break;
    counts[column] = at - start > EXACT_DIGITS ? Number(line.slice(start, at)) : value;
    end = at;
  }
  return end;
}

/**
 * Parses /proc/interrupts or /proc/softirqs (both have the same layout: a header of `CPUn`
 * columns, then `label: count count … [description]` lines). Lines without a colon or with an
 * empty label, such as the blank-padded last line of some ARM kernels, are skipped.
 *
 * @param path the file the text is, named by the error
 * @throws {ProcParseError} when no line names a `CPUn` column (empty text, garbage)
 */
export function parseIrqTable(text: string, path: IrqTablePath = INTERRUPTS_PATH): IrqTable {
  const lines = text.split("\n");
  let index = 0;
  let cpus: number[] = [];
  // sysstat's rule: the header is the first line that names a CPU at all.
  for (; index < lines.length && cpus.length === 0; index++) {
    cpus = Array.from(lines[index]!.matchAll(/CPU(\d+)/g), (match) => Number(match[1]));
  }
  if (cpus.length === 0) throw new ProcParseError(path, 'no header line of "CPUn" columns');
  const table: IrqTable = { cpus, lines: [] };
  for (; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const label = line.slice(0, colon).trim();
    if (label === "") continue;
    const counts = new Array<number>(cpus.length).fill(0);
    const end = scanCounts(line, colon + 1, counts);
    table.lines.push({ label, counts, description: line.slice(end).trim() });
  }
  return table;
}
