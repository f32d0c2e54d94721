/**
 * `/proc/diskstats`: the I/O counters of every block device and partition
 * (Documentation/admin-guide/iostats.rst), `major minor name` and the counters per line.
 *
 * @module
 */

/** Where the kernel publishes the counters. */
export const DISKSTATS_PATH = "/proc/diskstats";

/** Bytes per `/proc/diskstats` sector, fixed by the kernel for every device. */
export const DISKSTATS_SECTOR_BYTES = 512;

/**
 * The first eleven counters of a `/proc/diskstats` line (fields 4–14 of iostats.rst). The
 * discard (4.18+) and flush (5.5+) counters that may follow are not part of iostat 11.5.
 */
export interface DiskCounters {
  readIos: number;
  readMerges: number;
  readSectors: number;
  /** Milliseconds spent reading (a 32-bit counter in every kernel). */
  readTicks: number;
  writeIos: number;
  writeMerges: number;
  writeSectors: number;
  writeTicks: number;
  inFlight: number;
  /** Milliseconds during which the device had I/O in flight. */
  ioTicks: number;
  /** Milliseconds of I/O weighted by the number in flight. */
  timeInQueue: number;
}

const COUNTER_FIELDS = [
  "readIos",
  "readMerges",
  "readSectors",
  "readTicks",
  "writeIos",
  "writeMerges",
  "writeSectors",
  "writeTicks",
  "inFlight",
  "ioTicks",
  "timeInQueue",
] as const satisfies readonly (keyof DiskCounters)[];

/** One reading of `/proc/diskstats`: counters by device name, in file order. */
export type DiskStats = Map<string, DiskCounters>;

/**
 * Parses `/proc/diskstats`. Lines of 14 fields (2.6.25+), 18 (4.18+, discards) and 20 (5.5+,
 * flushes) are read alike. The 7-field partition lines of kernels before 2.6.25 and anything
 * not numeric are skipped: iostat never lists partitions, and a bad line must not hide the rest.
 *
 * Never throws: a machine without block devices has an empty /proc/diskstats, so no text is
 * "not diskstats"; what is not a device line is no device, and iostat shows no row for it.
 */
export function parseDiskstats(text: string): DiskStats {
  const disks: DiskStats = new Map();
  for (const line of text.split("\n")) {
    const [, , name, ...values] = line.trim().split(/\s+/);
    if (name === undefined || values.length < COUNTER_FIELDS.length) continue;
    const numbers = values.slice(0, COUNTER_FIELDS.length).map(Number);
    if (!numbers.every((value) => Number.isSafeInteger(value) && value >= 0)) continue;
    disks.set(
      name,
      Object.fromEntries(
        COUNTER_FIELDS.map((field, index) => [field, numbers[index]]),
      ) as unknown as DiskCounters,
    );
  }
  return disks;
}
