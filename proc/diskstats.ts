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
  const numbers = new Array<number>(COUNTER_FIELDS.length);
  lines: for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 + COUNTER_FIELDS.length) continue;
    for (let index = 0; index < COUNTER_FIELDS.length; index++) {
      const value = Number(fields[3 + index]);
      if (!Number.isSafeInteger(value) || value < 0) continue lines;
      numbers[index] = value;
    }
    disks.set(fields[2]!, countersOf(numbers));
  }
  return disks;
}

/**
 * The counters in {@link COUNTER_FIELDS}' order as one object literal, so every reading has the
 * same shape (`numbers` holds all eleven).
 */
function countersOf(numbers: readonly number[]): DiskCounters {
  return {
    readIos: numbers[0]!,
    readMerges: numbers[1]!,
    readSectors: numbers[2]!,
    readTicks: numbers[3]!,
    writeIos: numbers[4]!,
    writeMerges: numbers[5]!,
    writeSectors: numbers[6]!,
    writeTicks: numbers[7]!,
    inFlight: numbers[8]!,
    ioTicks: numbers[9]!,
    timeInQueue: numbers[10]!,
  };
}
