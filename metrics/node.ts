/**
 * Metric families from parsed kernel files, named and labelled as node_exporter names them
 * wherever the quantity is the same (docs/metrics.md lists them). Pure functions: the parsing
 * is proc/'s (stat.ts, diskstats.ts, vmstat.ts, meminfo.ts, mounts.ts, loadavg.ts), the reading
 * is metrics/scrape.ts's.
 *
 * @module
 */

import type { FsSizes } from "../sampling/filesystems.ts";
import { parseLoadavg } from "../proc/loadavg.ts";
import type { MountEntry } from "../proc/mounts.ts";
import { type DiskStats, DISKSTATS_SECTOR_BYTES } from "../proc/diskstats.ts";
import { USER_HZ } from "../proc/pid.ts";
import type { CpuTimes, ProcStat } from "../proc/stat.ts";
import type { Meminfo } from "../proc/meminfo.ts";
import type { MetricFamily, Sample } from "./exposition.ts";
import { toMetricName } from "./exposition.ts";

/** Longest label value; longer ones (a deep mount point) are cut. */
export const MAX_LABEL_VALUE_CHARS = 1024;
/** Most block devices and most file systems exposed (the first ones, in file order). */
export const MAX_DEVICES = 256;
/** Most /proc/meminfo fields exposed (the first ones; a kernel has about 60). */
export const MAX_MEMINFO_FIELDS = 256;

/** A label value cut to {@link MAX_LABEL_VALUE_CHARS}. */
export function clipLabel(value: string): string {
  return value.length > MAX_LABEL_VALUE_CHARS ? value.slice(0, MAX_LABEL_VALUE_CHARS) : value;
}

function single(name: string, help: string, type: MetricFamily["type"], value: number) {
  return { name, help, type, samples: [{ labels: [], value }] } satisfies MetricFamily;
}

/** node_exporter's modes, in its order, and the field of a `cpuN` line each one is. */
const CPU_MODES: readonly [mode: string, field: keyof CpuTimes][] = [
  ["idle", "idle"],
  ["iowait", "iowait"],
  ["irq", "irq"],
  ["nice", "nice"],
  ["softirq", "softirq"],
  ["steal", "steal"],
  ["system", "system"],
  ["user", "user"],
];

/**
 * `node_cpu_seconds_total{cpu,mode}` and `node_cpu_guest_seconds_total{cpu,mode}` from the
 * `cpuN` lines (ticks of USER_HZ, 100 a second). As node_exporter, `user` and `nice` include the
 * guest time the kernel also counts there.
 */
export function cpuFamilies(stat: ProcStat): MetricFamily[] {
  const seconds: Sample[] = [];
  const guest: Sample[] = [];
  for (const [name, times] of stat.cpus) {
    const cpu = /^cpu(\d+)$/.exec(name)?.[1];
    if (cpu === undefined) continue;
    for (const [mode, field] of CPU_MODES) {
      seconds.push({ labels: [["cpu", cpu], ["mode", mode]], value: times[field] / USER_HZ });
    }
    guest.push(
      { labels: [["cpu", cpu], ["mode", "nice"]], value: times.guestNice / USER_HZ },
      { labels: [["cpu", cpu], ["mode", "user"]], value: times.guest / USER_HZ },
    );
  }
  return [
    {
      name: "node_cpu_seconds_total",
      help: "Seconds the CPUs spent in each mode.",
      type: "counter",
      samples: seconds,
    },
    {
      name: "node_cpu_guest_seconds_total",
      help: "Seconds the CPUs spent in guests (VMs) for each mode.",
      type: "counter",
      samples: guest,
    },
  ];
}

/** The system-wide counters and gauges of `/proc/stat` (node_exporter's `stat` collector). */
export function statFamilies(stat: ProcStat): MetricFamily[] {
  return [
    single("node_boot_time_seconds", "Node boot time, in unixtime.", "gauge", stat.bootTime),
    single(
      "node_context_switches_total",
      "Total number of context switches.",
      "counter",
      stat.contextSwitches,
    ),
    single("node_forks_total", "Total number of forks.", "counter", stat.forks),
    single("node_intr_total", "Total number of interrupts serviced.", "counter", stat.interrupts),
    single(
      "node_procs_blocked",
      "Number of processes blocked waiting for I/O to complete.",
      "gauge",
      stat.procsBlocked,
    ),
    single(
      "node_procs_running",
      "Number of processes in runnable state.",
      "gauge",
      stat.procsRunning,
    ),
  ];
}

