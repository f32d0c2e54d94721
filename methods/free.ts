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
import { type Collector, KIB, type Schema } from "./collector.ts";

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
  const row = freeRow(meminfo);
  const lines = [
    " ".repeat(11) +
    ["total", "used", "free", "shared", "buffers", "cached"].map(column).join(""),
    "Mem:".padEnd(11) +
    [row.total_kb, row.used_kb, row.free_kb, row.shared_kb, row.buffers_kb, row.cached_kb]
      .map(column).join(""),
    "-/+ buffers/cache:".padEnd(24) +
    column(row.used_minus_buffers_cache_kb) + column(row.free_plus_buffers_cache_kb),
    "Swap:".padEnd(10) +
    [row.swap_total_kb, row.swap_used_kb, row.swap_free_kb].map(column).join(""),
  ];
  return lines.join("\n") + "\n";
}

/** The numbers of `free` (KiB), which the text and the JSON show. */
export interface FreeRow {
  total_kb: number;
  used_kb: number;
  free_kb: number;
  shared_kb: number;
  buffers_kb: number;
  cached_kb: number;
  used_minus_buffers_cache_kb: number;
  free_plus_buffers_cache_kb: number;
  swap_total_kb: number;
  swap_used_kb: number;
  swap_free_kb: number;
}

/**
 * The figures of {@link formatFree}.
 *
 * @throws {ProcParseError} when MemTotal is missing
 */
export function freeRow(meminfo: Meminfo): FreeRow {
  const total = requireMemTotal(meminfo);
  const value = (key: string): number => meminfoKib(meminfo, key);
  const free = value("MemFree");
  const buffers = value("Buffers");
  const cached = value("Cached");
  const used = Math.max(0, total - free);
  const swapTotal = value("SwapTotal");
  const swapFree = value("SwapFree");
  return {
    total_kb: total,
    used_kb: used,
    free_kb: free,
    shared_kb: value("Shmem"),
    buffers_kb: buffers,
    cached_kb: cached,
    used_minus_buffers_cache_kb: Math.max(0, used - buffers - cached),
    free_plus_buffers_cache_kb: free + buffers + cached,
    swap_total_kb: swapTotal,
    swap_used_kb: Math.max(0, swapTotal - swapFree),
    swap_free_kb: swapFree,
  };
}

/** The schema of `GetCmdFree`'s JSON. */
export const FREE_SCHEMA: Schema = {
  type: "object",
  fields: {
    total_kb: KIB,
    used_kb: KIB,
    free_kb: KIB,
    shared_kb: KIB,
    buffers_kb: KIB,
    cached_kb: KIB,
    used_minus_buffers_cache_kb: KIB,
    free_plus_buffers_cache_kb: KIB,
    swap_total_kb: KIB,
    swap_used_kb: KIB,
    swap_free_kb: KIB,
  },
};

/** `GetCmdFree`: {@link formatFree} of the live /proc/meminfo. */
export const freeCollector: Collector = {
  async collect({ fs }) {
    return formatFree(parseMeminfo(await fs.readText(MEMINFO_PATH)));
  },
  async json({ fs }) {
    return freeRow(parseMeminfo(await fs.readText(MEMINFO_PATH)));
  },
  schema: FREE_SCHEMA,
};
