/**
 * `GetCmdDf`: mounted file systems in the layout of busybox `df -h` (docs/protocol.md 3.7), from
 * `/proc/mounts` and `statfs(2)` of each mount point.
 *
 * DEVIATION taken from 3.7: a device name longer than 20 characters is followed by one space
 * on the same line instead of busybox's wrap, whose two-line rows crash LEPV's parser (4.10).
 *
 * @module
 */

import type { BigIntStatsFs } from "node:fs";
import { statfs } from "node:fs/promises";
import { MOUNTS_PATH, parseMounts } from "../proc/mounts.ts";
import type { Collector } from "./registry.ts";

export { decodeMountField, type MountEntry, parseMounts } from "../proc/mounts.ts";

/** The header line, exactly as busybox prints it. */
export const DF_HEADER = "Filesystem                Size      Used Available Use% Mounted on";

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

/** One row of the report. */
export interface DfEntry {
  device: string;
  mountPoint: string;
  sizes: FsSizes;
}

/** Writes `characters` of `text` as the kernel's octal escapes again (`\040` for a space). */
function escapeCharacters(text: string, characters: RegExp): string {
  return text.replace(
    characters,
    (character) => "\\" + character.charCodeAt(0).toString(8).padStart(3, "0"),
  );
}

const UNITS = ["K", "M", "G", "T", "P", "E"];

/**
 * A size as busybox `df -h` writes it: `0`; below 1024 the plain number; otherwise divided by
 * 1024 until below 1024, with one decimal rounded from the remainder of the last division —
 * carried into the integer when it rounds to 10 — and the unit: `4.0K`, `479.4M`, `18.6G`.
 */
export function humanSize(bytes: bigint): string {
  if (bytes < 1024n) return String(bytes);
  let value = bytes;
  let tenths = 0n;
  let unit = -1;
  // busybox stops at E because a 64-bit size cannot reach 1024 E; a bigint can.
  while (value >= 1024n && unit < UNITS.length - 1) {
    tenths = (value % 1024n * 10n + 512n) / 1024n;
    value /= 1024n;
    unit++;
  }
  if (tenths >= 10n) {
    value++;
    tenths = 0n;
  }
  return `${value}.${tenths}${UNITS[unit]}`;
}

/** `Use%`: used ÷ (used + available), rounded to the nearest integer; 0 when both are 0. */
export function usePercent(sizes: FsSizes): bigint {
  const { usedBytes: used, availableBytes: available } = sizes;
  const whole = used + available;
  return whole === 0n ? 0n : (used * 100n + whole / 2n) / whole;
}

/**
 * One row: device `%-20s` (never wrapped), sizes ` %9s` ×3, ` %3u%%`, space, mount point. The
 * device keeps whitespace escaped, so a row always has the tokens LEPV counts from the left
 * (4.10); the mount point, the last column, keeps only newlines escaped, so a row is one line.
 */
export function formatDfRow(entry: DfEntry): string {
  const { sizes } = entry;
  return escapeCharacters(entry.device, /[ \t\n]/g).padEnd(20) +
    [sizes.totalBytes, sizes.usedBytes, sizes.availableBytes]
      .map((bytes) => " " + humanSize(bytes).padStart(9)).join("") +
    " " + `${usePercent(sizes)}%`.padStart(4) + " " + escapeCharacters(entry.mountPoint, /\n/g);
}

/** The whole text: header and one row per entry, each line ending with a newline. */
export function formatDf(entries: readonly DfEntry[]): string {
  return [DF_HEADER, ...entries.map(formatDfRow)].map((line) => line + "\n").join("");
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

/**
 * The `GetCmdDf` collector: every `/proc/mounts` entry in file order (duplicates kept) except
 * `rootfs` and the {@link BLOCKLESS_TYPES}, whose mount point — under the reader's root —
 * reports blocks. A mount that cannot be stat'ed is left out, never an error.
 *
 * @throws {MethodFailure} when `/proc/mounts` cannot be read or parsed
 */
export const dfCollector: Collector = {
  async collect({ fs }) {
    const mounts = parseMounts(fs.readTextSync(MOUNTS_PATH))
      .filter((mount) => mount.device !== "rootfs" && !BLOCKLESS_TYPES.has(mount.type));
    const sizes = await Promise.all(mounts.map((mount) => statSizes(fs.resolve(mount.mountPoint))));
    const entries: DfEntry[] = [];
    mounts.forEach((mount, index) => {
      const size = sizes[index];
      if (size !== undefined) {
        entries.push({ device: mount.device, mountPoint: mount.mountPoint, sizes: size });
      }
    });
    return formatDf(entries);
  },
};