/**
 * One gauge per /proc/meminfo field, named as node_exporter names it: `Active(anon)` becomes
 * `node_memory_Active_anon_bytes`; values in kB are multiplied by 1024 and get `_bytes`; the
 * `HugePages_*` counts (the only fields the kernel prints without a unit) keep their name. At
 * most {@link MAX_MEMINFO_FIELDS}, so a strange kernel cannot make a scrape unbounded.
 *
 * @param meminfo values by field name, as `parseMeminfo` returns them
 */
export function meminfoFamilies(meminfo: Meminfo): MetricFamily[] {
  const families: MetricFamily[] = [];
  for (const [field, value] of meminfo) {
    if (families.length >= MAX_MEMINFO_FIELDS) break;
    const base = toMetricName(field.replace(/\((\w+)\)/, "_$1"));
    const counted = field.startsWith("HugePages_");
    const name = `node_memory_${base}${counted ? "" : "_bytes"}`;
    // Two fields that spell the same name would be one family twice: the first one wins.
    if (families.some((family) => family.name === name)) continue;
    families.push(
      single(
        name,
        `Memory information field ${base}${counted ? "" : "_bytes"}.`,
        "gauge",
        counted ? value : value * 1024,
      ),
    );
  }
  return families;
}

/**
 * `node_load1`, `node_load5`, `node_load15` from the first three fields of /proc/loadavg.
 *
 * @throws {ProcParseError} when the text does not start with three numbers
 */
export function loadFamilies(loadavg: string): MetricFamily[] {
  const loads = parseLoadavg(loadavg);
  return [["1", "1m"], ["5", "5m"], ["15", "15m"]].map(([minutes, label], index) =>
    single(`node_load${minutes}`, `${label} load average.`, "gauge", loads[index]!)
  );
}

/**
 * The devices node_exporter's diskstats collector leaves out by default: partitions of the
 * usual disk names, RAM disks, loop devices and floppies.
 */
export const IGNORED_DISKS = /^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;

/** The diskstats families: name, help, type and the value of one device. */
const DISK_FAMILIES: readonly [
  name: string,
  help: string,
  type: "counter" | "gauge",
  value: (counters: DiskStats extends Map<string, infer C> ? C : never) => number,
][] = [
  [
    "node_disk_reads_completed_total",
    "The total number of reads completed successfully.",
    "counter",
    (disk) => disk.readIos,
  ],
  [
    "node_disk_reads_merged_total",
    "The total number of reads merged.",
    "counter",
    (disk) => disk.readMerges,
  ],
  [
    "node_disk_read_bytes_total",
    "The total number of bytes read successfully.",
    "counter",
    (disk) => disk.readSectors * DISKSTATS_SECTOR_BYTES,
  ],
  [
    "node_disk_read_time_seconds_total",
    "The total number of seconds spent by all reads.",
    "counter",
    (disk) => disk.readTicks / 1000,
  ],
  [
    "node_disk_writes_completed_total",
    "The total number of writes completed successfully.",
    "counter",
    (disk) => disk.writeIos,
  ],
  [
    "node_disk_writes_merged_total",
    "The number of writes merged.",
    "counter",
    (disk) => disk.writeMerges,
  ],
  [
    "node_disk_written_bytes_total",
    "The total number of bytes written successfully.",
    "counter",
    (disk) => disk.writeSectors * DISKSTATS_SECTOR_BYTES,
  ],
  [
    "node_disk_write_time_seconds_total",
    "This is the total number of seconds spent by all writes.",
    "counter",
    (disk) => disk.writeTicks / 1000,
  ],
  [
    "node_disk_io_now",
    "The number of I/Os currently in progress.",
    "gauge",
    (disk) => disk.inFlight,
  ],
  [
    "node_disk_io_time_seconds_total",
    "Total seconds spent doing I/Os.",
    "counter",
    (disk) => disk.ioTicks / 1000,
  ],
  [
    "node_disk_io_time_weighted_seconds_total",
    "The weighted # of seconds spent doing I/Os.",
    "counter",
    (disk) => disk.timeInQueue / 1000,
  ],
];

