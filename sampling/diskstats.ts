/**
 * The sampled source of `/proc/diskstats` (parsed by proc/diskstats.ts) that iostat turns into
 * rates, and which of its devices are whole disks.
 *
 * @module
 */

import { type DiskStats, DISKSTATS_PATH, parseDiskstats } from "../proc/diskstats.ts";
import type { ProcFs } from "../proc/fs.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** A sampled source of `/proc/diskstats`, for `iostatCollector`. */
export function diskstatsSource(
  fs: ProcFs,
  options: SamplingOptions = {},
): SampledSource<DiskStats> {
  return new SampledSource(
    () => parseDiskstats(fs.readTextSync(DISKSTATS_PATH)),
    options,
    "demand",
  );
}

/**
 * True when `name` is what the kernel calls a partition of `disk`: the disk name plus the
 * partition number, with a `p` between them when the disk name ends in a digit
 * (`sda1`, `nvme0n1p1`, `mmcblk0p2`, `cciss/c0d0p1`; but `loop10` is no partition of `loop1`).
 */
export function isPartitionName(name: string, disk: string): boolean {
  if (!name.startsWith(disk)) return false;
  const suffix = name.slice(disk.length);
  return /\d$/.test(disk) ? /^p\d+$/.test(suffix) : /^\d+$/.test(suffix);
}

/**
 * The whole disks among `/proc/diskstats` names: those with an entry in `/sys/block` (where a
 * `/` of the name, as in `cciss/c0d0`, is spelt `!`), as sysstat decides. Where /sys cannot be
 * listed (a container without it, a bare capture) every name that is not a partition of
 * another listed name counts as a disk.
 *
 * @param sysBlock the names in `/sys/block`, or undefined when it could not be listed
 */
export function wholeDisks(
  names: readonly string[],
  sysBlock: ReadonlySet<string> | undefined,
): Set<string> {
  if (sysBlock !== undefined) {
    return new Set(names.filter((name) => sysBlock.has(name.replaceAll("/", "!"))));
  }
  return new Set(
    names.filter((name) => !names.some((disk) => disk !== name && isPartitionName(name, disk))),
  );
}
