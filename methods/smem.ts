/**
 * `GetCmdSmem`: the table of `smem -p -s pss -r` (docs/protocol.md 3.15, a historical method):
 * every process with a command line, its owner and its swap (as a share of SwapTotal) and USS,
 * PSS and RSS (as shares of MemTotal), largest PSS first.
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
import { MethodFailure } from "../failure.ts";
import { byPssDescending, readMemoryUsage } from "./memory_usage.ts";
import type { MemoryUsage } from "../proc/smaps.ts";
import type { ProcFs } from "../proc/fs.ts";
import { parseCmdline, parseStatusUid } from "../proc/pid.ts";
import { printable, userLabel, type UserNames } from "./processes.ts";
import { listPids } from "../sampling/pids.ts";
import { type Collector, KIB, type Schema } from "./collector.ts";

/** Width of smem's `Command` column (`%-27.27s`: cut and padded to 27 characters). */
const COMMAND_WIDTH = 27;

/** One process of the smem table; memory in KiB. */
export interface SmemRow extends MemoryUsage {
  pid: number;
  /** Owner's name, or the numeric uid when /etc/passwd does not know it (see `userLabel`). */
  user: string;
  /** The whole command line, arguments joined by spaces. */
  command: string;
}

/** `text` left-aligned in `width` characters (code points, as Python counts), cut if longer. */
function fitColumn(text: string, width: number): string {
  const characters = Array.from(text);
  if (characters.length >= width) return characters.slice(0, width).join("");
  return text + " ".repeat(width - characters.length);
}

/** `text` left-aligned in at least `width` characters, never cut (smem's `%-8s`). */
function padColumn(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - Array.from(text).length));
}

/**
 * Formats the smem table:
 *
 * ```
 *   PID User     Command                         Swap      USS      PSS      RSS
 *  6938 alice    /usr/lib/firefox/firefox -c    0.00%    0.64%    0.65%    0.69%
 * ```
 *
 * pid `% 5s`, user `%-8s` (a longer name pushes the line right), command `%-27.27s`, then the
 * four values as `%.2f%%` right-aligned in 8 columns, separated by one space as smem does
 * (without smem's trailing space). Rows are sorted by PSS descending, pid ascending on ties; all
 * of them are printed.
 *
 * As smem 1.5 computes them (`showtable`: `showamount(x, st)` for swap, `showamount(x, mt)` for
 * the others): Swap is a share of SwapTotal, `N/A` when the machine has no swap; USS, PSS and
 * RSS are shares of MemTotal.
 *
 * @throws {MethodFailure} when meminfo has no MemTotal, or 0, to divide by
 */
export function formatSmem(
  rows: readonly SmemRow[],
  meminfo: Meminfo,
): string {
  const memTotal = requireMemTotal(meminfo);
  if (memTotal <= 0) {
    throw new MethodFailure(
      `Cannot compute smem percentages: MemTotal of "${MEMINFO_PATH}" is "${memTotal}"`,
    );
  }
  const swapTotal = meminfoKib(meminfo, "SwapTotal");
  const share = (kib: number, total: number): string =>
    (total > 0 ? `${(100 * kib / total).toFixed(2)}%` : "N/A").padStart(8);
  const lines = [
    `${"PID".padStart(5)} ${padColumn("User", 8)} ${fitColumn("Command", COMMAND_WIDTH)} ` +
    ["Swap", "USS", "PSS", "RSS"].map((name) => name.padStart(8)).join(" "),
  ];
  for (const row of [...rows].sort(byPssDescending)) {
    lines.push(
      `${String(row.pid).padStart(5)} ${padColumn(row.user, 8)} ` +
        `${fitColumn(row.command, COMMAND_WIDTH)} ` +
        [
          share(row.swapKib, swapTotal),
          ...[row.ussKib, row.pssKib, row.rssKib].map((kib) => share(kib, memTotal)),
        ].join(" "),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Reads every process with a non-empty command line (smem skips kernel threads; zombies have
 * none either), in pid order. The owner is the effective uid of `status`, which is also the
 * owner of `/proc/<pid>` that smem looks up.
 *
 * A process is skipped when its files cannot be read: it exited, or lepd may not read its
 * smaps (see {@link readMemoryUsage}); smem skips those too.
 *
 * @throws {MethodFailure} when /proc cannot be listed
 */
export function readSmemRows(fs: ProcFs, users: UserNames): SmemRow[] {
  const rows: SmemRow[] = [];
  for (const pid of listPids(fs)) {
    const cmdlineText = fs.tryReadTextSync(`/proc/${pid}/cmdline`);
    if (cmdlineText === undefined) continue;
    const command = parseCmdline(cmdlineText).join(" ");
    if (command === "") continue;
    const usage = readMemoryUsage(fs, pid);
    if (usage === undefined) continue;
    const statusText = fs.tryReadTextSync(`/proc/${pid}/status`);
    if (statusText === undefined) continue;
    rows.push({
      pid,
      user: userLabel(users, parseStatusUid(statusText)),
      command: printable(command),
      ...usage,
    });
  }
  return rows;
}

/**
 * `GetCmdSmem`: {@link formatSmem} of the live processes.
 *
 * @param users user names, read from the `/etc/passwd` of the same root as the collector's fs
 */
export function smemCollector(users: UserNames): Collector {
  return {
    async collect({ fs }) {
      const rows = readSmemRows(fs, users);
      return formatSmem(rows, parseMeminfo(await fs.readText(MEMINFO_PATH)));
    },
    async json({ fs }) {
      const meminfo = parseMeminfo(await fs.readText(MEMINFO_PATH));
      const rows = readSmemRows(fs, users).sort(byPssDescending);
      return {
        mem_total_kb: requireMemTotal(meminfo),
        swap_total_kb: meminfoKib(meminfo, "SwapTotal"),
        processes: rows.map((row) => ({
          pid: row.pid,
          user: row.user,
          command: row.command,
          swap_kb: row.swapKib,
          uss_kb: row.ussKib,
          pss_kb: row.pssKib,
          rss_kb: row.rssKib,
        })),
      };
    },
    schema: SMEM_SCHEMA,
  };
}

/** The schema of `GetCmdSmem`'s JSON: the figures in KiB (the text shows shares of them). */
export const SMEM_SCHEMA: Schema = {
  type: "object",
  fields: {
    mem_total_kb: KIB,
    swap_total_kb: KIB,
    processes: {
      type: "array",
      description: "largest PSS first, as in the text",
      items: {
        type: "object",
        fields: {
          pid: { type: "integer" },
          user: { type: "string" },
          command: { type: "string" },
          swap_kb: KIB,
          uss_kb: KIB,
          pss_kb: KIB,
          rss_kb: KIB,
        },
      },
    },
  },
};
