/**
 * Builds the registry of every method lepd serves, in the order of docs/protocol.md section 2 —
 * which is the order `ListAllMethod` reports: the 32 methods of the original's HEAD first, then
 * the ones only its README or its history had, then lepd's own additions.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { cgtopCollector } from "../methods/cgtop.ts";
import { cpuInfoCollector } from "../methods/cpu_info.ts";
import { dfCollector } from "../methods/df.ts";
import { dmesgCollector } from "../methods/dmesg.ts";
import { freeCollector } from "../methods/free.ts";
import { listAllMethod, sayHello } from "../methods/hello.ts";
import { createPerfCollectors, resolvePerf } from "../perf/service.ts";
import { iostatCollector } from "../methods/iostat.ts";
import { iotopCollector } from "../methods/iotop.ts";
import { irqInfoCollector } from "../methods/irq_info.ts";
import { mpstatCollector, mpstatInterruptsCollector } from "../methods/mpstat.ts";
import { PROC_FILE_METHODS, procFileCollector } from "../methods/proc_files.ts";
import { ProcFs } from "../proc/fs.ts";
import { liveWatches } from "../proc/mounts_watch.ts";
import { pageSizeBytes, UserNames } from "../methods/processes.ts";
import { procrankCollector } from "../methods/procrank.ts";
import { psCollector } from "../methods/top.ts";
import { Registry } from "./registry.ts";
import type { SamplingOptions } from "../sampling/sampler.ts";
import { smemCollector } from "../methods/smem.ts";
import { Sources } from "../sampling/sources.ts";
import { topThreadsCollector } from "../methods/top_h.ts";
import { vmstatCollector } from "../methods/vmstat.ts";

/** Bounds and timing of the collectors, from the command line. */
export interface CollectorOptions {
  fs: ProcFs;
  log: Logger;
  /** Largest text one method may return. */
  maxResultBytes: number;
  /** Largest GetCmdDmesg text: the most recent kernel-log records that fit. */
  dmesgMaxBytes: number;
  /** Bounds of the perf methods; `kernelAddresses` keeps kernel addresses in their texts. */
  perf: {
    maxOutputBytes: number;
    deadlineMs: number;
    queueLength: number;
    kernelAddresses?: boolean;
  };
  /** Timing of the sampled sources (tests shorten the interval). */
  sampling?: SamplingOptions;
  /**
   * The sampled sources the methods share (default: created here from `fs` and `sampling`;
   * tests pass their own to watch them). The registry owns them either way: its close() stops
   * each one once.
   */
  sources?: Sources;
}

/**
 * Creates the registry with every collector registered. What the collectors share, the sampled
 * sources and the perf service, is created here once and handed to the registry, whose close()
 * releases each once; the main daemon, `--check` and the benches all build it this way.
 */
export function createRegistry(options: CollectorOptions): Registry {
  const { fs } = options;
  const registry = new Registry(options);
  const users = new UserNames(fs);
  const pageBytes = pageSizeBytes(fs);
  // One sampled source per kernel file, shared by every method that needs its rates.
  const sources = options.sources ?? new Sources(fs, options.sampling);
  registry.own(sources);
  const { tasks, procStat, interrupts, softirqs } = sources;
  // perf samples the live system: under a captured tree its answers would mix two machines.
  const live = fs.resolve("/proc") === "/proc";
  const perf = createPerfCollectors({
    ...options.perf,
    executable: live ? resolvePerf() : undefined,
    ...(live ? {} : {
      unavailable: `perf methods sample the live system and are off while lepd reads the ` +
        `captured tree "${fs.resolve("/")}" (--root)`,
    }),
  });
  registry.own(perf);

  // The 32 methods of the original, in its order.
  registry.register("SayHello", sayHello);
  registry.register("ListAllMethod", listAllMethod);
  for (const [method, path] of PROC_FILE_METHODS) {
    registry.register(method, procFileCollector(path));
  }
  registry.register("GetCmdIotop", iotopCollector({ sampling: tasks, users }));
  registry.register("GetCmdFree", freeCollector);
  registry.register("GetCmdProcrank", procrankCollector);
  registry.register("GetCmdIostat", iostatCollector({ diskstats: sources.diskstats }));
  registry.register("GetCmdTop", psCollector({ sampling: tasks, users, pageBytes }));
  registry.register("GetCmdDmesg", dmesgCollector({ maxBytes: options.dmesgMaxBytes }));
  registry.register("GetCmdDf", dfCollector);
  registry.register("GetCpuInfo", cpuInfoCollector);
  registry.register("GetCmdMpstat", mpstatCollector({ procStat }));
  registry.register(
    "GetCmdMpstat-I",
    mpstatInterruptsCollector({ procStat, interrupts, softirqs }),
  );
  registry.register("GetCmdIrqInfo", irqInfoCollector({ procStat }));
  registry.register("GetCmdCgtop", cgtopCollector({ cgroups: sources.cgroups }));
  registry.register("GetCmdPerfFaults", perf.faults);
  registry.register("GetCmdPerfCpuclock", perf.cpuclock);
  registry.register("GetCmdPerfFlame", perf.flame);

  // Methods the original's README or history had (docs/protocol.md section 2, rows 33–35).
  registry.register(
    "GetCmdVmstat",
    vmstatCollector({ procStat, vmstat: sources.vmCounters, pageBytes }),
  );
  registry.register(
    "GetCmdTopH",
    topThreadsCollector({ sampling: tasks, procStat, users, pageBytes }),
  );
  registry.register("GetCmdSmem", smemCollector(users));

  // lepd's own additions.
  registry.register("GetCmdPerfFlameFolded", perf.flameFolded);
  return registry;
}

/**
 * How many system-wide /proc files the daemon's reader keeps open between reads (`ProcFs`'s
 * `keepOpen`): more than the daemon's code reads (about 25, every method and the metrics
 * together), so the limit only guards against a future path built from data.
 */
export const KEPT_OPEN_FILES = 64;

/** What the command line decides about the methods: a part of main's `Options`. */
export interface DaemonRegistryOptions {
  /** `--root`: the directory standing for `/`. */
  root: string;
  /** `--max-response-bytes`: the largest text, and the largest file read. */
  maxResponseBytes: number;
  /** `--dmesg-bytes`. */
  dmesgMaxBytes: number;
  /** The perf flags. */
  perf: CollectorOptions["perf"];
}

/**
 * The daemon's registry and reader from its options: the one way the daemon (main.ts),
 * `--check` and the benches build it, so a bench measures exactly what the daemon serves.
 */
export function daemonRegistry(
  options: DaemonRegistryOptions,
  log: Logger,
): { fs: ProcFs; registry: Registry } {
  const fs = new ProcFs({
    root: options.root,
    maxFileBytes: options.maxResponseBytes,
    // On the live system only; ProcFs keeps nothing open and watches nothing under --root.
    keepOpen: KEPT_OPEN_FILES,
    // The mount table is read again only after the kernel reported a change.
    watches: liveWatches,
  });
  const registry = createRegistry({
    fs,
    log,
    maxResultBytes: options.maxResponseBytes,
    dmesgMaxBytes: options.dmesgMaxBytes,
    perf: options.perf,
  });
  // Closed after the collectors, which may read through it until then.
  registry.own(fs);
  return { fs, registry };
}
