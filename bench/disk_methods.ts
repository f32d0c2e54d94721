/**
 * Latency of GetCmdIostat, GetCmdVmstat and GetCmdDf polled once a second, the way a dashboard
 * polls them (target: median under 10 ms: the rate-based two answer from the sampler's latest
 * interval, never sleeping inside a request), and the CPU time that costs.
 *
 * Run from the repository root against the live system:
 *
 * ```sh
 * deno run --allow-all bench/disk_methods.ts [seconds, default 20]
 * ```
 *
 * The methods run in this process, in the registry the daemon builds from its default flags
 * (`daemonRegistry`: the same shared samplers, 1 s interval), so the figures are the methods' own
 * cost without TCP and JSON encoding. After one warm-up
 * call each (the first waits for the sampler's first interval), every method is called once a
 * second; the script prints the median, 95th percentile and maximum in milliseconds, and this
 * process's CPU time over the polling period (samplers included) as a share of one core.
 *
 * @module
 */

import { daemonRegistry } from "../registry/methods.ts";
import { USER_HZ } from "../proc/pid.ts";
import { parseFlags } from "../flags.ts";
import { Logger } from "../log.ts";
import { cpuTicks, percentile } from "./measure.ts";

const seconds = Number(Deno.args[0] ?? 20);
if (!Number.isInteger(seconds) || seconds < 1) {
  console.error("Usage: disk_methods.ts [seconds ≥ 1]");
  Deno.exit(2);
}

const command = parseFlags([]);
if (command.kind !== "run") throw new Error("The default flags do not run the daemon");
const { registry } = daemonRegistry(command.options, new Logger("error", "bench"));
const methods = ["GetCmdIostat", "GetCmdVmstat", "GetCmdDf"];

/** Runs `method` as the daemon does; a failure ends the bench. */
async function call(method: string): Promise<string> {
  const outcome = await registry.call(method);
  if (!outcome.ok) throw new Error(`${method} failed: ${outcome.message}`);
  return outcome.text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

try {
  for (const method of methods) await call(method);
  const times = new Map(methods.map((method) => [method, [] as number[]]));
  const cpuBefore = cpuTicks("self") / USER_HZ;
  const wallBefore = performance.now();
  for (let second = 0; second < seconds; second++) {
    for (const method of methods) {
      const started = performance.now();
      await call(method);
      times.get(method)!.push(performance.now() - started);
    }
    await sleep(1000);
  }
  const cpuShare = (cpuTicks("self") / USER_HZ - cpuBefore) /
    ((performance.now() - wallBefore) / 1000) * 100;
  console.log(`${seconds} polls, one a second per method`);
  console.log("method          median ms   p95 ms   max ms");
  for (const [method, samples] of times) {
    samples.sort((a, b) => a - b);
    console.log(
      `${method.padEnd(14)} ${percentile(samples, 0.5).toFixed(2).padStart(10)} ` +
        `${percentile(samples, 0.95).toFixed(2).padStart(8)} ` +
        `${samples[samples.length - 1]!.toFixed(2).padStart(8)}`,
    );
  }
  console.log(`CPU of this process while polling: ${cpuShare.toFixed(2)} % of one core`);
} finally {
  await registry.close();
}
