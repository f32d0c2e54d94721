/**
 * `GetCmdTopH`: threads in the layout of procps `top -H -b -n 1` (docs/protocol.md 3.15): five
 * summary lines, an empty line, the column header and every thread, busiest first, with CPU
 * shares over the sampler's latest interval.
 *
 * @module
 */

import { type LoadAverages, LOADAVG_PATH, parseLoadavg } from "../proc/loadavg.ts";
import { type Meminfo, MEMINFO_PATH, meminfoKib, parseMeminfo } from "../proc/meminfo.ts";
import { parseStatmSharedPages, type TaskStat, USER_HZ } from "../proc/pid.ts";
import { parseUptimeSeconds, UPTIME_PATH } from "../proc/uptime.ts";
import { countUserSessions, UTMP_PATHS } from "../proc/utmp.ts";
import { cpuShares, IDLE_SHARES } from "./cpu_shares.ts";
import { CPU_FIELDS, type CpuTimes, type ProcStat } from "../proc/stat.ts";
import type { ProcFs } from "../proc/fs.ts";
import { printable, userLabel, type UserNames } from "./processes.ts";
import { psUser } from "./top.ts";
import { type Collector, INTERVAL, KIB, PERCENT, type Schema } from "./collector.ts";

import type { Interval, SampledSource } from "../sampling/sampler.ts";
import {
  cpuPercent,
  type Snapshot,
  type TaskSampling,
  type ThreadEntry,
} from "../sampling/task_snapshots.ts";

/** The column header of top's task area. */
export const TOP_HEADER =
  "  PID USER      PR  NI    VIRT    RES    SHR S %CPU %MEM     TIME+ COMMAND";

/** Everything the summary lines show. */
export interface TopSummary {
  /** Wall-clock time of the snapshot. */
  now: Date;
  uptimeSeconds: number;
  users: number;
  loadAverages: LoadAverages;
  cpu: CpuTimes;
  /** /proc/meminfo values in KiB. */
  meminfo: Meminfo;
}

/** One thread row before formatting. */
export interface TopRow {
  stat: TaskStat;
  user: string;
  cpuPercent: number;
  /** Shared memory of the thread's process in KiB (`RssFile + RssShmem`), 0 when unknown. */
  sharedKiB: number;
  /** Resident memory of the thread's process in KiB (`VmRSS`); absent: field 24 of `stat`. */
  rssKiB?: number | undefined;
}

/** `up 3 days,  2:05` or `up 17 min`, as procps writes the uptime. */
export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const totalMinutes = Math.floor(seconds / 60);
  const hours = Math.floor(totalMinutes / 60) % 24;
  const minutes = totalMinutes % 60;
  let text = "up ";
  if (days > 0) text += `${days} day${days === 1 ? "" : "s"}, `;
  text += hours > 0
    ? `${String(hours).padStart(2)}:${String(minutes).padStart(2, "0")}`
    : `${minutes} min`;
  return text;
}

/** `TIME+`: minutes, seconds and hundredths of CPU time (`123:04.56`). */
export function topTime(ticks: number): string {
  const hundredths = Math.floor(ticks * 100 / USER_HZ);
  const minutes = Math.floor(hundredths / 6000);
  const seconds = Math.floor(hundredths / 100) % 60;
  return `${minutes}:${String(seconds).padStart(2, "0")}.${
    String(hundredths % 100).padStart(2, "0")
  }`;
}

/** `PR`: the kernel priority, `rt` for the highest real-time one. */
export function topPriority(stat: TaskStat): string {
  return stat.priority === -100 ? "rt" : String(stat.priority);
}

function stateCounts(
  rows: readonly TopRow[],
): Record<"running" | "sleeping" | "stopped" | "zombie", number> {
  const counts = { running: 0, sleeping: 0, stopped: 0, zombie: 0 };
  for (const { stat } of rows) {
    if (stat.state === "R") counts.running++;
    else if (stat.state === "T" || stat.state === "t") counts.stopped++;
    else if (stat.state === "Z") counts.zombie++;
    else counts.sleeping++;
  }
  return counts;
}

