/**
 * The `GetProc*` methods: the bytes of one /proc file, whole, nothing added or removed
 * (docs/protocol.md 3.16).
 *
 * @module
 */

import { parseLoadavg } from "../proc/loadavg.ts";
import { parseMeminfo } from "../proc/meminfo.ts";
import { parseVmstat } from "../proc/vmstat.ts";
import type { Collector, Schema } from "./collector.ts";

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

/**
 * /proc/meminfo as an object: a `kB` line's key gets the suffix `_kb` (`MemTotal_kb`, KiB), a
 * line without unit (`HugePages_Total`) keeps its key. Checked as meminfo first.
 */
export function meminfoJson(text: string): Record<string, number> {
  parseMeminfo(text);
  const result: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^([^:]+):\s*(\d+)(\s+kB)?\s*$/.exec(line);
    if (match !== null) {
      result[match[3] === undefined ? match[1]! : `${match[1]}_kb`] = Number(match[2]);
    }
  }
  return result;
}

/** /proc/loadavg as an object. */
export function loadavgJson(text: string): Record<string, number> {
  const [load1, load5, load15] = parseLoadavg(text);
  const [, , , entities = "0/0", lastPid = "0"] = text.trim().split(/\s+/);
  const [running = "0", total = "0"] = entities.split("/");
  return {
    load1,
    load5,
    load15,
    running: Number(running) || 0,
    tasks: Number(total) || 0,
    last_pid: Number(lastPid) || 0,
  };
}

const count = (description?: string): Schema => ({
  type: "integer",
  ...(description === undefined ? {} : { description }),
});

/** The typed forms of the /proc files that have a parser; the others answer `{ "text": … }`. */
const TYPED: ReadonlyMap<string, { json(text: string): unknown; schema: Schema }> = new Map([
  ["/proc/meminfo", {
    json: meminfoJson,
    schema: {
      type: "object",
      fields: {
        MemTotal_kb: { type: "integer", unit: "KiB" },
        MemFree_kb: { type: "integer", unit: "KiB" },
      },
      other: {
        type: "integer",
        description: "every other line; a key ending in _kb is in KiB, the others are counts",
      },
    },
  }],
  ["/proc/loadavg", {
    json: loadavgJson,
    schema: {
      type: "object",
      fields: {
        load1: { type: "number", unit: "runnable tasks, 1-minute average" },
        load5: { type: "number", unit: "runnable tasks, 5-minute average" },
        load15: { type: "number", unit: "runnable tasks, 15-minute average" },
        running: count("runnable scheduling entities now"),
        tasks: count("scheduling entities in total"),
        last_pid: count("the most recently created PID"),
      },
    },
  }],
  ["/proc/vmstat", {
    json: (text: string) => Object.fromEntries(parseVmstat(text)),
    schema: {
      type: "object",
      fields: {},
      other: count("every counter of /proc/vmstat by name (pages or events, as the kernel counts)"),
    },
  }],
]);

/** A collector that returns the whole text of `path`. */
export function procFileCollector(path: string): Collector {
  const typed = TYPED.get(path);
  return {
    collect: ({ fs }) => fs.readText(path),
    ...(typed === undefined ? {} : {
      json: async ({ fs }) => typed.json(await fs.readText(path)),
      schema: typed.schema,
    }),
    async probe({ fs }) {
      await fs.readBytes(path);
      return undefined;
    },
  };
}
