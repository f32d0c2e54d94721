/**
 * The kernel's change events of the mount table: lets the reader keep the text of `/proc/mounts`
 * until a mount, unmount, move or remount in lepd's mount namespace changes it, instead of having
 * the kernel format the whole table for every `GetCmdDf`, metrics scrape and cgroup look-up.
 *
 * The kernel stamps each open `/proc/<pid>/mounts` file with the namespace's event count when it
 * is opened, and `poll(2)` on it reports `POLLPRI | POLLERR` once the count moved since the file's
 * last poll (or its opening), then takes the new count (fs/proc_namespace.c `mounts_poll`; util-
 * linux's libmount and systemd watch mounts this way). A poll with a timeout of 0 costs a system
 * call of about a microsecond; the read it saves costs the kernel 30 µs on a VM with twenty mounts
 * and milliseconds on a container host with hundreds.
 *
 * Only on the live system and only where `poll` and `open` can be called through FFI
 * (libc.ts): elsewhere {@link watchMounts} returns undefined, {@link liveWatches} nothing, and
 * every read reads the file.
 *
 * @module
 */

import { cString, type Libc, libc, O_CLOEXEC, O_RDONLY, STATFS_BYTES } from "../libc.ts";
import { MOUNTS_PATH } from "./mounts.ts";

/** Says whether a file the kernel generates may have changed: see `ProcFs`'s `watches`. */
export interface FileChanges {
  /** The path (as `ProcFs` is asked for it) whose changes this reports. */
  readonly path: string;
  /**
   * True when the file may hold something else than at the previous call; false at the first
   * call when nothing changed since the watch began. A caller asks before it reads: a change
   * after the question is reported by the next one.
   */
  changed(): boolean;
  /** Stops watching; `changed` says true from then on. */
  close(): void;
}

/** `poll(2)` event bits (the same on every Linux architecture). */
export const POLLPRI = 0x002;
export const POLLERR = 0x008;
export const POLLNVAL = 0x020;

/** `statfs`'s `f_type` of procfs. */
export const PROC_SUPER_MAGIC = 0x9fa0;

/** What a poll of one descriptor needs: the C calls, or a test's stand-in. */
export interface PollCalls {
  /** `poll` of one descriptor for `events` with a timeout of 0: the `revents`, or -1 on failure. */
  pollOnce(fd: number, events: number): number;
  close(fd: number): void;
}

/** {@link PollCalls} through libc's `poll` and `close`. */
export function libcPollCalls(functions: Libc): PollCalls {
  // struct pollfd: int fd, short events, short revents.
  const pollfd = new Uint8Array(8);
  const view = new DataView(pollfd.buffer);
  return {
    pollOnce(fd, events) {
      view.setInt32(0, fd, true);
      view.setInt16(4, events, true);
      view.setInt16(6, 0, true);
      return functions.poll(pollfd, 1n, 0) < 0 ? -1 : view.getUint16(6, true);
    },
    close(fd) {
      functions.close(fd);
    },
  };
}

/**
 * The change events of the mount table open at `fd` (see the module documentation). Any answer
 * of the kernel but "nothing happened" counts as a change: a failed poll, an invalid descriptor.
 */
export function mountsChanges(fd: number, calls: PollCalls, path = MOUNTS_PATH): FileChanges {
  let open = true;
  return {
    path,
    changed() {
      if (!open) return true;
      const revents = calls.pollOnce(fd, POLLPRI);
      return revents < 0 || (revents & (POLLPRI | POLLERR | POLLNVAL)) !== 0;
    },
    close() {
      if (!open) return;
      open = false;
      calls.close(fd);
    },
  };
}

/**
 * Watches the mount table of lepd's namespace (`/proc/mounts`), or undefined where it cannot:
 * no libc through FFI, no procfs at /proc (the file would then be an ordinary one, which never
 * reports a change).
 */
export function watchMounts(): FileChanges | undefined {
  const functions = libc();
  if (functions === null) return undefined;
  const statfs = new Uint8Array(STATFS_BYTES);
  const path = cString(MOUNTS_PATH);
  if (functions.statfs(path, statfs) !== 0) return undefined;
  // f_type is the first field, a long.
  if (new DataView(statfs.buffer).getBigInt64(0, true) !== BigInt(PROC_SUPER_MAGIC)) {
    return undefined;
  }
  const fd = functions.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return undefined;
  return mountsChanges(fd, libcPollCalls(functions));
}

/** The watches of the live system's reader (`ProcFs`'s `watches`): the mount table's, if it can. */
export function liveWatches(): FileChanges[] {
  const mounts = watchMounts();
  return mounts === undefined ? [] : [mounts];
}
