/**
 * Throughput and latency of the daemon core, measured against a real daemon on loopback.
 *
 * Run with `deno run -A --unstable-worker-options bench/requests.ts` (starts its own daemon on a
 * free port; `deno task bench` runs bench/footprint.ts). Reports, for one
 * persistent connection, sequential requests per second for SayHello and the latency of every
 * GetProc* method, then the daemon's resident memory before and after 200 concurrent clients.
 *
 * @module
 */

import { PROC_FILE_METHODS } from "../methods/proc_files.ts";
import { Client, startDaemon } from "../tests/helpers/daemon.ts";
import { percentile } from "./measure.ts";

const SEQUENTIAL_REQUESTS = 20_000;
const LATENCY_SAMPLES = 200;

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]);
}

const daemon = await startDaemon();
try {
  const client = await Client.connect(daemon.port);
  const request = new TextEncoder().encode('{"method": "SayHello"}');
  for (let i = 0; i < 500; i++) {
    await client.send(request);
    await client.readResponse();
  }
  const started = performance.now();
  for (let i = 0; i < SEQUENTIAL_REQUESTS; i++) {
    await client.send(request);
    await client.readResponse();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `SayHello, one connection, sequential: ${
      (SEQUENTIAL_REQUESTS / seconds).toFixed(0)
    } requests/s`,
  );

  console.log("\nmethod                 p50 ms   p95 ms   bytes");
  for (const [method] of PROC_FILE_METHODS) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const begin = performance.now();
      await client.send(JSON.stringify({ method }));
      bytes = (await client.readResponse()).length;
      times.push(performance.now() - begin);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${method.padEnd(22)} ${percentile(times, 0.5).toFixed(2).padStart(6)}   ` +
        `${percentile(times, 0.95).toFixed(2).padStart(6)}   ${bytes}`,
    );
  }
  client.close();

  const rssBefore = rssKiB(daemon.process.pid);
  const clients = await Promise.all(Array.from({ length: 200 }, () => Client.connect(daemon.port)));
  await Promise.all(clients.map((c) => c.request({ method: "GetProcSlabinfo" })));
  const rssDuring = rssKiB(daemon.process.pid);
  clients.forEach((c) => c.close());
  console.log(
    `\nRSS: ${rssBefore} KiB idle, ${rssDuring} KiB with 200 clients after GetProcSlabinfo`,
  );
} finally {
  await daemon.stop();
}
