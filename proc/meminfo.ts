/**
 * `/proc/meminfo`: the kernel's memory figures, `Key:  value kB` per line, parsed into a map of
 * KiB by key (`kB` in the kernel's text means KiB). Every kernel writes `MemTotal` first, so a
 * text without it is not meminfo: {@link parseMeminfo} and {@link requireMemTotal} fail alike.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel publishes the figures. */
export const MEMINFO_PATH = "/proc/meminfo";

/** /proc/meminfo values in KiB by key (`MemTotal`, `MemFree`, `HugePages_Total` …), in file order. */
export type Meminfo = ReadonlyMap<string, number>;

/**
 * Parses `key: value [kB]` lines (the layout of `/proc/meminfo`, `smaps_rollup` and `status`)
 * into numbers; lines whose value is not a number are skipped. The lenient core of
 * {@link parseMeminfo}, which also checks that the text is meminfo.
 */
export function parseKeyNumbers(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    // parseInt skips the blanks before the number and stops at the unit after it.
    const value = Number.parseInt(line.slice(colon + 1), 10);
    if (Number.isFinite(value)) values.set(line.slice(0, colon).trim(), value);
  }
  return values;
}

/**
 * Parses `/proc/meminfo`.
 *
 * @throws {ProcParseError} when the text has no `MemTotal` line (empty, garbage, truncated)
 */
export function parseMeminfo(text: string): Meminfo {
  const meminfo = parseKeyNumbers(text);
  requireMemTotal(meminfo);
  return meminfo;
}

/**
 * `MemTotal` in KiB: the figure without which no memory table means anything.
 *
 * @throws {ProcParseError} naming /proc/meminfo when the map has no `MemTotal`
 */
export function requireMemTotal(meminfo: Meminfo): number {
  const total = meminfo.get("MemTotal");
  if (total === undefined) throw new ProcParseError(MEMINFO_PATH, 'it has no "MemTotal" line');
  return total;
}

/**
 * The value of `key` in KiB, 0 when this kernel lacks it (Shmem appeared in Linux 2.6.32, a
 * kernel without swap support has no SwapTotal, SReclaimable came with 2.6.19).
 */
export function meminfoKib(meminfo: Meminfo, key: string): number {
  return meminfo.get(key) ?? 0;
}
