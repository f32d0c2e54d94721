/**
 * `GetCmdProcrank`: Android `procrank` (docs/protocol.md 3.9), the memory table LEPV parses
 * (4.13), built from `/proc/<pid>/stat`, `smaps_rollup` (or `smaps`) and `cmdline`.
 *
 * @module
 */

import { type Meminfo, MEMINFO_PATH, meminfoKib, parseMeminfo } from "../proc/meminfo.ts";
import { byPssDescending, readMemoryUsage } from "./memory_usage.ts";
import type { MemoryUsage } from "../proc/smaps.ts";
import type { ProcFs } from "../proc/fs.ts";
import { parseCmdline, parseTaskStat } from "../proc/pid.ts";
import { printable } from "./processes.ts";
import { listPids } from "../sampling/pids.ts";
import { type Collector, KIB, type Schema } from "./collector.ts";

/** One process of the procrank table; memory in KiB. */
export interface ProcrankRow extends MemoryUsage {
  pid: number;
  /** Virtual size (`vsize` of stat, VmSize of status) in KiB. */
  vssKib: number;
  /** What the `cmdline` column shows, see {@link procrankCommand}. */
  cmdline: string;
}

/**
 * The `cmdline` column of a process: `argv[0]` of `/proc/<pid>/cmdline`, or `<unknown>` when it
 * is empty, as procrank printed it.
 *
 * Control characters become `?`, and so does the backslash of a literal `\n` (backslash, n):
 * LEPV splits the text on real newlines and on that two-character sequence (docs/protocol.md 4), and
 * a program named `a\nb` would otherwise split its row in two and stop LEPV's procrank view for
 * good. `argv[0]` is not cut at 255 bytes as procrank's buffer did (1.9: lift such limits).
 */
export function procrankCommand(cmdlineText: string): string {
  const argv0 = parseCmdline(cmdlineText)[0] ?? "";
  return argv0 === "" ? "<unknown>" : printable(argv0);
}

/** `%<width>zuK`: a KiB value right-aligned in `width` columns, then `K`. */
function kib(value: number, width: number): string {
  return `${String(value).padStart(width)}K`;
}

/**
 * Formats the procrank table: every row given (no 51-row limit), sorted by PSS descending and
 * pid ascending on ties; a `Swap` column when any row has swap; the dashes separator; the
 * `TOTAL` line summing PSS and USS over the rows; one empty line; and the `RAM:` line of
 * MemTotal, MemFree, Buffers, Cached, Shmem and Slab (a key meminfo lacks reads 0). The text
 * ends with the `RAM:` line and its newline: LEPV reads the last line as `RAM:` and the third
 * from the end as `TOTAL`.
 *
 * DEVIATION: the Swap column of the `TOTAL` line stays blank. procrank printed the swap total
 * there (in bytes), but LEPV takes the second- and third-last tokens of that line as the USS
 * and PSS totals (docs/protocol.md 4.13), so any swap total before `TOTAL` makes LEPV show the USS
 * total as PSS and the swap total as USS.
 */
export function formatProcrank(
  rows: readonly ProcrankRow[],
  meminfo: Meminfo,
): string {
  const sorted = [...rows].sort(byPssDescending);
  const hasSwap = sorted.some((row) => row.swapKib > 0);
  const lines = [
    `${"PID".padStart(5)}  ${"Vss".padStart(8)}  ${"Rss".padStart(7)}  ${"Pss".padStart(7)}  ` +
    `${"Uss".padStart(7)}  ${hasSwap ? `${"Swap".padStart(7)}  ` : ""}cmdline`,
  ];
  let totalPss = 0;
  let totalUss = 0;
  for (const row of sorted) {
    totalPss += row.pssKib;
    totalUss += row.ussKib;
    lines.push(
      `${String(row.pid).padStart(5)}  ${kib(row.vssKib, 7)}  ${kib(row.rssKib, 6)}  ` +
        `${kib(row.pssKib, 6)}  ${kib(row.ussKib, 6)}  ` +
        `${hasSwap ? `${kib(row.swapKib, 6)}  ` : ""}${row.cmdline}`,
    );
  }
  // procrank prints the separator and the total through its header's field widths, blank.
  const blank = `${"".padStart(5)}  ${"".padStart(8)}  ${"".padStart(7)}  `;
  lines.push(
    `${blank}${"------".padStart(7)}  ${"------".padStart(7)}  ` +
      `${hasSwap ? `${"------".padStart(7)}  ` : ""}------`,
    `${blank}${kib(totalPss, 6)}  ${kib(totalUss, 6)}  ${
      hasSwap ? `${"".padStart(7)}  ` : ""
    }TOTAL`,
    "",
  );
  const ram = (key: string, name: string): string => `${meminfoKib(meminfo, key)}K ${name}`;
  lines.push(
    `RAM: ${ram("MemTotal", "total")}, ${ram("MemFree", "free")}, ` +
      `${ram("Buffers", "buffers")}, ${ram("Cached", "cached")}, ${ram("Shmem", "shmem")}, ` +
      `${ram("Slab", "slab")}`,
  );
  return lines.join("\n") + "\n";
}

