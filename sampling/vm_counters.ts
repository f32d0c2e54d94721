/**
 * The sampled source of `/proc/vmstat` (parsed by proc/vmstat.ts) that vmstat turns into rates.
 *
 * @module
 */

import { parseVmstat, type VmCounters, vmCounters, VMSTAT_PATH } from "../proc/vmstat.ts";
import type { ProcFs } from "../proc/fs.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** A sampled source of `/proc/vmstat`, for `vmstatCollector`. */
export function vmCountersSource(
  fs: ProcFs,
  options: SamplingOptions = {},
): SampledSource<VmCounters> {
  return new SampledSource(
    () => vmCounters(parseVmstat(fs.readTextSync(VMSTAT_PATH))),
    options,
    "demand",
  );
}
