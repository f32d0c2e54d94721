/**
 * `GetCmdFree`: busybox `free` with the `cached` column lepd added (docs/protocol.md 3.6), computed
 * from /proc/meminfo.
 *
 * @module
 */

import {
  type Meminfo,
  MEMINFO_PATH,
  meminfoKib,
  parseMeminfo,
  requireMemTotal,
} from "../proc/meminfo.ts";
import type { Collector } from "./collector.ts";

/** busybox prints every number as `%13llu`. */
function column(value: number | string): string {
  return String(value).padStart(13);
}

/**
 * Formats /proc/meminfo values (KiB, as {@link parseMeminfo} returns them) the way the
 * original's busybox `free` printed them:
 *
 * ```
 *                    total         used         free       shared      buffers       cached
 * Mem:            24684092       778132     23905960         8856         2144       598176
 * -/+ buffers/cache:             177812     24506280
 * Swap:                 0            0            0
 * ```
 *
 * `Mem:` holds MemTotal, MemTotal − MemFree, MemFree, Shmem, Buffers and Cached; the second
 * line used − Buffers − Cached and free + Buffers + Cached; `Swap:` is padded to 10 columns,
 * one less than `Mem:`, exactly as busybox misaligned it.
 *
 * A key other than MemTotal that meminfo lacks counts as 0 (Shmem appeared in Linux 2.6.32,
 * and a kernel without swap support has no SwapTotal). A difference that would be negative
 * (parts larger than their total, as some container views of meminfo report) prints as 0,
 * where busybox's unsigned arithmetic printed a number near 2^64.
 *
 * @throws {ProcParseError} when MemTotal is missing: without it no line would mean anything
 */
export function formatFree(meminfo: Meminfo): string {
  const total = requireMemTotal(meminfo);
  const value = (key: string): number => meminfoKib(meminfo, key);
  const free = value("MemFree");
  const buffers = value("Buffers");
  const cached = value("Cached");
  const used = Math.max(0, total - free);
  const swapTotal = value("SwapTotal");
  const swapFree = value("SwapFree");
  const lines = [
    " ".repeat(11) +
    ["total", "used", "free", "shared", "buffers", "cached"].map(column).join(""),
    "Mem:".padEnd(11) +
    [total, used, free, value("Shmem"), buffers, cached].map(column).join(""),
    "-/+ buffers/cache:".padEnd(24) +
    column(Math.max(0, used - buffers - cached)) + column(free + buffers + cached),
    "Swap:".padEnd(10) +
    [swapTotal, Math.max(0, swapTotal - swapFree), swapFree].map(column).join(""),
  ];
  return lines.join("\n") + "\n";
}

/** `GetCmdFree`: {@link formatFree} of the live /proc/meminfo. */
export const freeCollector: Collector = {
  async collect({ fs }) {
    return formatFree(parseMeminfo(await fs.readText(MEMINFO_PATH)));
  },
};
