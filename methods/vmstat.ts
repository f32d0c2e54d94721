/**
 * `GetCmdVmstat`: one line of procps `vmstat` (docs/protocol.md 3.15) under its two header lines.
 *
 * procps' first line averages since boot; here every rate (swap and block I/O, interrupts,
 * context switches, CPU shares) is taken over the sampler's latest interval, as the lines
 * procps prints after the first one are. The formulas and column widths are those of procps-ng
 * 3.3 `new_format`.
 *
 * @module
 */

import { type Meminfo, MEMINFO_PATH, meminfoKib, parseMeminfo } from "../proc/meminfo.ts";
import { counterDelta, counterRate, type CounterWidth } from "../proc/counter.ts";
import type { VmCounters } from "../proc/vmstat.ts";
import type { ProcStat } from "../proc/stat.ts";
import type { Collector, Schema } from "./collector.ts";
import type { ProcFs } from "../proc/fs.ts";
import type { Interval, SampledSource } from "../sampling/sampler.ts";

/** The group header line. */
export const VMSTAT_GROUP_HEADER =
  "procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----";

/** The column header line. */
export const VMSTAT_COLUMN_HEADER =
  " r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st";

/** The seventeen values of the line, in column order. */
export interface VmstatValues {
  running: number;
  blocked: number;
  /** KiB. */
  swapUsed: number;
  free: number;
  buffers: number;
  cache: number;
  /** KiB per second. */
  swapIn: number;
  swapOut: number;
  /** KiB per second. */
  blocksIn: number;
  blocksOut: number;
  interruptsPerSecond: number;
  contextSwitchesPerSecond: number;
  /** Whole percentages. */
  user: number;
  system: number;
  idle: number;
  iowait: number;
  steal: number;
}

/** Growth per second of a counter of `width` (counter.ts), rounded to an integer as procps does. */
function ratePerSecond(
  previous: number,
  latest: number,
  width: CounterWidth,
  seconds: number,
): number {
  return Math.round(counterRate(previous, latest, width, seconds));
}

/**
 * CPU shares as procps computes them: `us` = user + nice (guest time is inside user), `sy` =
 * system + irq + softirq, `id`, `wa`, `st`; each `(100 × Δ + total/2) ÷ total` in integers
 * over the five, so they need not add up to 100. An interval without ticks reads 100 % idle.
 */
export function vmstatCpuShares(
  previous: ProcStat,
  latest: ProcStat,
): Pick<VmstatValues, "user" | "system" | "idle" | "iowait" | "steal"> {
  const before = previous.cpus.get("cpu");
  const after = latest.cpus.get("cpu");
  const delta = (read: (times: NonNullable<typeof before>) => number): number =>
    before === undefined || after === undefined
      ? 0
      : counterDelta(read(before), read(after), "monotonic");
  const user = delta((times) => times.user + times.nice);
  const system = delta((times) => times.system + times.irq + times.softirq);
  let idle = delta((times) => times.idle);
  const iowait = delta((times) => times.iowait);
  const steal = delta((times) => times.steal);
  let total = user + system + idle + iowait + steal;
  if (total === 0) total = idle = 1;
  const share = (ticks: number): number =>
    Math.floor((100 * ticks + Math.floor(total / 2)) / total);
  return {
    user: share(user),
    system: share(system),
    idle: share(idle),
    iowait: share(iowait),
    steal: share(steal),
  };
}

/**
 * The line's values from the latest intervals of `/proc/stat` and `/proc/vmstat` and the
 * current `/proc/meminfo` (KiB values by key).
 *
 * `r` leaves out the one task that is always running when /proc/stat is read — the reader
 * itself — as procps 3.3's "exclude vmstat itself" did; `cache` is Cached + SReclaimable, as
 * in procps-ng.
 */
export function vmstatValues(
  sources: { stat: Interval<ProcStat>; vm: Interval<VmCounters>; meminfo: Meminfo },
  options: { pageBytes: number },
): VmstatValues {
  const { stat, vm, meminfo } = sources;
  const kib = (key: string): number => meminfoKib(meminfo, key);
  const pageKiB = options.pageBytes / 1024;
  // The paging counters are `unsigned long` event counts (vm_event_states) of a 64-bit kernel.
  const vmRate = (field: keyof VmCounters, scale = 1): number =>
    Math.round(counterRate(vm.previous[field], vm.latest[field], 64, vm.seconds) * scale);
  return {
    running: Math.max(0, stat.latest.procsRunning - 1),
    blocked: stat.latest.procsBlocked,
    swapUsed: Math.max(0, kib("SwapTotal") - kib("SwapFree")),
    free: kib("MemFree"),
    buffers: kib("Buffers"),
    cache: kib("Cached") + kib("SReclaimable"),
    swapIn: vmRate("pswpin", pageKiB),
    swapOut: vmRate("pswpout", pageKiB),
    blocksIn: vmRate("pgpgin"),
    blocksOut: vmRate("pgpgout"),
    // A 64-bit sum of 32-bit counters, read with width 32 as GetCmdIrqInfo reads it.
    interruptsPerSecond: ratePerSecond(
      stat.previous.interrupts,
      stat.latest.interrupts,
      32,
      stat.seconds,
    ),
    contextSwitchesPerSecond: ratePerSecond(
      stat.previous.contextSwitches,
      stat.latest.contextSwitches,
      64,
      stat.seconds,
    ),
    ...vmstatCpuShares(stat.previous, stat.latest),
  };
}

