/**
 * `GetCmdTop`: every process in the layout of procps
 * `ps -e -o pid,user,pri,ni,vsize,rss,s,%cpu,%mem,time,cmd --sort=-%cpu` (docs/protocol.md 3.1).
 *
 * One deviation from `ps`, on purpose: `%CPU` is the share of one CPU used over the sampler's
 * latest interval (about one second), as `top` shows it, not the lifetime average `ps` prints —
 * a live dashboard wants what is busy now.
 *
 * @module
 */

import { MEMINFO_PATH, parseMeminfo, requireMemTotal } from "../proc/meminfo.ts";
import type { ProcFs } from "../proc/fs.ts";
import { Policy, type TaskStat, USER_HZ } from "../proc/pid.ts";
import { printable, userLabel, type UserNames } from "./processes.ts";
import { type Collector, INTERVAL, KIB, type Schema } from "./collector.ts";
import type { Interval } from "../sampling/sampler.ts";
import {
  cpuPercent,
  type ProcessEntry,
  type Snapshot,
  type TaskSampling,
} from "../sampling/task_snapshots.ts";

/** The header LEPV splits into its column names; it must stay exactly this. */
export const PS_HEADER = "  PID USER     PRI  NI    VSZ   RSS S %CPU %MEM     TIME CMD";

/** One row of the table, before formatting. */
export interface PsRow {
  pid: number;
  user: string;
  stat: TaskStat;
  args: string[];
  cpuPercent: number;
  /** `VmRSS` of `status` in KiB (see ProcessEntry); absent: field 24 of `stat`. */
  rssKiB?: number | undefined;
}

/** `PRI` as ps prints it: 19 − nice for normal tasks, 40 + rt_priority for real-time ones. */
export function psPriority(stat: TaskStat): number {
  return 39 - stat.priority;
}

/** `NI`: the nice value, or `-` for scheduling policies where nice has no meaning. */
export function psNice(stat: TaskStat): string {
  return stat.policy === Policy.OTHER || stat.policy === Policy.BATCH ? String(stat.nice) : "-";
}

/** User names as ps shortens them: more than 8 characters become 7 and a `+`. */
export function psUser(name: string): string {
  return name.length > 8 ? `${name.slice(0, 7)}+` : name;
}

/** `%CPU`: one decimal below 100, a whole number from 100 on (several busy threads). */
export function psCpu(percent: number): string {
  return percent >= 99.95 ? String(Math.round(percent)) : percent.toFixed(1);
}

/** `%MEM`: resident share of MemTotal in per-mille, capped at 99.9, printed `X.Y`. */
export function psMem(rssKiB: number, memTotalKiB: number): string {
  if (memTotalKiB <= 0) return "0.0";
  const perMille = Math.min(999, Math.floor(rssKiB * 1000 / memTotalKiB));
  return `${Math.floor(perMille / 10)}.${perMille % 10}`;
}

/** `TIME`: cumulative CPU time `[D-]HH:MM:SS`. */
export function psTime(ticks: number): string {
  const seconds = Math.floor(ticks / USER_HZ);
  const days = Math.floor(seconds / 86_400);
  const clock = [Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60]
    .map((part) => String(part).padStart(2, "0")).join(":");
  return days > 0 ? `${days}-${clock}` : clock;
}

/**
 * `CMD`: the command line; `[name]` for kernel threads, `[name] <defunct>` for zombies. As in
 * procps, a newline inside an argument separates words like the NULs between arguments do (a
 * multi-line `sh -c` script reads as one line of words); other control characters are `?`.
 */
export function psCommand(stat: TaskStat, args: readonly string[]): string {
  if (stat.state === "Z") return `[${printable(stat.comm)}] <defunct>`;
  if (args.length === 0) return `[${printable(stat.comm)}]`;
  return printable(args.join(" ").replaceAll("\n", " "));
}

/** Rows of the latest snapshot with their CPU share over the interval, busiest first. */
export function psRows(interval: Interval<Snapshot<ProcessEntry>>, users: UserNames): PsRow[] {
  const rows: PsRow[] = [];
  for (const [key, entry] of interval.latest) {
    rows.push({
      pid: entry.stat.pid,
      user: psUser(userLabel(users, entry.uid)),
      stat: entry.stat,
      args: entry.args,
      cpuPercent: cpuPercent(interval.previous.get(key)?.stat, entry.stat, interval.seconds),
      rssKiB: entry.rssKiB,
    });
  }
  return rows.sort((a, b) => b.cpuPercent - a.cpuPercent || a.pid - b.pid);
}

