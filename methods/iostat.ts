/**
 * `GetCmdIostat`: block devices in the layout of sysstat 11.5 `iostat -d -x -k` (docs/protocol.md
 * 3.4) — banner, one empty line, the pre-11.6 `Device:` header that LEPV looks for (4.9), one
 * row per whole disk, one empty line.
 *
 * Unlike the original's single report (averages since boot), the values are rates over the
 * sampler's latest interval of `/proc/diskstats`, so a dashboard sees what the disks do now.
 *
 * Sectors in `/proc/diskstats` are always 512-byte units, whatever the device's logical block
 * size: the block layer accounts `bio_sectors(bio)`, which is `bi_size >> 9` (include/linux/
 * bio.h), and iostat's own kB/s is sectors ÷ 2. So `/sys/block/<dev>/queue/*_block_size` is
 * never read.
 *
 * @module
 */

import { counterDelta as widthDelta, type CounterWidth } from "../proc/counter.ts";
import { type DiskCounters, type DiskStats, DISKSTATS_SECTOR_BYTES } from "../proc/diskstats.ts";
import { type Collector, INTERVAL, type Schema } from "./collector.ts";
import type { ProcFs } from "../proc/fs.ts";
import { wholeDisks } from "../sampling/diskstats.ts";
import type { Interval, SampledSource } from "../sampling/sampler.ts";
import { readSystemIdentity, sysstatBanner } from "./sysstat.ts";

/** The header line, exactly as sysstat 11.5 prints it; LEPV needs the colon of `Device:`. */
export const IOSTAT_HEADER = "Device:         rrqm/s   wrqm/s     r/s     w/s    rkB/s    wkB/s " +
  "avgrq-sz avgqu-sz   await r_await w_await  svctm  %util";

/** One device row of the report; rates are per second over the interval. */
export interface IostatRow {
  device: string;
  readMergesPerSecond: number;
  writeMergesPerSecond: number;
  readsPerSecond: number;
  writesPerSecond: number;
  readKiBPerSecond: number;
  writeKiBPerSecond: number;
  /** Average request size in sectors. */
  averageRequestSectors: number;
  averageQueueLength: number;
  /** Average time of a request (queue and service) in ms, and by direction. */
  awaitMs: number;
  readAwaitMs: number;
  writeAwaitMs: number;
  /** Average service time in ms (deprecated by sysstat, still part of the 11.5 layout). */
  serviceMs: number;
  utilizationPercent: number;
}

/**
 * Width of each /proc/diskstats field (counter.ts): the kernel prints the I/O, merge and sector
 * counts as `unsigned long` (64 bits on the 64-bit kernels lepd runs on) and the millisecond
 * fields as `unsigned int` (`(unsigned int)div_u64(nsecs, NSEC_PER_MSEC)`, `jiffies_to_msecs`).
 * `inFlight` is a gauge and never takes a delta.
 */
export const DISKSTATS_WIDTHS: Readonly<Record<keyof DiskCounters, CounterWidth>> = {
  readIos: 64,
  readMerges: 64,
  readSectors: 64,
  readTicks: 32,
  writeIos: 64,
  writeMerges: 64,
  writeSectors: 64,
  writeTicks: 32,
  inFlight: 64,
  ioTicks: 32,
  timeInQueue: 32,
};

/** Growth of a 32-bit diskstats field (the millisecond counters): counter.ts with width 32. */
export function counterDelta(previous: number, latest: number): number {
  return widthDelta(previous, latest, 32);
}

/**
 * The row of one device over an interval, with sysstat's definitions applied to deltas:
 * ÷ `seconds` for rates, ÷ the I/Os of the interval for sizes and times (0 when there were
 * none). `%util` is capped at 100: the kernel's millisecond ticks and the sampler's clock
 * disagree by a tick or two on a device busy all the time.
 *
 * @param previous the device's counters at the start, or undefined when it just appeared (all
 *   values 0: there is no interval yet)
 */
export function iostatRow(
  device: string,
  counters: { previous: DiskCounters | undefined; latest: DiskCounters },
  seconds: number,
): IostatRow {
  const { previous, latest } = counters;
  const delta = (field: keyof DiskCounters): number =>
    previous === undefined
      ? 0
      : widthDelta(previous[field], latest[field], DISKSTATS_WIDTHS[field]);
  const perSecond = (value: number): number => seconds > 0 ? value / seconds : 0;
  const ratio = (value: number, divisor: number): number => divisor > 0 ? value / divisor : 0;
  const reads = delta("readIos");
  const writes = delta("writeIos");
  const ios = reads + writes;
  const sectorKiB = DISKSTATS_SECTOR_BYTES / 1024;
  return {
    device,
    readMergesPerSecond: perSecond(delta("readMerges")),
    writeMergesPerSecond: perSecond(delta("writeMerges")),
    readsPerSecond: perSecond(reads),
    writesPerSecond: perSecond(writes),
    readKiBPerSecond: perSecond(delta("readSectors") * sectorKiB),
    writeKiBPerSecond: perSecond(delta("writeSectors") * sectorKiB),
    averageRequestSectors: ratio(delta("readSectors") + delta("writeSectors"), ios),
    averageQueueLength: perSecond(delta("timeInQueue") / 1000),
    awaitMs: ratio(delta("readTicks") + delta("writeTicks"), ios),
    readAwaitMs: ratio(delta("readTicks"), reads),
    writeAwaitMs: ratio(delta("writeTicks"), writes),
    serviceMs: ratio(delta("ioTicks"), ios),
    utilizationPercent: Math.min(100, perSecond(delta("ioTicks")) / 10),
  };
}