/** procps' `%2u %2u %6lu %6lu %6lu %6lu %4u %4u %5u %5u %4u %4u %2u %2u %2u %2u %2u`. */
const VALUE_WIDTHS = [2, 2, 6, 6, 6, 6, 4, 4, 5, 5, 4, 4, 2, 2, 2, 2, 2];

/** The whole text: both headers and the value line, each ending with a newline. */
export function formatVmstat(values: VmstatValues): string {
  const ordered = [
    values.running,
    values.blocked,
    values.swapUsed,
    values.free,
    values.buffers,
    values.cache,
    values.swapIn,
    values.swapOut,
    values.blocksIn,
    values.blocksOut,
    values.interruptsPerSecond,
    values.contextSwitchesPerSecond,
    values.user,
    values.system,
    values.idle,
    values.iowait,
    values.steal,
  ];
  const line = ordered.map((value, index) => String(value).padStart(VALUE_WIDTHS[index]!))
    .join(" ");
  return `${VMSTAT_GROUP_HEADER}\n${VMSTAT_COLUMN_HEADER}\n${line}\n`;
}

const number = (unit: string, description?: string): Schema => ({
  type: "number",
  unit,
  ...(description === undefined ? {} : { description }),
});

/** The schema of `GetCmdVmstat`'s JSON: the columns of the text's line, as the text rounds them. */
export const VMSTAT_SCHEMA: Schema = {
  type: "object",
  fields: {
    r: number("tasks", "runnable"),
    b: number("tasks", "blocked on I/O"),
    swpd_kb: number("KiB"),
    free_kb: number("KiB"),
    buff_kb: number("KiB"),
    cache_kb: number("KiB"),
    si_kb_per_s: number("KiB/s"),
    so_kb_per_s: number("KiB/s"),
    bi_kb_per_s: number("KiB/s"),
    bo_kb_per_s: number("KiB/s"),
    in_per_s: number("1/s", "interrupts"),
    cs_per_s: number("1/s", "context switches"),
    us_pct: number("%"),
    sy_pct: number("%"),
    id_pct: number("%"),
    wa_pct: number("%"),
    st_pct: number("%"),
  },
};

/**
 * The `GetCmdVmstat` collector.
 *
 * @param options.procStat the shared sampled `/proc/stat`
 * @param options.vmstat the sampled `/proc/vmstat` (see `vmCountersSource`)
 * @param options.pageBytes size of a page, to turn swapped pages into KiB
 * @throws {MethodFailure} when `/proc/stat`, `/proc/vmstat` or `/proc/meminfo` cannot be read
 */
export function vmstatCollector(
  options: {
    procStat: SampledSource<ProcStat>;
    vmstat: SampledSource<VmCounters>;
    pageBytes: number;
  },
): Collector {
  const values = async (fs: ProcFs) => {
    const [stat, vm, meminfo] = await Promise.all([
      options.procStat.interval(),
      options.vmstat.interval(),
      fs.readText(MEMINFO_PATH),
    ]);
    return vmstatValues(
      { stat, vm, meminfo: parseMeminfo(meminfo) },
      { pageBytes: options.pageBytes },
    );
  };
  return {
    async collect({ fs }) {
      return formatVmstat(await values(fs));
    },
    async json({ fs }) {
      const v = await values(fs);
      return {
        r: v.running,
        b: v.blocked,
        swpd_kb: v.swapUsed,
        free_kb: v.free,
        buff_kb: v.buffers,
        cache_kb: v.cache,
        si_kb_per_s: v.swapIn,
        so_kb_per_s: v.swapOut,
        bi_kb_per_s: v.blocksIn,
        bo_kb_per_s: v.blocksOut,
        in_per_s: v.interruptsPerSecond,
        cs_per_s: v.contextSwitchesPerSecond,
        us_pct: v.user,
        sy_pct: v.system,
        id_pct: v.idle,
        wa_pct: v.iowait,
        st_pct: v.steal,
      };
    },
    schema: VMSTAT_SCHEMA,
  };
}