/** The whole text: header and one line per row. */
export function formatPs(
  rows: readonly PsRow[],
  options: { pageBytes: number; memTotalKiB: number },
): string {
  const lines = [PS_HEADER];
  for (const { pid, user, stat, args, cpuPercent, rssKiB: exactKiB } of rows) {
    // ps reads VmRSS; a zombie or kernel thread has none and shows 0, as field 24 reads then.
    const rssKiB = exactKiB ?? stat.rssPages * options.pageBytes / 1024;
    lines.push(
      [
        String(pid).padStart(5),
        user.padEnd(8),
        String(psPriority(stat)).padStart(3),
        psNice(stat).padStart(3),
        String(Math.floor(stat.vsizeBytes / 1024)).padStart(6),
        String(rssKiB).padStart(5),
        stat.state,
        psCpu(cpuPercent).padStart(4),
        psMem(rssKiB, options.memTotalKiB).padStart(4),
        psTime(stat.utime + stat.stime).padStart(8),
        psCommand(stat, args),
      ].join(" "),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * MemTotal in KiB from /proc/meminfo.
 *
 * @throws {ProcParseError} when /proc/meminfo has no MemTotal
 */
export async function memTotalKiB(fs: ProcFs): Promise<number> {
  return requireMemTotal(parseMeminfo(await fs.readText(MEMINFO_PATH)));
}

/** The `GetCmdTop` JSON of the same rows as the text, numbers unrounded where ps rounds. */
export function psJson(
  rows: readonly PsRow[],
  options: { pageBytes: number; memTotalKiB: number; seconds: number },
): unknown {
  return {
    interval_s: options.seconds,
    processes: rows.map(({ pid, user, stat, args, cpuPercent, rssKiB: exactKiB }) => {
      const rssKiB = exactKiB ?? stat.rssPages * options.pageBytes / 1024;
      return {
        pid,
        user,
        pri: psPriority(stat),
        nice: psNice(stat),
        vsz_kb: Math.floor(stat.vsizeBytes / 1024),
        rss_kb: rssKiB,
        state: stat.state,
        cpu_pct: cpuPercent,
        mem_pct: options.memTotalKiB > 0 ? rssKiB * 100 / options.memTotalKiB : 0,
        time_s: (stat.utime + stat.stime) / USER_HZ,
        cmd: psCommand(stat, args),
      };
    }),
  };
}

/** The schema of {@link psJson}. */
export const PS_SCHEMA: Schema = {
  type: "object",
  fields: {
    interval_s: INTERVAL,
    processes: {
      type: "array",
      description: "every process, busiest first",
      items: {
        type: "object",
        fields: {
          pid: { type: "integer" },
          user: { type: "string", description: "as ps shortens it (8 characters)" },
          pri: { type: "integer", description: "ps PRI" },
          nice: { type: "string", description: 'the nice value, "-" for real-time policies' },
          vsz_kb: KIB,
          rss_kb: { type: "number", unit: "KiB" },
          state: { type: "string", description: "one letter: R S D Z T I …" },
          cpu_pct: { type: "number", unit: "%", description: "of one CPU over the interval" },
          mem_pct: { type: "number", unit: "%", description: "resident share of MemTotal" },
          time_s: { type: "number", unit: "s", description: "cumulative CPU time" },
          cmd: { type: "string" },
        },
      },
    },
  },
};

/** The `GetCmdTop` collector. */
export function psCollector(
  options: { sampling: TaskSampling; users: UserNames; pageBytes: number },
): Collector {
  return {
    async collect({ fs }) {
      const interval = await options.sampling.processes.interval();
      return formatPs(psRows(interval, options.users), {
        pageBytes: options.pageBytes,
        memTotalKiB: await memTotalKiB(fs),
      });
    },
    async json({ fs }) {
      const interval = await options.sampling.processes.interval();
      return psJson(psRows(interval, options.users), {
        pageBytes: options.pageBytes,
        memTotalKiB: await memTotalKiB(fs),
        seconds: interval.seconds,
      });
    },
    schema: PS_SCHEMA,
  };
}
