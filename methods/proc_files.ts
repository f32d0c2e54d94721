/**
 * The `GetProc*` methods: the bytes of one /proc file, whole, nothing added or removed
 * (docs/protocol.md 3.16).
 *
 * @module
 */

import { parseCpuinfo } from "../proc/cpuinfo.ts";
import { parseDiskstats } from "../proc/diskstats.ts";
import { type IrqTablePath, parseIrqTable } from "../proc/interrupts.ts";
import { parseLoadavg } from "../proc/loadavg.ts";
import { CPU_FIELDS, parseProcStat } from "../proc/stat.ts";
import { parseMeminfo } from "../proc/meminfo.ts";
import { parseVmstat } from "../proc/vmstat.ts";
import { type Collector, KIB, type Schema } from "./collector.ts";

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

/** /proc/stat as an object: CPU times in clock ticks and the counters since boot. */
export function statJson(text: string): unknown {
  const stat = parseProcStat(text);
  return {
    cpus: [...stat.cpus].map(([name, times]) => ({
      cpu: name === "cpu" ? "all" : name.slice(3),
      ...Object.fromEntries(CPU_FIELDS.map((field) => [`${snake(field)}_ticks`, times[field]])),
    })),
    intr: stat.interrupts,
    softirq: stat.softirqs,
    ctxt: stat.contextSwitches,
    processes: stat.forks,
    procs_running: stat.procsRunning,
    procs_blocked: stat.procsBlocked,
    btime_s: stat.bootTime,
  };
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** /proc/interrupts or /proc/softirqs: per label, the count of each CPU and the description. */
function irqTableJson(path: IrqTablePath): (text: string) => unknown {
  return (text) => {
    const table = parseIrqTable(text, path);
    return {
      irqs: table.lines.map((line) => ({
        label: line.label,
        counts: Object.fromEntries(
          table.cpus.map((cpu, index) => [String(cpu), line.counts[index] ?? 0]),
        ),
        description: line.description,
      })),
    };
  };
}

const IRQ_TABLE_SCHEMA: Schema = {
  type: "object",
  fields: {
    irqs: {
      type: "array",
      items: {
        type: "object",
        fields: {
          label: { type: "string" },
          counts: {
            type: "object",
            fields: {},
            other: count("since boot, by CPU number"),
          },
          description: { type: "string" },
        },
      },
    },
  },
};

const TICKS: Schema = { type: "integer", unit: "ticks (USER_HZ, 1/100 s)" };

/** The typed forms of the /proc files that have a parser; the others answer `{ "text": … }`. */
const TYPED: ReadonlyMap<string, { json(text: string): unknown; schema: Schema }> = new Map([
  ["/proc/meminfo", {
    json: meminfoJson,
    schema: {
      type: "object",
      fields: {
        MemTotal_kb: KIB,
        MemFree_kb: KIB,
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
  ["/proc/stat", {
    json: statJson,
    schema: {
      type: "object",
      fields: {
        cpus: {
          type: "array",
          items: {
            type: "object",
            fields: {
              cpu: { type: "string", description: '"all" or the CPU number' },
              ...Object.fromEntries(
                CPU_FIELDS.map((field) => [`${snake(field)}_ticks`, TICKS]),
              ),
            },
          },
        },
        intr: count("interrupts since boot"),
        softirq: count("softirqs since boot"),
        ctxt: count("context switches since boot"),
        processes: count("forks since boot"),
        procs_running: count(),
        procs_blocked: count(),
        btime_s: { type: "integer", unit: "s", description: "boot time, seconds since the epoch" },
      },
    },
  }],
  ["/proc/cpuinfo", {
    json: (text: string) => {
      const { fields } = parseCpuinfo(text);
      const processors: Record<string, string>[] = [];
      for (const [key, value] of fields) {
        if (key === "processor" || processors.length === 0) processors.push({});
        processors.at(-1)![key] = value;
      }
      return { processors };
    },
    schema: {
      type: "object",
      fields: {
        processors: {
          type: "array",
          description: "one object per block (from a processor line), the fields as written",
          items: { type: "object", fields: {}, other: { type: "string" } },
        },
      },
    },
  }],
  ["/proc/diskstats", {
    json: (text: string) => ({
      disks: [...parseDiskstats(text)].map(([device, counters]) => ({
        device,
        ...Object.fromEntries(Object.entries(counters).map(([key, value]) => [snake(key), value])),
      })),
    }),
    schema: {
      type: "object",
      fields: {
        disks: {
          type: "array",
          items: {
            type: "object",
            fields: {
              device: { type: "string" },
              read_ios: count(),
              read_merges: count(),
              read_sectors: { type: "integer", unit: "sectors (512 B)" },
              read_ticks: { type: "integer", unit: "ms" },
              write_ios: count(),
              write_merges: count(),
              write_sectors: { type: "integer", unit: "sectors (512 B)" },
              write_ticks: { type: "integer", unit: "ms" },
              in_flight: count(),
              io_ticks: { type: "integer", unit: "ms" },
              time_in_queue: { type: "integer", unit: "ms" },
            },
          },
        },
      },
    },
  }],
  ["/proc/interrupts", { json: irqTableJson("/proc/interrupts"), schema: IRQ_TABLE_SCHEMA }],
  ["/proc/softirqs", { json: irqTableJson("/proc/softirqs"), schema: IRQ_TABLE_SCHEMA }],
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
