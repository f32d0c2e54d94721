/**
 * The listing of processes and threads: the numeric entries of `/proc` and `/proc/<pid>/task`.
 *
 * @module
 */

import type { ProcFs } from "../proc/fs.ts";

/** Numeric entries of a directory (pids of `/proc`, tids of `/proc/<pid>/task`), ascending. */
export function numericNames(names: readonly string[]): number[] {
  const numbers: number[] = [];
  for (const name of names) {
    if (/^\d+$/.test(name)) numbers.push(Number(name));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * The pids of all processes.
 *
 * @throws {MethodFailure} when /proc cannot be listed
 */
export function listPids(fs: ProcFs): number[] {
  return numericNames(fs.readDirNames("/proc"));
}

/** The tids of one process; empty when the process has exited meanwhile. */
export function listTids(fs: ProcFs, pid: number): number[] {
  return numericNames(fs.tryReadDirNames(`/proc/${pid}/task`) ?? []);
}
