/**
 * Latency of the CPU methods GetCmdMpstat, GetCmdMpstat-I and GetCmdIrqInfo when polled once a
 * second, as LEPV's dashboards do, against the live /proc (target: median under 10 ms; the
 * original slept a second in each, or lost its interval instead).
 *
 * ```sh
 * deno run --allow-all bench/cpu_methods.ts [seconds, default 20]
 * ```
 *
 * Runs the three methods in the registry the daemon builds from its default flags
 * (`daemonRegistry`: one shared /proc/stat source and the /proc/interrupts and /proc/softirqs
 * sources); the first round waits for the samplers' first
 * interval and is left out. Prints the median, 95th percentile and maximum per method, the cost
 * of one snapshot of each sampled file, and this process's CPU time over the polling — which
 * includes the snapshots the samplers take on demand — as a share of one core.
 *
 * @module
 */

import { parseIrqTable } from "../proc/interrupts.ts";
import { daemonRegistry } from "../registry/methods.ts";
import { parseProcStat } from "../proc/stat.ts";
import { USER_HZ } from "../proc/pid.ts";
import { parseFlags } from "../flags.ts";
import { Logger } from "../log.ts";
import { cpuTicks, percentile } from "./measure.ts";

const seconds = Number(Deno.args[0] ?? 20);
if (!Number.isInteger(seconds) || seconds < 2) {
  console.error("Usage: cpu_methods.ts [seconds ≥ 2]");
  Deno.exit(2);
}

const command = parseFlags([]);
if (command.kind !== "run") throw new Error("The default flags do not run the daemon");
const { fs, registry } = daemonRegistry(command.options, new Logger("error", "bench"));
const methods = ["GetCmdMpstat", "GetCmdMpstat-I", "GetCmdIrqInfo"];

/** Runs `method` as the daemon does; a failure ends the bench. */
async function call(method: string): Promise<string> {
  const outcome = await registry.call(method);
  if (!outcome.ok) throw new Error(`${method} failed: ${outcome.message}`);
  return outcome.text;
}

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
  const sizes = new Map<string, number>();
  for (const method of methods) sizes.set(method, (await call(method)).length);
  const times = new Map(methods.map((method) => [method, [] as number[]]));
  const ticksBefore = cpuTicks("self");
  const wallBefore = performance.now();
  for (let round = 0; round < seconds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const method of methods) {
      const started = performance.now();
      await call(method);
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
  await registry.close();
}
