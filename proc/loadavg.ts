/**
 * `/proc/loadavg`: `0.13 0.09 0.03 2/106 3256`, the load averages over 1, 5 and 15 minutes
 * first.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel publishes the load averages. */
export const LOADAVG_PATH = "/proc/loadavg";

/** Load averages over 1, 5 and 15 minutes. */
export type LoadAverages = [one: number, five: number, fifteen: number];

/**
 * The three load averages of `/proc/loadavg`.
 *
 * @throws {ProcParseError} when the text does not start with three numbers (empty, garbage)
 */
export function parseLoadavg(text: string): LoadAverages {
  const [one, five, fifteen] = text.trim().split(/\s+/, 3).map((field) =>
    /^\d+(\.\d+)?$/.test(field) ? Number(field) : Number.NaN
  );
  if (
    one === undefined || five === undefined || fifteen === undefined ||
    [one, five, fifteen].some(Number.isNaN)
  ) {
    throw new ProcParseError(LOADAVG_PATH, "it does not start with three load averages");
  }
  return [one, five, fifteen];
}