/**
 * The `node_disk_*` families of every device in /proc/diskstats that node_exporter would show
 * ({@link IGNORED_DISKS} left out), at most {@link MAX_DEVICES}, in file order.
 */
export function diskFamilies(disks: DiskStats): MetricFamily[] {
  const shown = [...disks].filter(([device]) => !IGNORED_DISKS.test(device)).slice(
    0,
    MAX_DEVICES,
  );
  return DISK_FAMILIES.map(([name, help, type, value]) => ({
    name,
    help,
    type,
    samples: shown.map(([device, counters]) => ({
      labels: [["device", clipLabel(device)]],
      value: value(counters),
    })),
  }));
}

/**
 * The /proc/vmstat counters node_exporter shows by default (its `^(oom_kill|pgpg|pswp|pg.*fault)`
 * filter: pgpgin, pgpgout, pswpin, pswpout, pgfault, pgmajfault, oom_kill), each as
 * `node_vmstat_<name>`, untyped as node_exporter types them.
 */
export const VMSTAT_FIELDS = /^(oom_kill|pgpg|pswp|pg.*fault)/;

/** The `node_vmstat_*` families of the {@link VMSTAT_FIELDS}. */
export function vmstatFamilies(fields: ReadonlyMap<string, number>): MetricFamily[] {
  const families: MetricFamily[] = [];
  for (const [field, value] of fields) {
    if (!VMSTAT_FIELDS.test(field)) continue;
    families.push(
      single(
        `node_vmstat_${toMetricName(field)}`,
        `/proc/vmstat information field ${field}.`,
        "untyped",
        value,
      ),
    );
  }
  return families;
}

/** One mounted file system and its sizes. */
export interface MountedSizes {
  mount: MountEntry;
  sizes: FsSizes;
}

/**
 * `node_filesystem_size_bytes`, `_free_bytes` and `_avail_bytes` `{device,fstype,mountpoint}`,
 * one series per label set (the first of duplicate mounts), at most {@link MAX_DEVICES}.
 */
export function filesystemFamilies(mounts: readonly MountedSizes[]): MetricFamily[] {
  const seen = new Set<string>();
  const rows: { labels: Sample["labels"]; sizes: FsSizes }[] = [];
  for (const { mount, sizes } of mounts) {
    const labels = [
      ["device", clipLabel(mount.device)],
      ["fstype", clipLabel(mount.type)],
      ["mountpoint", clipLabel(mount.mountPoint)],
    ] as const;
    const key = JSON.stringify(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push({ labels, sizes });
    if (rows.length >= MAX_DEVICES) break;
  }
  const family = (name: string, help: string, value: (sizes: FsSizes) => bigint) => ({
    name,
    help,
    type: "gauge" as const,
    samples: rows.map(({ labels, sizes }) => ({ labels, value: Number(value(sizes)) })),
  });
  return [
    family(
      "node_filesystem_avail_bytes",
      "Filesystem space available to non-root users in bytes.",
      (sizes) => sizes.availableBytes,
    ),
    family(
      "node_filesystem_free_bytes",
      "Filesystem free space in bytes.",
      (sizes) => sizes.totalBytes - sizes.usedBytes,
    ),
    family("node_filesystem_size_bytes", "Filesystem size in bytes.", (sizes) => sizes.totalBytes),
  ];
}

/** A process's share of one CPU over an interval. */
export interface ProcessCpu {
  pid: number;
  comm: string;
  percent: number;
}

/** `lepd_process_cpu_percent{pid,comm}` of the processes given (already the top N). */
export function processFamilies(top: readonly ProcessCpu[]): MetricFamily[] {
  return [{
    name: "lepd_process_cpu_percent",
    help: "Share of one CPU a process used between the two latest scrapes (top N by CPU), " +
      "in percent.",
    type: "gauge",
    samples: top.map(({ pid, comm, percent }) => ({
      labels: [["pid", String(pid)], ["comm", clipLabel(comm)]],
      value: percent,
    })),
  }];
}
