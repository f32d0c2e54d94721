/**
 * The sizes of mounted file systems, from `statfs(2)` of each mount point: what `GetCmdDf` and the
 * Prometheus file system families show.
 *
 * @module
 */

import {
  cString,
  libc,
  libcProblem,
  STATFS_BYTES,
  type StatfsFields,
  statfsFields,
} from "../libc.ts";
import type { MountEntry as Mount } from "../proc/mounts.ts";
import { MethodFailure } from "../failure.ts";

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

/**
 * File system types on local storage or in memory, whose `statfs` answers from counters the
 * kernel keeps in memory, without waiting on a device or a server. A mount of one of these that
 * lies under mounts of these only is stat'ed synchronously (a few microseconds, against about 35
 * for a statfs handed to the runtime's thread pool). Any other type — NFS, CIFS, FUSE, Ceph, 9p,
 * overlay (whose upper layer may be any of them), ZFS (whose pool may be suspended) and every
 * type not listed — is stat'ed asynchronously with the 2 s timeout, so a hung server can never
 * stall the daemon.
 */
export const LOCAL_TYPES: ReadonlySet<string> = new Set([
  "btrfs",
  "cramfs",
  "devtmpfs",
  "efivarfs",
  "erofs",
  "exfat",
  "ext2",
  "ext3",
  "ext4",
  "f2fs",
  "hfsplus",
  "hugetlbfs",
  "iso9660",
  "jffs2",
  "jfs",
  "msdos",
  "nilfs2",
  "ntfs3",
  "ramfs",
  "reiserfs",
  "romfs",
  // The initial ramfs or tmpfs, listed under "/" on some systems beneath the real root.
  "rootfs",
  "squashfs",
  "tmpfs",
  "ubifs",
  "udf",
  "vfat",
  "xfs",
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
const statfsInFlight = new Map<string, Promise<StatfsFields | undefined>>();

/**
 * libc, or a failure that says why statfs is out of reach.
 *
 * @throws {MethodFailure} where libc cannot be opened
 */
function statfsLibc() {
  const functions = libc();
  if (functions === null) {
    throw new MethodFailure(
      `Cannot stat file systems: statfs needs libc through FFI: ${libcProblem()}`,
    );
  }
  return functions;
}

/**
 * `statfs` of a path on a thread of the runtime's blocking pool, sharing a call still in
 * flight: a hung mount then holds one blocked thread however often it is polled, not one more
 * per request.
 */
function statfsShared(path: string): Promise<StatfsFields | undefined> {
  let pending = statfsInFlight.get(path);
  if (pending === undefined) {
    const name = cString(path);
    const buffer = new Uint8Array(STATFS_BYTES);
    pending = statfsLibc().statfsOffThread(name, buffer)
      .then((status) => status === 0 ? statfsFields(buffer) : undefined)
      .finally(() => statfsInFlight.delete(path));
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
    return sizesOf(await Promise.race([statfsShared(path), timeout]));
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** The one buffer of synchronous statfs calls: the main isolate makes one at a time. */
const syncBuffer = new Uint8Array(STATFS_BYTES);

/**
 * {@link statSizes} without a thread hop or a timeout, for a local file system only (see
 * {@link LOCAL_TYPES}): it blocks the caller until the kernel answers.
 */
export function statSizesSync(path: string): FsSizes | undefined {
  try {
    if (statfsLibc().statfs(cString(path), syncBuffer) !== 0) return undefined;
    return sizesOf(statfsFields(syncBuffer));
  } catch {
    return undefined;
  }
}

function sizesOf(stats: StatfsFields | undefined): FsSizes | undefined {
  if (stats === undefined || stats.blocks === 0n) return undefined;
  // f_blocks counts fragments of f_frsize bytes; where f_frsize is 0 (as busybox guards
  // against) f_bsize stands in.
  const blockBytes = stats.frsize > 0n ? stats.frsize : stats.bsize;
  return {
    totalBytes: stats.blocks * blockBytes,
    usedBytes: (stats.blocks > stats.bfree ? stats.blocks - stats.bfree : 0n) * blockBytes,
    availableBytes: stats.bavail * blockBytes,
  };
}

/**
 * The test of `mounts`: true for a mount of {@link LOCAL_TYPES} when every mount its mount point
 * lies under (`/` and each proper ancestor directory) is of them too, or is one of the kernel's
 * own file systems (proc, sysfs, cgroup…: {@link BLOCKLESS_TYPES}), except autofs, whose
 * directories may mount something when crossed. The mount points to avoid are gathered once, so
 * each mount costs a look-up per directory of its path, not a pass over the table.
 */
export function locallyReachable(mounts: readonly Mount[]): (mount: Mount) => boolean {
  const avoided = new Set(
    mounts.filter((other) =>
      !LOCAL_TYPES.has(other.type) &&
      !(BLOCKLESS_TYPES.has(other.type) && other.type !== "autofs")
    ).map((other) => other.mountPoint),
  );
  return (mount) => {
    if (!LOCAL_TYPES.has(mount.type)) return false;
    if (avoided.has("/")) return false;
    for (
      let end = mount.mountPoint.lastIndexOf("/");
      end > 0;
      end = mount.mountPoint.lastIndexOf("/", end - 1)
    ) {
      if (avoided.has(mount.mountPoint.slice(0, end))) return false;
    }
    return true;
  };
}

/**
 * The mounts `GetCmdDf` and the file system metrics show, with their sizes, in the table's order:
 * every mount but `rootfs` and the {@link BLOCKLESS_TYPES}, of those the ones whose statfs
 * answered with blocks. Locally reachable mounts are stat'ed synchronously, the others (and every
 * one when `statAsync` is given, as tests give it) asynchronously with the timeout.
 *
 * @param resolve where a mount point is in this tree (`ProcFs.resolve`, for `--root`)
 * @throws {MethodFailure} when libc cannot be opened for statfs (and no `statAsync` is given)
 */
export async function mountedSizes(
  mounts: readonly Mount[],
  resolve: (path: string) => string,
  statAsync?: (path: string) => Promise<FsSizes | undefined>,
): Promise<{ mount: Mount; sizes: FsSizes }[]> {
  // Every statfs would fail without libc: an error that says why, not a table without file
  // systems.
  if (statAsync === undefined) statfsLibc();
  const shown = mounts.filter((mount) =>
    mount.device !== "rootfs" && !BLOCKLESS_TYPES.has(mount.type)
  );
  const local = locallyReachable(mounts);
  const sizes = await Promise.all(shown.map((mount) => {
    const path = resolve(mount.mountPoint);
    if (statAsync !== undefined) return statAsync(path);
    return local(mount) ? statSizesSync(path) : statSizes(path);
  }));
  const entries: { mount: Mount; sizes: FsSizes }[] = [];
  shown.forEach((mount, index) => {
    const size = sizes[index];
    if (size !== undefined) entries.push({ mount, sizes: size });
  });
  return entries;
}
