/**
 * What a dashboard costs the daemon: one client polls a set of methods over TCP at a fixed
 * period, as LEPV does, and the script reports each method's median latency and the daemon's CPU
 * time (from /proc/<pid>/stat) over the run.
 *
 * ```sh
 * deno run -A --unstable-worker-options bench/poll_cost.ts --period 2 --seconds 60 \
 *   GetCmdMpstat GetCmdMpstat-I GetCmdIostat GetCpuInfo GetCmdIrqInfo GetCmdVmstat GetCmdDf \
 *   GetCmdDmesg GetCmdCgtop
 * ```
 *
 * Targets: rate-based methods under 10 ms at the median; the nine CPU, disk and kernel methods
 * every 2 s under 1 % of one core; GetCmdTop, GetCmdTopH and GetCmdIotop every second under 2 %.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Client, startDaemon } from "../tests/helpers/daemon.ts";
import { cpuTicks, median } from "./measure.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { period: { type: "string", default: "1" }, seconds: { type: "string", default: "60" } },
  allowPositionals: true,
});
const periodMs = Number(values.period) * 1000;
const seconds = Number(values.seconds);
const methods = positionals.length > 0 ? positionals : ["GetCmdTop", "GetCmdTopH", "GetCmdIotop"];

const daemon = await startDaemon();
try {
  const client = await Client.connect(daemon.port);
  const call = async (method: string): Promise<number> => {
    const started = performance.now();
    await client.send(JSON.stringify({ method }));
    const response = await client.readResponse(30_000);
    if (!response.includes('\t"result":')) throw new Error(`${method} failed: ${response}`);
    return performance.now() - started;
  };
  // Warm up: the first call of a sampled method waits for its first interval.
  for (const method of methods) await call(method);
  const latencies = new Map(methods.map((method) => [method, [] as number[]]));
  const ticksBefore = cpuTicks(daemon.process.pid);
  const started = performance.now();
  for (let round = 0; round * periodMs < seconds * 1000; round++) {
    for (const method of methods) latencies.get(method)!.push(await call(method));
    const due = started + (round + 1) * periodMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpuSeconds = (cpuTicks(daemon.process.pid) - ticksBefore) / 100;
  for (const [method, list] of latencies) {
    console.log(
      `${method.padEnd(16)} median ${
        median(list).toFixed(2).padStart(7)
      } ms over ${list.length} calls`,
    );
  }
  console.log(
    `daemon CPU: ${(cpuSeconds / elapsed * 100).toFixed(2)} % of one core over ${
      elapsed.toFixed(0)
    } s ` +
      `(polling every ${periodMs / 1000} s)`,
  );
  client.close();
} finally {
  await daemon.stop();
}
