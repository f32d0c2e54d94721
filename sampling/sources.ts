/**
 * The sampled sources the rate-based methods share: one per kernel file (and one pass over every
 * process), created once by whoever builds the registry (`createRegistry`) and stopped once by
 * its `close()`. Collectors read intervals from these sources and never stop them: a source is
 * shared (GetCmdMpstat, GetCmdMpstat-I, GetCmdIrqInfo, GetCmdVmstat and GetCmdTopH all read
 * /proc/stat), so no single collector owns it.
 *
 * @module
 */

import type { DiskStats } from "../proc/diskstats.ts";
import type { IrqTable } from "../proc/interrupts.ts";
import type { ProcStat } from "../proc/stat.ts";
import type { VmCounters } from "../proc/vmstat.ts";
import { type CgroupSnapshot, cgroupSource } from "./cgroups.ts";
import { interruptsSource, softirqsSource } from "./interrupts.ts";
import { diskstatsSource } from "./diskstats.ts";
import type { ProcFs } from "../proc/fs.ts";
import { procStatSource } from "./proc_stat.ts";
import type { SampledSource, SamplingOptions } from "./sampler.ts";
import { TaskSampling } from "./task_snapshots.ts";
import { vmCountersSource } from "./vm_counters.ts";

/** Something a source can be stopped by. */
export interface Stoppable {
  stop(): void;
}

/** Every sampled source of the daemon, one per kernel file; see the module documentation. */
export class Sources {
  /** Every process (and thread, while asked for) once a second: top, top -H, iotop. */
  readonly tasks: TaskSampling;
  /** /proc/stat: mpstat, mpstat -I, irq_info, vmstat, top -H. */
  readonly procStat: SampledSource<ProcStat>;
  /** /proc/interrupts: mpstat -I. */
  readonly interrupts: SampledSource<IrqTable>;
  /** /proc/softirqs: mpstat -I. */
  readonly softirqs: SampledSource<IrqTable>;
  /** /proc/diskstats: iostat. */
  readonly diskstats: SampledSource<DiskStats>;
  /** /proc/vmstat: vmstat. */
  readonly vmCounters: SampledSource<VmCounters>;
  /** The cgroup counters: cgtop. */
  readonly cgroups: SampledSource<CgroupSnapshot>;
  #closed = false;

  /**
   * @param fs the reader every source reads through
   * @param sampling timing of every source (tests shorten the interval or pass a virtual clock)
   */
  constructor(fs: ProcFs, sampling: SamplingOptions = {}) {
    this.tasks = new TaskSampling(fs, sampling);
    this.procStat = procStatSource(fs, sampling);
    this.interrupts = interruptsSource(fs, sampling);
    this.softirqs = softirqsSource(fs, sampling);
    this.diskstats = diskstatsSource(fs, sampling);
    this.vmCounters = vmCountersSource(fs, sampling);
    this.cgroups = cgroupSource(fs, sampling);
  }

  /** Every source by name, in the order close() stops them. */
  all(): [name: string, source: Stoppable][] {
    return [
      ["tasks", this.tasks],
      ["procStat", this.procStat],
      ["interrupts", this.interrupts],
      ["softirqs", this.softirqs],
      ["diskstats", this.diskstats],
      ["vmCounters", this.vmCounters],
      ["cgroups", this.cgroups],
    ];
  }

  /** Stops every source once (at shutdown); later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, source] of this.all()) source.stop();
  }
}
