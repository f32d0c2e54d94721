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

/** A count at the start of the remaining text: blanks, digits, then a blank or the end. */
const COUNT = /[ \t]*(\d+)(?=[ \t]|$)/y;

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
