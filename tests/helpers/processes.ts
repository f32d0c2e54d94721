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

/** How many of this process's descriptors are open on `path` (by their /proc/self/fd links). */
export function descriptorsOn(path: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === path) count++;
    } catch {
      // The descriptor of the listing itself, closed by now.
    }
  }
  return count;
}