/** The five summary lines. */
export function formatTopSummary(summary: TopSummary, rows: readonly TopRow[]): string[] {
  const time = [summary.now.getHours(), summary.now.getMinutes(), summary.now.getSeconds()]
    .map((part) => String(part).padStart(2, "0")).join(":");
  const users = `${String(summary.users).padStart(2)} user${summary.users === 1 ? "" : "s"}`;
  const load = summary.loadAverages.map((value) => value.toFixed(2)).join(", ");
  const counts = stateCounts(rows);
  const three = (value: number) => String(value).padStart(3);
  const cpu = summary.cpu;
  const share = (value: number) => value.toFixed(1).padStart(4);
  const kib = (key: string) => meminfoKib(summary.meminfo, key);
  const eight = (value: number) => String(value).padStart(8);
  const memTotal = kib("MemTotal");
  const memFree = kib("MemFree");
  const buffCache = kib("Buffers") + kib("Cached") + kib("SReclaimable");
  const memUsed = Math.max(0, memTotal - memFree - buffCache);
  const swapTotal = kib("SwapTotal");
  const swapFree = kib("SwapFree");
  return [
    `top - ${time} ${formatUptime(summary.uptimeSeconds)}, ${users},  load average: ${load}`,
    `Threads: ${three(rows.length)} total, ${three(counts.running)} running, ` +
    `${three(counts.sleeping)} sleeping, ${three(counts.stopped)} stopped, ${
      three(counts.zombie)
    } zombie`,
    `%Cpu(s): ${share(cpu.user)} us, ${share(cpu.system)} sy, ${share(cpu.nice)} ni, ` +
    `${share(cpu.idle)} id, ${share(cpu.iowait)} wa, ${share(cpu.irq)} hi, ${
      share(cpu.softirq)
    } si, ` +
    `${share(cpu.steal)} st`,
    `KiB Mem : ${eight(memTotal)} total, ${eight(memFree)} free, ${eight(memUsed)} used, ` +
    `${eight(buffCache)} buff/cache`,
    `KiB Swap: ${eight(swapTotal)} total, ${eight(swapFree)} free, ${
      eight(swapTotal - swapFree)
    } used. ` +
    `${eight(kib("MemAvailable"))} avail Mem`,
  ];
}

