/**
 * Latency of the per-process memory methods, GetCmdProcrank and GetCmdSmem, whose cost grows
 * with the number of processes: each process costs a few small /proc reads, `smaps_rollup`
 * being the dearest (the kernel walks the process's mappings to write it).
 *
 * Run from the repository root, as root so every process is readable:
 *
 * ```sh
 * deno run --allow-all bench/memory_methods.ts [extra processes, default 2000] [runs, default 20]
 * ```
 *
 * Times both methods, in the registry the daemon builds from its default flags
 * (`daemonRegistry`), against the live /proc as it is, then again with the extra sleeping
 * processes (`sleep 600`, at most 5000) spawned, and prints the median and the 95th percentile
 * in milliseconds. The extra processes are killed at the end, also on failure or Ctrl-C; if
 * the benchmark itself is killed they still end by themselves after 600 s.
 *
 * @module
 */

import { daemonRegistry } from "../registry/methods.ts";
import { listPids } from "../sampling/pids.ts";
import { parseFlags } from "../flags.ts";
import { Logger } from "../log.ts";
import { percentile } from "./measure.ts";

const MAX_EXTRA = 5000;
const extra = Math.min(MAX_EXTRA, Number(Deno.args[0] ?? 2000));
const runs = Number(Deno.args[1] ?? 20);
if (!Number.isInteger(extra) || extra < 0 || !Number.isInteger(runs) || runs < 1) {
  console.error("Usage: memory_methods.ts [extra processes 0-5000] [runs ≥ 1]");
  Deno.exit(2);
}

const command = parseFlags([]);
if (command.kind !== "run") throw new Error("The default flags do not run the daemon");
const { fs, registry } = daemonRegistry(command.options, new Logger("error", "bench"));
const methods = ["GetCmdProcrank", "GetCmdSmem"];

/** Runs `method` as the daemon does; a failure ends the bench. */
async function call(method: string): Promise<string> {
  const outcome = await registry.call(method);
  if (!outcome.ok) throw new Error(`${method} failed: ${outcome.message}`);
  return outcome.text;
}

/** Times every method `runs` times after one warm-up call and prints one line each. */
async function measure(label: string): Promise<void> {
  console.log(`\n${label}: ${listPids(fs).length} processes in /proc`);
  console.log("method            median ms   p95 ms   max ms   rows");
  for (const method of methods) {
    await call(method);
    const times: number[] = [];
    let rows = 0;
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const text = await call(method);
      times.push(performance.now() - started);
      rows = text.split("\n").length;
    }
    times.sort((a, b) => a - b);
    console.log(
      `${method.padEnd(16)} ${percentile(times, 0.5).toFixed(1).padStart(10)} ` +
        `${percentile(times, 0.95).toFixed(1).padStart(8)} ` +
        `${times[times.length - 1]!.toFixed(1).padStart(8)}   ${rows}`,
    );
  }
}

const children: Deno.ChildProcess[] = [];

async function killChildren(): Promise<void> {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
  await Promise.allSettled(children.map((child) => child.status));
  children.length = 0;
}

const onInterrupt = () => {
  killChildren().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", onInterrupt);
try {
  await measure("Without extra processes");
  if (extra > 0) {
    const started = performance.now();
    const sleep = new Deno.Command("sleep", {
      args: ["600"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    for (let index = 0; index < extra; index++) children.push(sleep.spawn());
    // Wait (at most a minute) until every child has exec'd sleep, so none is measured
    // half-started; Deno passes the resolved path as argv[0].
    let waiting = children.map((child) => child.pid);
    const deadline = performance.now() + 60_000;
    while (waiting.length > 0) {
      if (performance.now() > deadline) {
        throw new Error(`${waiting.length} of ${extra} sleep processes did not start in 60 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      waiting = waiting.filter((pid) =>
        !fs.tryReadTextSync(`/proc/${pid}/cmdline`)?.split("\0")[0]?.endsWith("sleep")
      );
    }
    console.log(
      `\nSpawned ${extra} × sleep 600 in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    await measure(`With ${extra} extra sleeping processes`);
  }
} finally {
  await registry.close();
  await killChildren();
  Deno.removeSignalListener("SIGINT", onInterrupt);
}
