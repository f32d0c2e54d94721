/**
 * The Prometheus scrape, in the main isolate: reads the kernel files with the collectors'
 * parsers, turns them into metric families (metrics/node.ts) and adds lepd's own. The network
 * worker asks for a scrape with no parameters and renders the families itself
 * (rpc/metrics_http.ts), so no byte of an HTTP request reaches this code.
 *
 * Each source is a collector in node_exporter's sense: one that fails (a file missing, a parse
 * error) reports `lepd_scrape_collector_success{collector} 0` and the others still answer. A
 * scrape never waits long on a slow source: everything but `statfs` is a synchronous read of a
 * small file, `statfs` has df's 2-second timeout per mount, and a collector still running after
 * {@link COLLECTOR_TIMEOUT_MS} fails for that scrape. Scrapes that arrive while one runs share it.
 *
 * @module
 */

import type { MetricFamily, Sample } from "./exposition.ts";
import {
  cpuFamilies,
  diskFamilies,
  filesystemFamilies,
  loadFamilies,
  meminfoFamilies,
  type ProcessCpu,
  processFamilies,
  statFamilies,
  vmstatFamilies,
} from "./node.ts";
import { LOADAVG_PATH } from "../proc/loadavg.ts";
import { MEMINFO_PATH, parseMeminfo } from "../proc/meminfo.ts";
import { MOUNTS_PATH, parseMounts } from "../proc/mounts.ts";
import { type FsSizes, mountedSizes } from "../sampling/filesystems.ts";
import { DISKSTATS_PATH, parseDiskstats } from "../proc/diskstats.ts";
import type { ProcFs } from "../proc/fs.ts";
import { parseProcStat, STAT_PATH } from "../proc/stat.ts";
import { parseTaskStat, type TaskStat } from "../proc/pid.ts";
import { listPids } from "../sampling/pids.ts";
import type { ScrapeOutcome } from "../rpc/messages.ts";
import type { MethodStats } from "../registry/registry.ts";
import { cpuPercent, taskKey } from "../sampling/task_snapshots.ts";
import { parseVmstat, VMSTAT_PATH } from "../proc/vmstat.ts";

/** Most processes `--metrics-top-processes` may ask for. */
export const MAX_TOP_PROCESSES = 100;

/**
 * A collector that has not finished by then fails for this scrape. Only `filesystem` waits on
 * anything (df's `statfs`, itself bounded at 2 s per mount); this is the backstop.
 */
export const COLLECTOR_TIMEOUT_MS = 3000;

/** Two scrapes closer than this share one process interval instead of measuring a new one. */
const MIN_PROCESS_INTERVAL_MS = 500;

/** What the scrape needs of the method table (the registry). */
export interface MethodStatsSource {
  names(): readonly string[];
  stats(method: string): Readonly<MethodStats> | undefined;
}

/** Everything a scraper reads from; tests replace the clock and `statfs`. */
export interface ScraperOptions {
  fs: ProcFs;
  /** The method table whose counters become `lepd_method_*`; none when absent. */
  methods?: MethodStatsSource;
  /** How many of the busiest processes `lepd_process_cpu_percent` shows (0: none, no reads). */
  topProcesses: number;
  /** lepd's version, for `lepd_build_info`. */
  version: string;
  /** Sizes of the file system at a path (default: df's `statSizes`, with its timeout). */
  statSizes?: (path: string) => Promise<FsSizes | undefined>;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
  /** Time a collector may take (default {@link COLLECTOR_TIMEOUT_MS}). */
  collectorTimeoutMs?: number;
}

/** One process in a snapshot: what the CPU share needs. */
type ProcessSnapshot = Map<string, { pid: number; comm: string; stat: TaskStat }>;

interface TimedSnapshot {
  processes: ProcessSnapshot;
  atMs: number;
}

/** A named source of families; `run` throws when its source cannot be read. */
interface Source {
  name: string;
  run(read: (path: string) => string): MetricFamily[] | Promise<MetricFamily[]>;
}

/** Builds the families of a scrape; one instance per daemon. */
export class Scraper {
  readonly #options: ScraperOptions;
  readonly #now: () => number;
  readonly #sources: Source[];
  #inFlight: Promise<MetricFamily[]> | undefined;
  #previous: TimedSnapshot | undefined;
  #latest: TimedSnapshot | undefined;

