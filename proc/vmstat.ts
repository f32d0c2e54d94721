/**
 * `/proc/vmstat`: the kernel's virtual-memory counters, one `name value` line each
 * (`nr_free_pages 881582`, `pgpgin 721401` …), every kernel writing dozens of them.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel publishes the counters. */
export const VMSTAT_PATH = "/proc/vmstat";

/** The counters vmstat uses from `/proc/vmstat`, since boot. */
export interface VmCounters {
  /** KiB read from and written to block devices (the kernel converts sectors to KiB). */
  pgpgin: number;
  pgpgout: number;
  /** Pages swapped in and out. */
  pswpin: number;
  pswpout: number;
}

/**
 * Reads `name value` lines into every counter they have, in file order; a value that is not a
 * number reads 0. The lenient core of {@link parseVmstat}, for a text known to be vmstat.
 */
export function parseVmstatFields(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [name, value] = line.split(" ");
    if (name !== undefined && name !== "") fields.set(name, Number(value) || 0);
  }
  return fields;
}

/**
 * Parses `/proc/vmstat` into every counter it has, in file order.
 *
 * @throws {ProcParseError} when no line is a `name number` pair (empty text, garbage)
 */
export function parseVmstat(text: string): Map<string, number> {
  if (!/^\w+ \d+$/m.test(text)) {
    throw new ProcParseError(VMSTAT_PATH, "no line is a counter name and a number");
  }
  return parseVmstatFields(text);
}

/** The four counters vmstat uses; counters a kernel lacks read 0. */
export function vmCounters(fields: ReadonlyMap<string, number>): VmCounters {
  return {
    pgpgin: fields.get("pgpgin") ?? 0,
    pgpgout: fields.get("pgpgout") ?? 0,
    pswpin: fields.get("pswpin") ?? 0,
    pswpout: fields.get("pswpout") ?? 0,
  };
}

/** {@link vmCounters} of a text known to be vmstat (an empty text reads all 0). */
export function parseVmCounters(text: string): VmCounters {
  return vmCounters(parseVmstatFields(text));
}
