/**
 * Tests that need a privilege or a tool the machine may not give: each is ignored with its
 * reason printed, so a run as an ordinary user, or without perf, passes and says what it left
 * out (README.md, "Tests", lists them).
 *
 * ```ts
 * Deno.test({ name: "…", ignore: skipUnless(IS_ROOT, "needs root"), fn: async () => {} });
 * ```
 *
 * @module
 */

/**
 * `ignore` for `Deno.test` or `t.step`: false when `condition` holds; otherwise true, after
 * printing `skipped: <name>: <reason>`.
 */
export function skipUnless(condition: boolean, reason: string, name?: string): boolean {
  if (!condition) console.warn(`skipped: ${name === undefined ? "" : `${name}: `}${reason}`);
  return !condition;
}

/** True when this process runs as root. */
export const IS_ROOT = Deno.uid() === 0;

/** True when this process can open `path` for reading (as the daemon, same user, would). */
export function canRead(path: string): boolean {
  try {
    Deno.openSync(path, { read: true }).close();
    return true;
  } catch {
    return false;
  }
}

/** True when `program` is an executable file in one of the PATH directories. */
export function onPath(program: string): boolean {
  for (const directory of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (directory === "") continue;
    try {
      const info = Deno.statSync(`${directory}/${program}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return true;
    } catch {
      // not there
    }
  }
  return false;
}
