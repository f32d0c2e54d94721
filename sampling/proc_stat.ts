/**
 * The sampled source of `/proc/stat` (parsed by proc/stat.ts) whose counters mpstat, vmstat,
 * top -H and irq_info turn into rates.
 *
 * @module
 */

import { parseProcStat, type ProcStat, STAT_PATH } from "../proc/stat.ts";
import type { ProcFs } from "../proc/fs.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** A sampled source of `/proc/stat`, shared by every method that needs its rates. */
export function procStatSource(fs: ProcFs, options: SamplingOptions = {}): SampledSource<ProcStat> {
  return new SampledSource(() => parseProcStat(fs.readTextSync(STAT_PATH)), options, "demand");
}
