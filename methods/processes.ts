/**
 * What the process tables share: user names from `/etc/passwd` (parsed by proc/passwd.ts), the
 * kernel's page size and the text rules of the process tables. The files of one process are
 * parsed by proc/pid.ts, and pids and tids are listed by sampling/pids.ts.
 *
 * Shared by every process-oriented method (ps, top, iotop, procrank, smem).
 *
 * @module
 */

import { parsePasswd } from "../proc/passwd.ts";
import { parseKernelPageBytes } from "../proc/smaps.ts";
import type { ProcFs } from "../proc/fs.ts";

export { parsePasswd } from "../proc/passwd.ts";

/**
 * User names of uids, from `/etc/passwd` under the file-system root. The file is read once and
 * again only when its modification time changes.
 */
export class UserNames {
  readonly #fs: ProcFs;
  #names = new Map<number, string>();
  #modifiedMs: number | undefined = Number.NaN;
  #checkedMs = Number.NEGATIVE_INFINITY;

  constructor(fs: ProcFs) {
    this.#fs = fs;
  }

  /** The name of `uid`, or undefined when /etc/passwd does not know it. */
  nameOf(uid: number): string | undefined {
    this.#refresh();
    return this.#names.get(uid);
  }

  #refresh(): void {
    // A table asks for hundreds of rows at once: look at the file at most once a second.
    const now = performance.now();
    if (now - this.#checkedMs < 1000) return;
    this.#checkedMs = now;
    const modified = this.#fs.modifiedMs("/etc/passwd");
    if (modified === this.#modifiedMs) return;
    this.#modifiedMs = modified;
    this.#names = parsePasswd(this.#fs.tryReadTextSync("/etc/passwd") ?? "");
  }
}

/** Size of a memory page in bytes, from the kernel's own report for lepd's process (or 4096). */
export function pageSizeBytes(fs: ProcFs): number {
  return parseKernelPageBytes(fs.tryReadTextSync("/proc/self/smaps") ?? "") ?? 4096;
}

/**
 * Text safe for one column of a table: control characters (a newline in a command line would
 * start a new row for every client) become `?`, as procps shows them, and so does a backslash
 * before `n`, because LEPV also splits texts on the two characters `\n`.
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]|\\(?=n)/g, "?");
}

/** The effective user shown in process tables: name, or the uid when /etc/passwd lacks it. */
export function userLabel(users: UserNames, uid: number | undefined): string {
  if (uid === undefined) return "?";
  // One token whatever /etc/passwd holds: clients split rows on whitespace.
  return users.nameOf(uid)?.replace(/\s/g, "?") ?? String(uid);
}