/**
 * Reads every process with a non-zero virtual size (kernel threads and zombies have none), in
 * pid order.
 *
 * A process is skipped when any of its files cannot be read: `stat` or `cmdline` fail only for
 * a process that exited meanwhile (both are world-readable), and smaps fails also for processes
 * lepd may not inspect (see {@link readMemoryUsage}) — procrank skips those as well, with a
 * warning on stderr nobody saw. Per-process files are read synchronously: it is about five
 * times faster than asynchronous reads for thousands of small files.
 *
 * @throws {MethodFailure} when /proc cannot be listed
 */
export function readProcrankRows(fs: ProcFs): ProcrankRow[] {
  const rows: ProcrankRow[] = [];
  for (const pid of listPids(fs)) {
    const statText = fs.tryReadTextSync(`/proc/${pid}/stat`);
    const stat = statText === undefined ? undefined : parseTaskStat(statText);
    if (stat === undefined || stat.vsizeBytes === 0) continue;
    const usage = readMemoryUsage(fs, pid);
    if (usage === undefined) continue;
    const cmdlineText = fs.tryReadTextSync(`/proc/${pid}/cmdline`);
    if (cmdlineText === undefined) continue;
    rows.push({
      pid,
      vssKib: Math.floor(stat.vsizeBytes / 1024),
      ...usage,
      cmdline: procrankCommand(cmdlineText),
    });
  }
  return rows;
}

/** `GetCmdProcrank`: {@link formatProcrank} of the live processes and /proc/meminfo. */
export const procrankCollector: Collector = {
  async collect({ fs }) {
    const rows = readProcrankRows(fs);
    return formatProcrank(rows, parseMeminfo(await fs.readText(MEMINFO_PATH)));
  },
  async json({ fs }) {
    const meminfo = parseMeminfo(await fs.readText(MEMINFO_PATH));
    const rows = readProcrankRows(fs).sort(byPssDescending);
    const ram = (key: string) => meminfoKib(meminfo, key);
    return {
      total_pss_kb: rows.reduce((sum, row) => sum + row.pssKib, 0),
      total_uss_kb: rows.reduce((sum, row) => sum + row.ussKib, 0),
      ram: {
        total_kb: ram("MemTotal"),
        free_kb: ram("MemFree"),
        buffers_kb: ram("Buffers"),
        cached_kb: ram("Cached"),
        shmem_kb: ram("Shmem"),
        slab_kb: ram("Slab"),
      },
      processes: rows.map((row) => ({
        pid: row.pid,
        vss_kb: row.vssKib,
        rss_kb: row.rssKib,
        pss_kb: row.pssKib,
        uss_kb: row.ussKib,
        swap_kb: row.swapKib,
        cmdline: row.cmdline,
      })),
    };
  },
  schema: {
    type: "object",
    fields: {
      total_pss_kb: KIB,
      total_uss_kb: KIB,
      ram: {
        type: "object",
        description: "the RAM: line, from /proc/meminfo",
        fields: Object.fromEntries(
          ["total_kb", "free_kb", "buffers_kb", "cached_kb", "shmem_kb", "slab_kb"].map((
            name,
          ) => [name, KIB]),
        ),
      },
      processes: {
        type: "array",
        description: "every readable process, largest PSS first",
        items: {
          type: "object",
          fields: {
            pid: { type: "integer" },
            vss_kb: KIB,
            rss_kb: KIB,
            pss_kb: KIB,
            uss_kb: KIB,
            swap_kb: KIB,
            cmdline: { type: "string", description: "argv[0]" },
          },
        },
      },
    },
  } satisfies Schema,
};
