/**
 * The `GetProc*` methods: the bytes of one /proc file, whole, nothing added or removed
 * (docs/protocol.md 3.16).
 *
 * @module
 */

import type { Collector } from "./collector.ts";

/** Wire method names and the /proc file each one returns, in `ListAllMethod` order. */
export const PROC_FILE_METHODS: ReadonlyArray<readonly [method: string, path: string]> = [
  ["GetProcMeminfo", "/proc/meminfo"],
  ["GetProcLoadavg", "/proc/loadavg"],
  ["GetProcVmstat", "/proc/vmstat"],
  ["GetProcZoneinfo", "/proc/zoneinfo"],
  ["GetProcBuddyinfo", "/proc/buddyinfo"],
  ["GetProcCpuinfo", "/proc/cpuinfo"],
  ["GetProcSlabinfo", "/proc/slabinfo"],
  ["GetProcSwaps", "/proc/swaps"],
  ["GetProcInterrupts", "/proc/interrupts"],
  ["GetProcSoftirqs", "/proc/softirqs"],
  ["GetProcDiskstats", "/proc/diskstats"],
  ["GetProcVersion", "/proc/version"],
  ["GetProcStat", "/proc/stat"],
  ["GetProcModules", "/proc/modules"],
  ["GetProcVmallocinfo", "/proc/vmallocinfo"],
];

/** A collector that returns the whole text of `path`. */
export function procFileCollector(path: string): Collector {
  return {
    collect: ({ fs }) => fs.readText(path),
    async probe({ fs }) {
      await fs.readBytes(path);
      return undefined;
    },
  };
}
