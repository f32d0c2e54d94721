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
 * Then, as a reference, the same polling of a bare Deno TCP server that answers every request
 * with a fixed SayHello response: the CPU any Deno server pays for that many requests on this
 * machine, before doing any work. On virtual machines it varies several-fold with the host's
 * load, so read the daemon's figure against it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { encodeReply } from "../rpc/encoder.ts";
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

/** Polls `methods` at the period; returns the latencies by method and the server's CPU share. */
async function poll(
  port: number,
  pid: number,
): Promise<{ latencies: Map<string, number[]>; cpuPercent: number; elapsed: number }> {
  const client = await Client.connect(port);
  try {
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
    const ticksBefore = cpuTicks(pid);
    const started = performance.now();
    for (let round = 0; round * periodMs < seconds * 1000; round++) {
      for (const method of methods) latencies.get(method)!.push(await call(method));
      const due = started + (round + 1) * periodMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    const elapsed = (performance.now() - started) / 1000;
    const cpuPercent = (cpuTicks(pid) - ticksBefore) / 100 / elapsed * 100;
    return { latencies, cpuPercent, elapsed };
  } finally {
    client.close();
  }
}

/**
 * A bare Deno server answering each request with the bytes of its first argument (lepd's
 * SayHello response), with no framing at all.
 */
const BARE_SERVER = `
const reply = new TextEncoder().encode(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(listener.addr.port);
for await (const conn of listener) {
  (async () => {
    const buffer = new Uint8Array(65536);
    while ((await conn.read(buffer)) !== null) await conn.write(reply);
  })();
}`;

const daemon = await startDaemon();
try {
  const { latencies, cpuPercent, elapsed } = await poll(daemon.port, daemon.process.pid);
  for (const [method, list] of latencies) {
    console.log(
      `${method.padEnd(16)} median ${
        median(list).toFixed(2).padStart(7)
      } ms over ${list.length} calls`,
    );
  }
  console.log(
    `daemon CPU: ${cpuPercent.toFixed(2)} % of one core over ${elapsed.toFixed(0)} s ` +
      `(polling every ${periodMs / 1000} s)`,
  );
} finally {
  await daemon.stop();
}

const bare = new Deno.Command(Deno.execPath(), {
  args: [
    "eval",
    BARE_SERVER,
    new TextDecoder().decode(encodeReply({ dialect: "legacy", outcome: { result: "Hello!" } })),
  ],
  stdin: "null",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
try {
  const reader = bare.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = Number((await reader.read()).value);
  const { cpuPercent } = await poll(port, bare.pid);
  console.log(
    `reference, a bare Deno server answering the same requests: ${cpuPercent.toFixed(2)} % ` +
      "of one core",
  );
  reader.releaseLock();
} finally {
  bare.kill();
  await bare.status;
}
