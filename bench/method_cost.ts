/**
 * CPU per call of each method in-process, with no network, no worker and no sampler timing:
 * what a method's own work costs. Each method is called `--calls` times after `--warmup` calls;
 * sampled methods answer from the sampler's current interval, so the sampler's own ticks are
 * measured separately as `sampler tick` (one refresh of every source the methods started).
 *
 * ```sh
 * deno run -A bench/method_cost.ts [--calls 2000] [--methods GetProcMeminfo,GetCmdDf] [--round-gap-ms 600]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { createRegistry } from "../registry/methods.ts";
import { ProcFs } from "../proc/fs.ts";
import { Logger } from "../log.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "2000" },
    warmup: { type: "string", default: "200" },
    "round-gap-ms": { type: "string", default: "0" },
    methods: {
      type: "string",
      default: "SayHello,GetProcMeminfo,GetProcStat,GetProcLoadavg,GetCmdFree,GetCmdDf," +
        "GetCmdMpstat,GetCmdMpstat-I,GetCmdIostat,GetCmdIrqInfo,GetCpuInfo",
    },
  },
});

const registry = createRegistry({
  fs: new ProcFs({ maxFileBytes: 1 << 24 }),
  log: new Logger("error", "bench"),
  maxResultBytes: 1 << 24,
  dmesgMaxBytes: 65536,
  perf: { maxOutputBytes: 1 << 20, deadlineMs: 5000, queueLength: 1 },
});

const cpuMs = () => {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
};

console.log("method                  µs CPU/call");
for (const method of values.methods.split(",")) {
  for (let i = 0; i < Number(values.warmup); i++) await registry.call(method);
  const start = cpuMs();
  const calls = Number(values.calls);
  for (let i = 0; i < calls; i++) {
    const outcome = await registry.call(method);
    if (!outcome.ok) throw new Error(`${method}: ${outcome.message}`);
  }
  console.log(`${method.padEnd(22)} ${((cpuMs() - start) * 1000 / calls).toFixed(1).padStart(8)}`);
}
// The same methods round-robin, as a dashboard asks them: one call of each per round.
const methods = values.methods.split(",");
// With `--round-gap-ms` over 500, every round's sampled methods take a fresh snapshot, as a
// dashboard's do; without it they share the interval of the first call within half a second.
const gapMs = Number(values["round-gap-ms"]);
const rounds = gapMs > 0 ? Math.min(Number(values.calls), 100) : Number(values.calls);
let start = cpuMs();
let idle = 0;
for (let round = 0; round < rounds; round++) {
  for (const method of methods) await registry.call(method);
  if (gapMs > 0) {
    const before = cpuMs();
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    idle += cpuMs() - before;
  }
}
start += idle;
const perRound = (cpuMs() - start) * 1000 / rounds;
console.log(`${"one of each, per round".padEnd(22)} ${perRound.toFixed(1).padStart(8)}`);
await registry.close();
