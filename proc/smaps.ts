/**
 * `/proc/<pid>/smaps` and `/proc/<pid>/smaps_rollup`: the memory of each mapping of a process,
 * or the totals over all of them, as `Key:  value kB` lines.
 *
 * A kernel thread or a zombie has an empty smaps (no address space), and a process may exit
 * while it is read: a text without what is asked for gives undefined, never an error.
 *
 * @module
 */

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
 * The size of the pages backing a mapping, from the first `KernelPageSize` line of an smaps
 * text, in bytes.
 *
 * @returns undefined when the text has none (empty smaps, a kernel before 2.6.29)
 */
export function parseKernelPageBytes(text: string): number | undefined {
  const match = /^KernelPageSize:\s+(\d+) kB/m.exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}