/**
 * Rows of the whole disks in `/proc/diskstats` order, skipping disks that did no I/O since
 * boot (read and write counts both 0), as sysstat does.
 */
export function iostatRows(interval: Interval<DiskStats>, disks: ReadonlySet<string>): IostatRow[] {
  const rows: IostatRow[] = [];
  for (const [device, latest] of interval.latest) {
    if (!disks.has(device) || latest.readIos + latest.writeIos === 0) continue;
    rows.push(
      iostatRow(device, { previous: interval.previous.get(device), latest }, interval.seconds),
    );
  }
  return rows;
}

/** Field widths of a row after the 13-column name, each value preceded by one space. */
const VALUE_WIDTHS = [8, 8, 7, 7, 8, 8, 8, 8, 7, 7, 7, 6, 6];

/** One row: name `%-13s`, then the thirteen values in sysstat 11.5's widths with 2 decimals. */
export function formatIostatRow(row: IostatRow): string {
  const values = [
    row.readMergesPerSecond,
    row.writeMergesPerSecond,
    row.readsPerSecond,
    row.writesPerSecond,
    row.readKiBPerSecond,
    row.writeKiBPerSecond,
    row.averageRequestSectors,
    row.averageQueueLength,
    row.awaitMs,
    row.readAwaitMs,
    row.writeAwaitMs,
    row.serviceMs,
    row.utilizationPercent,
  ];
  return row.device.padEnd(13) +
    values.map((value, index) => " " + value.toFixed(2).padStart(VALUE_WIDTHS[index]!)).join("");
}

/** The whole text: banner, empty line, header, rows, empty line (it ends with `\n\n`). */
export function formatIostat(banner: string, rows: readonly IostatRow[]): string {
  return [banner, "", IOSTAT_HEADER, ...rows.map(formatIostatRow), "", ""].join("\n");
}

/**
 * The whole disks of the latest reading (partitions and virtual devices left out), from
 * /sys/block. A disk appears in and leaves /proc/diskstats and /sys/block together, so /sys/block
 * is listed again only when the reading's device names differ from the last listing's.
 */
class WholeDisks {
  #names = "";
  #disks: ReadonlySet<string> | undefined;

  of(fs: ProcFs, interval: Interval<DiskStats>): ReadonlySet<string> {
    const devices = [...interval.latest.keys()];
    const names = devices.join("\n");
    if (this.#disks === undefined || names !== this.#names) {
      const sysBlock = fs.tryReadDirNames("/sys/block");
      this.#disks = wholeDisks(devices, sysBlock === undefined ? undefined : new Set(sysBlock));
      this.#names = names;
    }
    return this.#disks;
  }
}

const RATE = (unit: string): Schema => ({ type: "number", unit });

/** The schema of `GetCmdIostat`'s JSON: the columns of `iostat -d -x -k`, unrounded. */
export const IOSTAT_SCHEMA: Schema = {
  type: "object",
  fields: {
    interval_s: INTERVAL,
    devices: {
      type: "array",
      items: {
        type: "object",
        fields: {
          device: { type: "string" },
          rrqm_per_s: RATE("1/s"),
          wrqm_per_s: RATE("1/s"),
          r_per_s: RATE("1/s"),
          w_per_s: RATE("1/s"),
          rkb_per_s: RATE("KiB/s"),
          wkb_per_s: RATE("KiB/s"),
          avgrq_sz_sectors: RATE("sectors (512 B)"),
          avgqu_sz: RATE("requests"),
          await_ms: RATE("ms"),
          r_await_ms: RATE("ms"),
          w_await_ms: RATE("ms"),
          svctm_ms: RATE("ms"),
          util_pct: RATE("%"),
        },
      },
    },
  },
};

/**
 * The `GetCmdIostat` collector.
 *
 * @param options.diskstats the sampled `/proc/diskstats` (see `diskstatsSource`)
 * @throws {MethodFailure} when `/proc/diskstats` cannot be read
 */
export function iostatCollector(options: { diskstats: SampledSource<DiskStats> }): Collector {
  const disks = new WholeDisks();
  return {
    async collect({ fs }) {
      const interval = await options.diskstats.interval();
      const banner = sysstatBanner(readSystemIdentity(fs), new Date(interval.takenAt));
      return formatIostat(banner, iostatRows(interval, disks.of(fs, interval)));
    },
    async json({ fs }) {
      const interval = await options.diskstats.interval();
      return {
        interval_s: interval.seconds,
        devices: iostatRows(interval, disks.of(fs, interval)).map((row) => ({
          device: row.device,
          rrqm_per_s: row.readMergesPerSecond,
          wrqm_per_s: row.writeMergesPerSecond,
          r_per_s: row.readsPerSecond,
          w_per_s: row.writesPerSecond,
          rkb_per_s: row.readKiBPerSecond,
          wkb_per_s: row.writeKiBPerSecond,
          avgrq_sz_sectors: row.averageRequestSectors,
          avgqu_sz: row.averageQueueLength,
          await_ms: row.awaitMs,
          r_await_ms: row.readAwaitMs,
          w_await_ms: row.writeAwaitMs,
          svctm_ms: row.serviceMs,
          util_pct: row.utilizationPercent,
        })),
      };
    },
    schema: IOSTAT_SCHEMA,
  };
}
