/**
 * The sizes of mounted file systems, from `statfs(2)` of each mount point: what `GetCmdDf` and the
 * Prometheus file system families show.
 *
 * @module
 */

import type { BigIntStatsFs } from "node:fs";
import { statfs } from "node:fs/promises";

/** A statfs that has not answered by then (a hung network mount) is skipped. */
const STATFS_TIMEOUT_MS = 2000;

/**
 * File system types whose `statfs` always reports no blocks (the kernel's `simple_statfs`), so
 * busybox never lists them. They are skipped without asking: a `df` among a dozen cgroup
 * hierarchies then costs a few calls, not twenty, and an autofs mount point is not mounted by
 * being looked at.
 */
export const BLOCKLESS_TYPES: ReadonlySet<string> = new Set([
  "autofs",
  "binfmt_misc",
  "bpf",
  "cgroup",
  "cgroup2",
  "configfs",
  "debugfs",
  "devpts",
  "fusectl",
  "mqueue",
  "nsfs",
  "proc",
  "pstore",
  "ramfs",
  "rpc_pipefs",
  "securityfs",
  "selinuxfs",
  "sysfs",
  "tracefs",
]);

/** What `statfs` reports of one file system, in bytes. */
export interface FsSizes {
  totalBytes: bigint;
  /** Bytes in use: total minus free (`f_blocks − f_bfree`). */
  usedBytes: bigint;
  /** Bytes available to unprivileged users (`f_bavail`). */
  availableBytes: bigint;
}

/** statfs calls that have not answered yet, by path. */
const statfsInFlight = new Map<string, Promise<BigIntStatsFs>>();

/**
 * `statfs` of a path, sharing a call still in flight: a hung mount then holds one blocked
 * thread of the runtime however often it is polled, not one more per request.
 */
function statfsShared(path: string): Promise<BigIntStatsFs> {
  let pending = statfsInFlight.get(path);
  if (pending === undefined) {
    pending = statfs(path, { bigint: true }).finally(() => statfsInFlight.delete(path));
    statfsInFlight.set(path, pending);
  }
  return pending;
}

/**
 * The sizes of the file system at `path`, or undefined when it cannot be stat'ed within
 * 2 seconds or has no blocks (proc, sysfs, cgroup and other pseudo file systems), as busybox
 * skips them.
 */
export async function statSizes(path: string): Promise<FsSizes | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), STATFS_TIMEOUT_MS);
  });
  try {
    const stats = await Promise.race([statfsShared(path), timeout]);
    if (stats === undefined || stats.blocks === 0n) return undefined;
    // f_blocks counts fragments of f_frsize bytes. Deno reports f_frsize although Node's types
    // lack it; where it is missing or 0 (as busybox guards against) f_bsize stands in.
    const fragmentBytes = (stats as { frsize?: bigint }).frsize ?? 0n;
    const blockBytes = fragmentBytes > 0n ? fragmentBytes : stats.bsize;
    return {
      totalBytes: stats.blocks * blockBytes,
      usedBytes: (stats.blocks > stats.bfree ? stats.blocks - stats.bfree : 0n) * blockBytes,
      availableBytes: stats.bavail * blockBytes,
    };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
