/**
 * `/proc/cpuinfo`: `key : value` lines, one block per CPU on most architectures (separated by
 * blank lines), a single block with a header on old ARM kernels. Layouts differ so much between
 * architectures that the parser keeps every field as text; what a field means is the reader's.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel describes the CPUs. */
export const CPUINFO_PATH = "/proc/cpuinfo";

/** One `key : value` line, both trimmed (`["model name", "Intel(R) Xeon(R) …"]`). */
export type CpuinfoField = readonly [key: string, value: string];

/** The fields of a /proc/cpuinfo text. */
export interface Cpuinfo {
  /** Every field, in file order. */
  fields: CpuinfoField[];
  /** The fields before the first blank line (the first CPU's block, or the whole file). */
  firstBlock: CpuinfoField[];
}

/** One `key : value` line, both trimmed; undefined for other lines. */
function keyValue(line: string): CpuinfoField | undefined {
  const colon = line.indexOf(":");
  if (colon < 0) return undefined;
  return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
}

/**
 * Parses `/proc/cpuinfo`; lines without a colon are skipped.
 *
 * @throws {ProcParseError} when no line is a `key : value` field (empty text, garbage)
 */
export function parseCpuinfo(text: string): Cpuinfo {
  const fields: CpuinfoField[] = [];
  let firstBlockLength: number | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      firstBlockLength ??= fields.length;
      continue;
    }
    const field = keyValue(line);
    if (field !== undefined) fields.push(field);
  }
  if (fields.length === 0) throw new ProcParseError(CPUINFO_PATH, "no line is a key and a value");
  return { fields, firstBlock: fields.slice(0, firstBlockLength ?? fields.length) };
}

/**
 * CPUs listed by the `processor : N` fields (highest N + 1); 1 when there is none, as
 * uniprocessor ARM kernels print the file.
 */
export function processorCount(cpuinfo: Cpuinfo): number {
  let highest = -1;
  for (const [key, value] of cpuinfo.fields) {
    if (key === "processor" && /^\d+$/.test(value)) highest = Math.max(highest, Number(value));
  }
  return highest + 1 || 1;
}
