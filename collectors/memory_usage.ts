/**
 * Memory use of one process as the kernel's smaps files report it: the numbers behind
 * `GetCmdProcrank` and `GetCmdSmem`. A pure parser, a reader that prefers
 * `/proc/<pid>/smaps_rollup` (Linux 4.14 and later) and falls back to summing
 * `/proc/<pid>/smaps` on older kernels, and the sort order both tables share.
 *
 * @module
 */

import type { ProcFs } from "./proc_fs.ts";

/** Memory of one process in KiB (kB as the kernel prints it, which means KiB). */
export interface MemoryUsage {
  /** Resident set size: present pages of every mapping, shared ones counted in full. */
  rssKib: number;
  /** Proportional set size: each resident page divided by the number of processes mapping it. */
  pssKib: number;
  /** Unique set size, `Private_Clean` + `Private_Dirty`: what exiting the process would free. */
  ussKib: number;
  /** Swapped-out memory of the process (not divided among sharers). */
  swapKib: number;
}

// `Swap:` only, not `SwapPss:`; `Private_Clean:` and `Private_Dirty:`, not `Private_Hugetlb:`.
const SMAPS_LINE = /^(Rss|Pss|Private_Clean|Private_Dirty|Swap):[ \t]*(\d+)/gm;

/**
 * Sums `Rss`, `Pss`, `Private_Clean` + `Private_Dirty` (USS) and `Swap` over every mapping of an
 * smaps text. `smaps_rollup` is one block holding the totals, so the same parser reads both.
 *
 * @returns undefined when the text has no `Rss:` line: the empty file of a kernel thread or a
 *   zombie (no address space), or text that is not smaps at all
 */
export function parseSmapsUsage(text: string): MemoryUsage | undefined {
  const usage: MemoryUsage = { rssKib: 0, pssKib: 0, ussKib: 0, swapKib: 0 };
  let hasRss = false;
  for (const [, key, value] of text.matchAll(SMAPS_LINE)) {
    const kib = Number(value);
    switch (key) {
      case "Rss":
        usage.rssKib += kib;
        hasRss = true;
        break;
      case "Pss":
        usage.pssKib += kib;
        break;
      case "Swap":
        usage.swapKib += kib;
        break;
      default:
        usage.ussKib += kib;
    }
  }
  return hasRss ? usage : undefined;
}

/**
 * Reads the memory use of one process from `smaps_rollup`, or from `smaps` when the rollup
 * cannot be read (kernels before 4.14 have none).
 *
 * @returns undefined when neither file can be read or holds no mapping. Both need ptrace read
 *   access to the process, so this covers a process that exited, one of another user when
 *   lepd is not root, and one the kernel protects even from root (e.g. a non-dumpable process
 *   of another user namespace). Callers skip such processes, as Android's procrank and smem
 *   do: zeros would look like a measurement and distort the totals.
 */
export function readMemoryUsage(fs: ProcFs, pid: number): MemoryUsage | undefined {
  const text = fs.tryReadTextSync(`/proc/${pid}/smaps_rollup`) ??
    fs.tryReadTextSync(`/proc/${pid}/smaps`);
  return text === undefined ? undefined : parseSmapsUsage(text);
}

/**
 * Orders table rows by PSS, largest first; equal PSS by pid, smallest first, so the output
 * does not depend on the order processes were read in.
 */
export function byPssDescending(
  a: { pid: number; pssKib: number },
  b: { pid: number; pssKib: number },
): number {
  return b.pssKib - a.pssKib || a.pid - b.pid;
}
