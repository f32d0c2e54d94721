/**
 * `/proc/uptime`: `12345.67 24000.00`, seconds since boot and the idle seconds of all CPUs.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel publishes the uptime. */
export const UPTIME_PATH = "/proc/uptime";

/**
 * Seconds since boot, the first field of `/proc/uptime`.
 *
 * @throws {ProcParseError} when the text does not start with a number of seconds
 */
export function parseUptimeSeconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\s|$)/.exec(text);
  if (match === null) {
    throw new ProcParseError(UPTIME_PATH, "it does not start with the seconds since boot");
  }
  return Number(match[1]);
}
