/**
 * Memory use of one process as the kernel's smaps files report it (parsed by proc/smaps.ts):
 * the numbers behind `GetCmdProcrank` and `GetCmdSmem`. A reader that prefers
 * `/proc/<pid>/smaps_rollup` (Linux 4.14 and later) and falls back to summing
 * `/proc/<pid>/smaps` on older kernels, and the sort order both tables share.
 *
 * @module
 */

import { type MemoryUsage, parseSmapsUsage } from "../proc/smaps.ts";
import type { ProcFs } from "../proc/fs.ts";

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
