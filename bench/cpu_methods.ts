/**
 * Latency of the CPU methods GetCmdMpstat, GetCmdMpstat-I and GetCmdIrqInfo when polled once a
 * second, as LEPV's dashboards do, against the live /proc (target: median under 10 ms; the
 * original slept a second in each, or lost its interval instead).
 *
 * ```sh
 * deno run --allow-all bench/cpu_methods.ts [seconds, default 20]
 * ```
 *
 * Builds the three collectors on one shared /proc/stat source and the /proc/interrupts and
 * /proc/softirqs sources, as the daemon does; the first round waits for the samplers' first
 * interval and is left out. Prints the median, 95th percentile and maximum per method, the cost
 * of one snapshot of each sampled file, and this process's CPU time over the polling — which
 * includes the snapshots the samplers take on demand — as a share of one core.
 *
 * @module
 */

import { interruptsSource, parseIrqTable, softirqsSource } from "../collectors/interrupts.ts";
import { irqInfoCollector } from "../collectors/irq_info.ts";
import { mpstatCollector, mpstatInterruptsCollector } from "../collectors/mpstat.ts";
import { parseProcStat, procStatSource } from "../collectors/proc_stat.ts";
import { ProcFs } from "../collectors/proc_fs.ts";
import type { Collector, CollectorContext } from "../collectors/registry.ts";
import { USER_HZ } from "../collectors/processes.ts";
import { cpuTicks, percentile } from "./measure.ts";

const seconds = Number(Deno.args[0] ?? 20);
if (!Number.isInteger(seconds) || seconds < 2) {
  console.error("Usage: cpu_methods.ts [seconds ≥ 2]");
  Deno.exit(2);
}

const fs = new ProcFs({ maxFileBytes: 1 << 24 });
const procStat = procStatSource(fs);
const interrupts = interruptsSource(fs);
const softirqs = softirqsSource(fs);
const collectors: [string, Collector][] = [
  ["GetCmdMpstat", mpstatCollector({ procStat })],
  ["GetCmdMpstat-I", mpstatInterruptsCollector({ procStat, interrupts, softirqs })],
  ["GetCmdIrqInfo", irqInfoCollector({ procStat })],
];

/** Median time of `read` over 200 runs, in milliseconds. */
function snapshotMs(read: () => unknown): number {
  const times: number[] = [];
  for (let run = 0; run < 200; run++) {
    const started = performance.now();
    read();
    times.push(performance.now() - started);
  }
  return percentile(times.sort((a, b) => a - b), 0.5);
}

try {
  const context: CollectorContext = { fs, methods: collectors.map(([method]) => method) };
  const sizes = new Map<string, number>();
  for (const [method, collector] of collectors) {
    sizes.set(method, (await collector.collect(context)).length);
  }
  const times = new Map(collectors.map(([method]) => [method, [] as number[]]));
  const ticksBefore = cpuTicks("self");
  const wallBefore = performance.now();
  for (let round = 0; round < seconds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const [method, collector] of collectors) {
      const started = performance.now();
      await collector.collect(context);
      times.get(method)!.push(performance.now() - started);
    }
  }
  const cpuShare = (cpuTicks("self") - ticksBefore) / USER_HZ /
    ((performance.now() - wallBefore) / 1000) * 100;

  const cpus = parseIrqTable(fs.readTextSync("/proc/interrupts")).cpus.length;
  console.log(`${seconds} polls, one a second, ${cpus} online CPUs, live /proc`);
  console.log("method            median ms   p95 ms   max ms   bytes");
  for (const [method, measured] of times) {
    const sorted = [...measured].sort((a, b) => a - b);
    console.log(
      method.padEnd(16) +
        [percentile(sorted, 0.5), percentile(sorted, 0.95), sorted.at(-1)!]
          .map((value) => value.toFixed(2).padStart(10)).join("") +
        String(sizes.get(method)).padStart(8),
    );
  }
  console.log("\nsnapshot (read + parse), median ms:");
  for (
    const [path, parse] of [
      ["/proc/stat", parseProcStat],
      ["/proc/interrupts", parseIrqTable],
      ["/proc/softirqs", parseIrqTable],
    ] as const
  ) {
    console.log(`  ${path.padEnd(18)}${snapshotMs(() => parse(fs.readTextSync(path))).toFixed(3)}`);
  }
  console.log(
    `\nthis process while polling (collectors + samplers): ${cpuShare.toFixed(2)} % of one core`,
  );
} finally {
  procStat.stop();
  interrupts.stop();
  softirqs.stop();
}
