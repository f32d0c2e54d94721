/**
 * Waiting on the test's own child processes, and looking at this process's descriptors, through
 * /proc.
 *
 * @module
 */

/**
 * Polls `condition` every 10 ms until it holds, at most `looks` times; bounded by the number of
 * looks, not by a clock.
 *
 * @throws {Error} naming `what` when it never held
 */
export async function waitFor(condition: () => boolean, what: string, looks = 500): Promise<void> {
  for (let look = 0; look < looks; look++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** `/proc/<pid>/cmdline` as it is (NULs between arguments), or "" when it cannot be read. */
export function cmdlineOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return "";
  }
}

/**
 * The open descriptors of process `pid` (or this process) and what each points at, as its /proc
 * link reads: a path, `socket:[inode]`, `pipe:[inode]` … A descriptor closed meanwhile is left out.
 */
export function descriptorTargets(pid: number | "self" = "self"): { fd: number; target: string }[] {
  const descriptors: { fd: number; target: string }[] = [];
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`);
      descriptors.push({ fd: Number(entry.name), target });
    } catch {
      // Closed meanwhile (for this process: the descriptor of the listing itself).
    }
  }
  return descriptors;
}

/** How many of this process's descriptors are open on `path`. */
export function descriptorsOn(path: string): number {
  return descriptorTargets().filter(({ target }) => target === path).length;
}