/** The whole text. */
export function formatTopThreads(
  summary: TopSummary,
  rows: readonly TopRow[],
  options: { pageBytes: number },
): string {
  const memTotal = meminfoKib(summary.meminfo, "MemTotal");
  const lines = [...formatTopSummary(summary, rows), "", TOP_HEADER];
  for (const { stat, user, cpuPercent, sharedKiB, rssKiB: exactKiB } of rows) {
    const rssKiB = exactKiB ?? stat.rssPages * options.pageBytes / 1024;
    const memPercent = memTotal > 0 ? rssKiB / memTotal * 100 : 0;
    lines.push(
      [
        String(stat.pid).padStart(5),
        psUser(user).padEnd(8),
        topPriority(stat).padStart(3),
        String(stat.nice).padStart(3),
        String(Math.floor(stat.vsizeBytes / 1024)).padStart(7),
        String(rssKiB).padStart(6),
        String(sharedKiB).padStart(6),
        stat.state,
        cpuPercent.toFixed(1).padStart(4),
        memPercent.toFixed(1).padStart(4),
        topTime(stat.utime + stat.stime).padStart(9),
        printable(stat.comm),
      ].join(" "),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Thread rows of the latest interval, busiest first (then by thread id). A thread runs on one
 * CPU at a time, so its share is at most 100 %: more only means the kernel's tick accounting
 * and the sampler's clock disagree by a tick.
 */
export function topRows(
  interval: Interval<Snapshot<ThreadEntry>>,
  options: { users: UserNames; sharedKiB?: (tgid: number) => number },
): TopRow[] {
  const rows: TopRow[] = [];
  for (const [key, entry] of interval.latest) {
    rows.push({
      stat: entry.stat,
      user: userLabel(options.users, entry.uid),
      cpuPercent: Math.min(
        100,
        cpuPercent(interval.previous.get(key)?.stat, entry.stat, interval.seconds),
      ),
      sharedKiB: entry.sharedKiB ?? options.sharedKiB?.(entry.tgid) ?? 0,
      rssKiB: entry.rssKiB,
    });
  }
  return rows.sort((a, b) => b.cpuPercent - a.cpuPercent || a.stat.pid - b.stat.pid);
}

async function readUserSessions(fs: ProcFs): Promise<number> {
  for (const path of UTMP_PATHS) {
    try {
      return countUserSessions(await fs.readBytes(path));
    } catch {
      // Not every system keeps utmp (containers, minimal boards): try the next place.
    }
  }
  return 0;
}

/** The `GetCmdTopH` collector. */
export function topThreadsCollector(
  options: {
    sampling: TaskSampling;
    procStat: SampledSource<ProcStat>;
    users: UserNames;
    pageBytes: number;
  },
): Collector {
  /** The interval, its summary and its rows, which the text and the JSON show. */
  const measure = async (fs: ProcFs) => {
    const [threads, cpu] = await Promise.all([
      options.sampling.threads.interval(),
      options.procStat.interval(),
    ]);
    const [meminfo, loadavg, uptime, users] = await Promise.all([
      fs.readText(MEMINFO_PATH),
      fs.readText(LOADAVG_PATH),
      fs.readText(UPTIME_PATH),
      readUserSessions(fs),
    ]);
    const sharedByProcess = new Map<number, number>();
    const sharedKiB = (tgid: number): number => {
      let shared = sharedByProcess.get(tgid);
      if (shared === undefined) {
        const statm = fs.tryReadTextSync(`/proc/${tgid}/statm`);
        const pages = statm === undefined ? undefined : parseStatmSharedPages(statm);
        shared = (pages ?? 0) * options.pageBytes / 1024;
        sharedByProcess.set(tgid, shared);
      }
      return shared;
    };
    const rows = topRows(threads, { users: options.users, sharedKiB });
    const allCpus = {
      previous: cpu.previous.cpus.get("cpu"),
      latest: cpu.latest.cpus.get("cpu"),
    };
    const summary: TopSummary = {
      now: new Date(threads.takenAt),
      uptimeSeconds: parseUptimeSeconds(uptime),
      users,
      loadAverages: parseLoadavg(loadavg),
      cpu: allCpus.previous && allCpus.latest
        ? cpuShares(allCpus.previous, allCpus.latest)
        : { ...IDLE_SHARES },
      meminfo: parseMeminfo(meminfo),
    };
    return { threads, summary, rows };
  };
  return {
    async collect({ fs }) {
      const { summary, rows } = await measure(fs);
      return formatTopThreads(summary, rows, { pageBytes: options.pageBytes });
    },
    async json({ fs }) {
      const { threads, summary, rows } = await measure(fs);
      const memTotal = meminfoKib(summary.meminfo, "MemTotal");
      const [load1, load5, load15] = summary.loadAverages;
      return {
        interval_s: threads.seconds,
        uptime_s: summary.uptimeSeconds,
        users: summary.users,
        load1,
        load5,
        load15,
        cpu: Object.fromEntries(
          CPU_FIELDS.map((field) => [`${field.replace("N", "_n")}_pct`, summary.cpu[field]]),
        ),
        threads: rows.map(({ stat, user, cpuPercent, sharedKiB, rssKiB: exactKiB }) => {
          const rssKiB = exactKiB ?? stat.rssPages * options.pageBytes / 1024;
          return {
            tid: stat.pid,
            user,
            pri: topPriority(stat),
            nice: stat.nice,
            virt_kb: Math.floor(stat.vsizeBytes / 1024),
            res_kb: rssKiB,
            shr_kb: sharedKiB,
            state: stat.state,
            cpu_pct: cpuPercent,
            mem_pct: memTotal > 0 ? rssKiB / memTotal * 100 : 0,
            time_s: (stat.utime + stat.stime) / USER_HZ,
            command: printable(stat.comm),
          };
        }),
      };
    },
    schema: TOP_H_SCHEMA,
  };
}

/** The schema of `GetCmdTopH`'s JSON. */
export const TOP_H_SCHEMA: Schema = {
  type: "object",
  fields: {
    interval_s: INTERVAL,
    uptime_s: { type: "number", unit: "s" },
    users: { type: "integer", description: "user sessions" },
    load1: { type: "number" },
    load5: { type: "number" },
    load15: { type: "number" },
    cpu: {
      type: "object",
      description: "shares of all CPUs' time over the interval",
      fields: Object.fromEntries(
        CPU_FIELDS.map((field) => [`${field.replace("N", "_n")}_pct`, PERCENT]),
      ),
    },
    threads: {
      type: "array",
      description: "every thread, busiest first",
      items: {
        type: "object",
        fields: {
          tid: { type: "integer" },
          user: { type: "string" },
          pri: {
            type: "string",
            description: 'kernel priority; "rt" for the highest real-time one',
          },
          nice: { type: "integer" },
          virt_kb: KIB,
          res_kb: { type: "number", unit: "KiB" },
          shr_kb: { type: "number", unit: "KiB" },
          state: { type: "string" },
          cpu_pct: PERCENT,
          mem_pct: PERCENT,
          time_s: { type: "number", unit: "s", description: "cumulative CPU time" },
          command: { type: "string" },
        },
      },
    },
  },
};
