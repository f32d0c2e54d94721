/**
 * CPU per call of each method in-process, with no network, no worker and no sampler timing:
 * what a method's own work costs, and the V8 heap a call allocates. Each method is called
 * `--calls` times after `--warmup` calls; sampled methods answer from the sampler's current
 * interval (no new snapshot) unless `--fresh` is given.
 *
 * ```sh
 * deno run -A bench/method_cost.ts [--calls 2000] [--methods GetProcMeminfo,GetCmdDf] [--round-gap-ms 600]
 * deno run -A bench/method_cost.ts --fresh --methods GetCmdMpstat-I   # every call samples anew
 * ```
 *
 * `--fresh` gives the samplers a clock that moves 600 ms at every call, so every call of a
 * sampled method finds its latest snapshot old and takes a new one, as each call of a dashboard
 * polling every 2 s does, but back to back on warm caches: the whole work of a call, for a
 * profiler (`deno run -A --cpu-prof bench/method_cost.ts --fresh …`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { createRegistry, KEPT_OPEN_FILES } from "../registry/methods.ts";
import { ProcFs } from "../proc/fs.ts";
import { liveWatches } from "../proc/mounts_watch.ts";
import { Logger } from "../log.ts";
import { REAL_CLOCK } from "../sampling/sampler.ts";
import { median } from "./measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "2000" },
    warmup: { type: "string", default: "200" },
    "round-gap-ms": { type: "string", default: "0" },
    fresh: { type: "boolean", default: false },
    methods: {
      type: "string",
      default: "SayHello,GetProcMeminfo,GetProcStat,GetProcLoadavg,GetCmdFree,GetCmdDf," +
        "GetCmdMpstat,GetCmdMpstat-I,GetCmdIostat,GetCmdIrqInfo,GetCpuInfo",
    },
  },
});

/** The samplers' time with `--fresh`: 600 ms more at every call. */
let virtualMs = 0;

/**
 * Keeps files open and watches the mount table as the daemon's reader does (`daemonRegistry`),
 * so a call pays what it pays.
 */
const fs = new ProcFs({ maxFileBytes: 1 << 24, keepOpen: KEPT_OPEN_FILES, watches: liveWatches });
const registry = createRegistry({
  fs,
  log: new Logger("error", "bench"),
  maxResultBytes: 1 << 24,
  dmesgMaxBytes: 65536,
  perf: { maxOutputBytes: 1 << 20, deadlineMs: 5000, queueLength: 1 },
  ...(values.fresh ? { sampling: { clock: { ...REAL_CLOCK, now: () => virtualMs } } } : {}),
});
// Closed after the collectors, as the daemon's registry closes its reader.
registry.own(fs);

const cpuMs = () => {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
};

/** One call that must succeed. */
async function callOk(method: string): Promise<void> {
  virtualMs += 600;
  const outcome = await registry.call(method);
  if (!outcome.ok) throw new Error(`${method}: ${outcome.message}`);
}

/**
 * Bytes the V8 heap grows by over one call of `call`: the median over 101 calls of those that
 * saw no young collection (which shrinks the heap, so those read less than before), less what
 * reading the heap's size allocates itself. A call's garbage is what the young collections of a
 * poll sweep up and what survives them is promoted, so fewer bytes is less collecting.
 */
async function bytesPerCall(call: () => Promise<void>): Promise<number> {
  const growth = async (run: () => Promise<void>) => {
    const grown: number[] = [];
    for (let i = 0; i < 101; i++) {
      const before = Deno.memoryUsage().heapUsed;
      await run();
      const after = Deno.memoryUsage().heapUsed;
      if (after > before) grown.push(after - before);
    }
    return grown.length === 0 ? NaN : median(grown);
  };
  return await growth(call) - await growth(() => Promise.resolve());
}

const methods = values.methods.split(",");
const calls = Number(values.calls);
console.log("method                  µs CPU/call  KiB allocated/call");
for (const method of methods) {
  for (let i = 0; i < Number(values.warmup); i++) await callOk(method);
  const start = cpuMs();
  for (let i = 0; i < calls; i++) await callOk(method);
  const cpu = ((cpuMs() - start) * 1000 / calls).toFixed(1);
  const kib = (await bytesPerCall(() => callOk(method)) / 1024).toFixed(1);
  console.log(`${method.padEnd(22)} ${cpu.padStart(8)}  ${kib.padStart(18)}`);
}
// The same methods round-robin, as a dashboard asks them: one call of each per round. With
// `--round-gap-ms` over 500, every round's sampled methods take a fresh snapshot, as a
// dashboard's do (without it they share the interval of the first call within half a second);
// the CPU of the gaps is left out, and at most 100 rounds are run so the gaps stay short.
const gapMs = Number(values["round-gap-ms"]);
const rounds = gapMs > 0 ? Math.min(calls, 100) : calls;
let busyMs = 0;
for (let round = 0; round < rounds; round++) {
  const start = cpuMs();
  for (const method of methods) await callOk(method);
  busyMs += cpuMs() - start;
  if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
}
console.log(
  `${"one of each, per round".padEnd(22)} ${(busyMs * 1000 / rounds).toFixed(1).padStart(8)}`,
);
await registry.close();
