/**
 * Abuse benchmark (a script, not a test): starts a daemon, runs the abuse cases of the
 * hardening issue one after the other, and reports the daemon's RSS and the latency of a
 * well-behaved client (SayHello on its own connection) during each.
 *
 * ```sh
 * deno run -A --unstable-worker-options bench/abuse.ts [--case NAME] [--seconds N]
 * ```
 *
 * Cases:
 * - `unread-batches`: 40 clients each send a batch of 64 GetProcVmallocinfo and never read.
 * - `idle-sockets`: 600 idle sockets from 127.0.0.2 and 127.0.0.3; a client from 127.0.0.1
 *   connects and asks SayHello.
 * - `expensive-loops`: 4 connections loop batches of 16 GetCmdSmem (and 16 GetCmdProcrank).
 * - `reset-flood`: 2,000 connections reset at once; the log lines it caused are counted.
 *
 * Everything is on loopback addresses only.
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as net from "node:net";
import { Client, startDaemon } from "../tests/helpers/daemon.ts";
import { median, percentile } from "./measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { case: { type: "string", multiple: true }, seconds: { type: "string" } },
});
const seconds = Number(values.seconds ?? 5);
const cases = values.case ?? ["unread-batches", "idle-sockets", "expensive-loops", "reset-flood"];
const encoder = new TextEncoder();

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SayHello round trips on one connection for `ms`, one every 20 ms: latencies in ms. */
async function probe(port: number, ms: number): Promise<number[]> {
  const client = await Client.connect(port);
  const latencies: number[] = [];
  const end = performance.now() + ms;
  try {
    while (performance.now() < end) {
      const started = performance.now();
      await client.request({ method: "SayHello" });
      latencies.push(performance.now() - started);
      await sleep(20);
    }
  } finally {
    client.close();
  }
  return latencies;
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `SayHello median ${median(sorted).toFixed(1)} ms, p95 ${
    percentile(sorted, 0.95).toFixed(1)
  } ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms (${sorted.length} requests)`;
}

/** A node:net socket from `localAddress` (127.0.0.x), connected. */
function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

async function unreadBatches(port: number, pid: number): Promise<void> {
  const batch = encoder.encode(JSON.stringify(
    Array.from(
      { length: 64 },
      (_, id) => ({ jsonrpc: "2.0", method: "GetProcVmallocinfo", id }),
    ),
  ));
  const before = rssMiB(pid);
  const clients: Deno.TcpConn[] = [];
  for (let i = 0; i < 40; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(batch);
    clients.push(conn);
  }
  let peak = before;
  const sampling = (async () => {
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      peak = Math.max(peak, rssMiB(pid));
      await sleep(100);
    }
  })();
  const latencies = await probe(port, seconds * 1000);
  await sampling;
  clients.forEach((conn) => conn.close());
  console.log(
    `unread-batches: RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB (+${
      (peak - before).toFixed(0)
    }); ${summary(latencies)}`,
  );
}

async function idleSockets(port: number, pid: number): Promise<void> {
  const before = rssMiB(pid);
  const sockets: net.Socket[] = [];
  for (let i = 0; i < 600; i++) {
    const socket = await connectFrom(port, i % 2 === 0 ? "127.0.0.2" : "127.0.0.3");
    socket.on("error", () => {});
    sockets.push(socket);
  }
  await sleep(500);
  const started = performance.now();
  const latencies = await probe(port, seconds * 1000);
  const first = latencies[0] ?? Number.NaN;
  sockets.forEach((socket) => socket.destroy());
  console.log(
    `idle-sockets: 600 held from 2 addresses; a third address's first SayHello after ${
      first.toFixed(1)
    } ms (connect included: ${(performance.now() - started).toFixed(0)} ms run); RSS ${
      before.toFixed(0)
    } → ${rssMiB(pid).toFixed(0)} MiB; ${summary(latencies)}`,
  );
}

async function expensiveLoops(port: number, pid: number): Promise<void> {
  const baseline = await probe(port, 2000);
  let running = true;
  const loops = ["GetCmdSmem", "GetCmdSmem", "GetCmdProcrank", "GetCmdSmem"].map(
    async (method) => {
      const client = await Client.connect(port);
      const batch = JSON.stringify(
        Array.from({ length: 16 }, (_, id) => ({ jsonrpc: "2.0", method, id })),
      );
      let batches = 0;
      while (running) {
        await client.send(batch);
        await client.readResponse(60_000);
        batches++;
      }
      client.close();
      return batches;
    },
  );
  const latencies = await probe(port, seconds * 1000);
  running = false;
  const batches = await Promise.all(loops);
  console.log(
    `expensive-loops: idle ${summary(baseline)}; under 4 looping connections (${
      batches.join("+")
    } batches of 16) ${summary(latencies)}; RSS ${rssMiB(pid).toFixed(0)} MiB`,
  );
}

async function resetFlood(port: number, stderr: () => string): Promise<void> {
  const linesBefore = stderr().split("\n").length;
  const started = performance.now();
  for (let i = 0; i < 2000; i++) {
    const socket = await connectFrom(port, "127.0.0.4");
    socket.on("error", () => {});
    socket.resetAndDestroy();
  }
  const latencies = await probe(port, 1000);
  console.log(
    `reset-flood: 2000 connect-and-reset in ${(performance.now() - started).toFixed(0)} ms; ${
      stderr().split("\n").length - linesBefore
    } log lines; ${summary(latencies)}`,
  );
}

for (const name of cases) {
  const daemon = await startDaemon();
  const pid = daemon.process.pid;
  try {
    if (name === "unread-batches") await unreadBatches(daemon.port, pid);
    else if (name === "idle-sockets") await idleSockets(daemon.port, pid);
    else if (name === "expensive-loops") await expensiveLoops(daemon.port, pid);
    else if (name === "reset-flood") await resetFlood(daemon.port, daemon.stderr);
    else console.error(`Unknown case ${name}`);
  } finally {
    await daemon.stop();
  }
}
