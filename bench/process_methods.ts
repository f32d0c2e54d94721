/**
 * Speed and cost of the rate-based process methods, against a real daemon on loopback.
 *
 * `deno run -A bench/process_methods.ts [seconds]` reports:
 * 1. GetCmdTop latency with 2,000 extra sleeping processes (target: median under 50 ms);
 * 2. latency of GetCmdTop, GetCmdTopH and GetCmdIotop polled once a second (target: median
 *    under 10 ms, no per-request sleep);
 * 3. the daemon's CPU time while one client polls those three every second for `seconds`
 *    (default 60; target: under 2 % of one core), read from /proc/<pid>/stat.
 *
 * @module
 */

import { Client, startDaemon } from "../tests/helpers/daemon.ts";
import { cpuTicks, median } from "./measure.ts";

const EXTRA_PROCESSES = 2000;
const POLL_SECONDS = Number(Deno.args[0] ?? 60);
const RATE_METHODS = ["GetCmdTop", "GetCmdTopH", "GetCmdIotop"];

async function timed(client: Client, method: string): Promise<number> {
  const started = performance.now();
  await client.send(JSON.stringify({ method }));
  await client.readResponse(30_000);
  return performance.now() - started;
}

const daemon = await startDaemon();
const sleepers: Deno.ChildProcess[] = [];
try {
  const client = await Client.connect(daemon.port);

  // 1. GetCmdTop with 2,000 extra sleeping processes.
  for (let i = 0; i < EXTRA_PROCESSES; i++) {
    sleepers.push(
      new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" }).spawn(),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await timed(client, "GetCmdTop");
  const crowded: number[] = [];
  for (let i = 0; i < 20; i++) {
    crowded.push(await timed(client, "GetCmdTop"));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.log(
    `GetCmdTop with ${EXTRA_PROCESSES} extra processes: median ${median(crowded).toFixed(1)} ms, ` +
      `max ${Math.max(...crowded).toFixed(1)} ms`,
  );
  for (const sleeper of sleepers) sleeper.kill("SIGKILL");
  await Promise.all(sleepers.map((sleeper) => sleeper.status));
  sleepers.length = 0;

  // 2 and 3. Poll the rate-based methods once a second.
  for (const method of RATE_METHODS) await timed(client, method);
  const latencies = new Map(RATE_METHODS.map((method) => [method, [] as number[]]));
  const ticksBefore = cpuTicks(daemon.process.pid);
  const started = performance.now();
  for (let second = 0; second < POLL_SECONDS; second++) {
    const due = started + (second + 1) * 1000;
    for (const method of RATE_METHODS) latencies.get(method)!.push(await timed(client, method));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpuSeconds = (cpuTicks(daemon.process.pid) - ticksBefore) / 100;
  for (const [method, values] of latencies) {
    console.log(`${method} polled every second: median ${median(values).toFixed(2)} ms`);
  }
  console.log(
    `Daemon CPU while polling ${RATE_METHODS.join(", ")} every second for ${
      elapsed.toFixed(0)
    } s: ` +
      `${(cpuSeconds / elapsed * 100).toFixed(2)} % of one core`,
  );
  client.close();
} finally {
  for (const sleeper of sleepers) sleeper.kill("SIGKILL");
  await Promise.all(sleepers.map((sleeper) => sleeper.status));
  await daemon.stop();
}