  constructor(options: ScraperOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    const fs = options.fs;
    this.#sources = [
      { name: "cpu", run: (read) => cpuFamilies(parseProcStat(read(STAT_PATH))) },
      { name: "diskstats", run: (read) => diskFamilies(parseDiskstats(read(DISKSTATS_PATH))) },
      {
        name: "filesystem",
        run: async (read) => {
          // The mounts GetCmdDf shows, stat'ed as it stats them.
          const mounts = parseMounts(read(MOUNTS_PATH));
          return filesystemFamilies(
            await mountedSizes(mounts, (path) => fs.resolve(path), options.statSizes),
          );
        },
      },
      { name: "loadavg", run: (read) => loadFamilies(read(LOADAVG_PATH)) },
      { name: "meminfo", run: (read) => meminfoFamilies(parseMeminfo(read(MEMINFO_PATH))) },
      { name: "stat", run: (read) => statFamilies(parseProcStat(read(STAT_PATH))) },
      { name: "vmstat", run: (read) => vmstatFamilies(parseVmstat(read(VMSTAT_PATH))) },
    ];
    if (options.topProcesses > 0) {
      this.#sources.push({ name: "processes", run: () => processFamilies(this.#topProcesses()) });
    }
  }

  /** The names of the collectors, in the order they run. */
  get collectors(): string[] {
    return this.#sources.map((source) => source.name);
  }

  /** Every family of one scrape. A scrape asked for while one runs shares its result. */
  scrape(): Promise<MetricFamily[]> {
    this.#inFlight ??= this.#scrape().finally(() => this.#inFlight = undefined);
    return this.#inFlight;
  }

  /** {@link scrape} as the network worker gets it: never throws. */
  async outcome(): Promise<ScrapeOutcome> {
    try {
      return { ok: true, families: await this.scrape() };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  }

  async #scrape(): Promise<MetricFamily[]> {
    // One read of each file per scrape, shared by the collectors that parse it.
    const texts = new Map<string, string>();
    const read = (path: string): string => {
      let text = texts.get(path);
      if (text === undefined) {
        text = this.#options.fs.readTextSync(path);
        texts.set(path, text);
      }
      return text;
    };
    const families: MetricFamily[] = [];
    const success: Sample[] = [];
    const duration: Sample[] = [];
    for (const source of this.#sources) {
      const started = this.#now();
      let ok = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const deadline = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${source.name} timed out`)),
            this.#options.collectorTimeoutMs ?? COLLECTOR_TIMEOUT_MS,
          );
        });
        families.push(...await Promise.race([source.run(read), deadline]));
      } catch {
        ok = false;
      } finally {
        clearTimeout(timer);
      }
      const labels = [["collector", source.name]] as const;
      // Microseconds are all a duration means here; more digits are only bytes.
      duration.push({ labels, value: Math.round((this.#now() - started) * 1000) / 1e6 });
      success.push({ labels, value: ok ? 1 : 0 });
    }
    families.push(...this.#methodFamilies(), {
      name: "lepd_scrape_collector_duration_seconds",
      help: "lepd: duration of a collector scrape.",
      type: "gauge",
      samples: duration,
    }, {
      name: "lepd_scrape_collector_success",
      help: "lepd: whether a collector succeeded.",
      type: "gauge",
      samples: success,
    }, {
      name: "lepd_build_info",
      help: "lepd's version; the value is always 1.",
      type: "gauge",
      samples: [{ labels: [["version", this.#options.version]], value: 1 }],
    });
    return families;
  }

  /** `lepd_method_*` from the registry's counters, one series per registered method. */
  #methodFamilies(): MetricFamily[] {
    const methods = this.#options.methods;
    if (methods === undefined) return [];
    const calls: Sample[] = [];
    const failures: Sample[] = [];
    const durations: Sample[] = [];
    for (const method of methods.names()) {
      const stats = methods.stats(method);
      if (stats === undefined) continue;
      const labels = [["method", method]] as const;
      calls.push({ labels, value: stats.calls });
      failures.push({ labels, value: stats.failures });
      durations.push(
        { labels, value: Math.round(stats.totalMs * 1000) / 1e6, suffix: "_sum" },
        { labels, value: stats.calls, suffix: "_count" },
      );
    }
    return [
      {
        name: "lepd_method_calls_total",
        help: "JSON-RPC method calls answered since lepd started.",
        type: "counter",
        samples: calls,
      },
      {
        name: "lepd_method_failures_total",
        help: "JSON-RPC method calls that answered with an error since lepd started.",
        type: "counter",
        samples: failures,
      },
      {
        name: "lepd_method_duration_seconds",
        help: "Time spent computing JSON-RPC method results since lepd started.",
        type: "summary",
        samples: durations,
      },
    ];
  }

  /**
   * The busiest processes over the interval between the two latest process snapshots. A
   * snapshot is taken by a scrape at least half a second after the previous one, so the
   * interval is the time since the previous scrape, as in `top`; the first scrape only takes a
   * snapshot and shows no process.
   */
  #topProcesses(): ProcessCpu[] {
    const now = this.#now();
    if (this.#latest === undefined || now - this.#latest.atMs >= MIN_PROCESS_INTERVAL_MS) {
      const processes = this.#readProcesses();
      this.#previous = this.#latest;
      this.#latest = { processes, atMs: now };
    }
    const previous = this.#previous;
    const latest = this.#latest;
    if (previous === undefined) return [];
    const seconds = (latest.atMs - previous.atMs) / 1000;
    const rows: ProcessCpu[] = [];
    for (const [key, entry] of latest.processes) {
      rows.push({
        pid: entry.pid,
        comm: entry.comm,
        // Hundredths of a percent: ticks are 10 ms, so more digits would be noise.
        percent: Math.round(
          cpuPercent(previous.processes.get(key)?.stat, entry.stat, seconds) * 100,
        ) / 100,
      });
    }
    rows.sort((a, b) => b.percent - a.percent || a.pid - b.pid);
    return rows.slice(0, this.#options.topProcesses);
  }

  #readProcesses(): ProcessSnapshot {
    const fs = this.#options.fs;
    const processes: ProcessSnapshot = new Map();
    for (const pid of listPids(fs)) {
      const stat = parseTaskStat(fs.tryReadTextSync(`/proc/${pid}/stat`) ?? "");
      if (stat !== undefined) processes.set(taskKey(stat), { pid, comm: stat.comm, stat });
    }
    return processes;
  }
}
