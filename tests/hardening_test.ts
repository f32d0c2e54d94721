/**
 * Hardening (issue 13): memory, slots, CPU and perf amplification, signals, the network
 * worker's death, kernel addresses, log flooding, the stall timeout and perf's ownership.
 *
 * Most cases run an {@link RpcServer} in this process with a fake method table, so that a
 * method's size, duration and number of runs are under the test's control and no privilege is
 * needed; the signal and start-up cases run the real daemon. Client addresses other than
 * 127.0.0.1 are other loopback addresses (127.0.0.2, 127.0.0.3), bound with node:net's
 * `localAddress`.
 *
 * @module
 */

import * as assert from "node:assert/strict";
import * as net from "node:net";
import { escapeControls, Logger } from "../log.ts";
import { parseFlags } from "../main.ts";
import { foldPerfScript } from "../perf/fold.ts";
import {
  hideKernelAddresses,
  RECORDING_DIR_PREFIX,
  resolvePerf,
  trustedPath,
} from "../perf/service.ts";
import type { MethodOutcome, ServerConfig } from "../rpc/messages.ts";
import { RpcServer } from "../rpc/server.ts";
import { startNetworkWorker } from "../rpc/worker_host.ts";
import { Client, legacyText, startDaemon, startTaskArgs } from "./helpers/daemon.ts";
import { testServerConfig } from "./helpers/server_config.ts";
import { descriptorTargets } from "./helpers/processes.ts";
import { runFuzz } from "../scripts/fuzz.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FIXTURES = new URL("./fixtures/perf/", import.meta.url);

function config(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return testServerConfig({
    maxConnections: 64,
    maxConnectionsPerClient: 64,
    stallTimeoutMs: 30_000,
    ...overrides,
  });
}

/** A method table whose methods the test drives: counts calls, answers when told to. */
class FakeMethods {
  readonly calls: string[] = [];
  readonly #handlers: Record<string, () => Promise<MethodOutcome>>;

  constructor(handlers: Record<string, () => Promise<MethodOutcome>>) {
    this.#handlers = handlers;
  }

  get names(): string[] {
    return ["SayHello", ...Object.keys(this.#handlers)];
  }

  call(method: string): Promise<MethodOutcome> {
    this.calls.push(method);
    if (method === "SayHello") return Promise.resolve({ ok: true, text: "Hello!" });
    return this.#handlers[method]!();
  }

  count(method: string): number {
    return this.calls.filter((name) => name === method).length;
  }
}

/** Runs `body` against an in-process server; the server is stopped afterwards. */
async function withServer(
  overrides: Partial<ServerConfig>,
  methods: FakeMethods,
  body: (port: number, server: RpcServer) => Promise<void>,
  log: Logger = new Logger("error", "test"),
): Promise<void> {
  const server = new RpcServer(config(overrides), {
    methods: methods.names,
    call: (method) => methods.call(method),
    log,
  });
  const { port } = server.start();
  try {
    await body(port, server);
  } finally {
    await server.shutdown();
  }
}

/** A client socket from a chosen loopback address (node:net binds `localAddress`). */
class Peer {
  readonly socket: net.Socket;
  text = "";
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.text += chunk);
    socket.on("close", () => this.closed = true);
    socket.on("error", () => {});
  }

  static connect(port: number, localAddress = "127.0.0.1"): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress });
      socket.once("connect", () => resolve(new Peer(socket)));
      socket.once("error", reject);
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Waits until `done(text)` holds; throws after `timeoutMs`. */
  async until(done: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const end = performance.now() + timeoutMs;
    while (!done(this.text)) {
      if (performance.now() > end) {
        throw new Error(`Timed out; got ${JSON.stringify(this.text.slice(0, 300))}`);
      }
      await sleep(10);
    }
    return this.text;
  }

  /** Sends a legacy SayHello and waits for its answer. */
  async hello(timeoutMs = 10_000): Promise<string> {
    const before = this.text.length;
    this.send('{"method":"SayHello"}');
    await this.until((text) => text.indexOf("\n}\n", before) >= 0 || this.closed, timeoutMs);
    return this.text.slice(before);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Waits until `count()` has not changed for `quietMs` (at most `timeoutMs`); returns it. */
async function settled(count: () => number, quietMs = 1000, timeoutMs = 15_000): Promise<number> {
  const end = performance.now() + timeoutMs;
  let last = count();
  let since = performance.now();
  while (performance.now() < end) {
    await sleep(100);
    const now = count();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      break;
    }
  }
  return last;
}

function batchOf(method: string, length: number): string {
  return JSON.stringify(Array.from({ length }, (_, id) => ({ jsonrpc: "2.0", method, id })));
}

const isRoot = Deno.uid() === 0;

// 1. Memory exhaustion through batches.

Deno.test("a batch's replies past --max-response-bytes-per-connection are errors and are not run", async () => {
  const methods = new FakeMethods({
    Big: () => Promise.resolve({ ok: true, text: "x".repeat(6000) }),
  });
  await withServer({ maxResponseBytesPerConnection: 10_000 }, methods, async (port) => {
    const client = await Client.connect(port);
    await client.send(batchOf("Big", 16));
    const replies = JSON.parse(await client.readResponse()) as {
      id: number;
      result?: string;
      error?: { code: number; message: string };
    }[];
    assert.deepEqual(replies.map((reply) => reply.id), [...Array(16).keys()]);
    assert.equal(replies[0]!.result, "x".repeat(6000));
    for (const reply of replies.slice(1)) {
      assert.equal(reply.error?.code, -32000);
      assert.match(reply.error!.message, /--max-response-bytes-per-connection/);
    }
    // The second ran (its size was known only then); none after it.
    assert.ok(methods.count("Big") <= 2, `Big ran ${methods.count("Big")} times`);
    // The connection still serves the next request.
    assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
    client.close();
  });
});

Deno.test("a reply that would pass --max-response-bytes-total is refused with an error", async () => {
  const methods = new FakeMethods({
    Big: () => Promise.resolve({ ok: true, text: "y".repeat(100_000) }),
  });
  await withServer({ maxResponseBytesTotal: 65536 }, methods, async (port) => {
    const client = await Client.connect(port);
    const reply = await client.request({ method: "Big" });
    const error = reply.error as { code: number; message: string; data: string };
    assert.equal(error.code, -32000);
    assert.match(error.message, /--max-response-bytes-total/);
    assert.equal(error.data, "lepdendstring");
    client.close();
  });
});

Deno.test("a client that stops reading stops being served; lepd holds at most one reply for it", async () => {
  const methods = new FakeMethods({
    Mega: () => Promise.resolve({ ok: true, text: "z".repeat(1 << 20) }),
  });
  await withServer(
    { maxResponseBytesPerConnection: 1 << 30 },
    methods,
    async (port, server) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(encoder.encode(batchOf("Mega", 64)));
      // Never read: the socket buffers fill, then the next item must not start.
      const runs = await settled(() => methods.count("Mega"));
      assert.ok(runs < 64, `all ${runs} items ran for a client that reads nothing`);
      assert.ok(
        server.responseBytesHeld <= 2 << 20,
        `${server.responseBytesHeld} bytes held for it`,
      );
      const other = await Client.connect(port);
      assert.equal(legacyText(await other.request({ method: "SayHello" })), "Hello!");
      other.close();
      conn.close();
    },
  );
});

Deno.test("40 clients that never read a 64-call vmallocinfo batch raise the daemon's RSS by < 100 MB", async () => {
  try {
    Deno.readTextFileSync("/proc/vmallocinfo");
  } catch {
    console.log(
      "skipped: /proc/vmallocinfo needs root or CAP_DAC_READ_SEARCH (the replies would be errors)",
    );
    return;
  }
  const daemon = await startDaemon();
  const rssMiB = () =>
    Number(
      /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${daemon.process.pid}/status`))?.[1],
    ) /
    1024;
  const conns: Deno.TcpConn[] = [];
  try {
    const warm = await Client.connect(daemon.port);
    await warm.request({ method: "GetProcVmallocinfo" });
    warm.close();
    const before = rssMiB();
    const batch = encoder.encode(batchOf("GetProcVmallocinfo", 64));
    for (let i = 0; i < 40; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: daemon.port });
      await conn.write(batch);
      conns.push(conn);
    }
    let peak = before;
    for (let i = 0; i < 40; i++) {
      await sleep(100);
      peak = Math.max(peak, rssMiB());
    }
    console.log(`RSS ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`);
    assert.ok(peak - before < 100, `RSS rose by ${(peak - before).toFixed(0)} MiB`);
    const polite = await Client.connect(daemon.port);
    assert.equal(legacyText(await polite.request({ method: "SayHello" })), "Hello!");
    polite.close();
  } finally {
    for (const conn of conns) conn.close();
    await daemon.stop();
  }
});

// 2. Slot lockout.

Deno.test("every slot taken by idle sockets: a newcomer is served, the biggest holder's longest-idle socket is closed", async () => {
  const methods = new FakeMethods({});
  await withServer({ maxConnections: 6, maxConnectionsPerClient: 4 }, methods, async (port) => {
    const held: Peer[] = [];
    for (const address of ["127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3"]) {
      const peer = await Peer.connect(port, address);
      assert.match(await peer.hello(), /Hello!/); // admitted, now idle
      held.push(peer);
      await sleep(20);
    }
    held.push(await Peer.connect(port, "127.0.0.3"));
    assert.match(await held[5]!.hello(), /Hello!/);
    // Full now. A third address is answered instead of refused.
    const newcomer = await Peer.connect(port, "127.0.0.1");
    assert.match(await newcomer.hello(), /Hello!/);
    // The one closed for it: 127.0.0.2's (4 open, the most) first, longest idle.
    await held[0]!.until(() => held[0]!.closed);
    assert.deepEqual(held.map((peer) => peer.closed), [true, false, false, false, false, false]);
    for (const peer of [...held, newcomer]) peer.destroy();
  });
});

Deno.test("600 idle sockets from two addresses do not shut out a third (daemon defaults)", async () => {
  const daemon = await startDaemon();
  const sockets: Peer[] = [];
  try {
    for (let i = 0; i < 600; i++) {
      sockets.push(await Peer.connect(daemon.port, i % 2 === 0 ? "127.0.0.2" : "127.0.0.3"));
    }
    await sleep(300);
    const started = performance.now();
    const third = await Peer.connect(daemon.port, "127.0.0.1");
    const answer = await third.hello(10_000);
    const elapsed = performance.now() - started;
    console.log(`third address answered in ${elapsed.toFixed(1)} ms`);
    assert.match(answer, /Hello!lepdendstring/);
    third.destroy();
  } finally {
    for (const socket of sockets) socket.destroy();
    await daemon.stop();
  }
});

// 3. CPU and perf amplification, work after the client left.

Deno.test("a batch item starts only while its client is still connected", async () => {
  const methods = new FakeMethods({
    Slow: async () => {
      await sleep(100);
      return { ok: true, text: "done" };
    },
  });
  await withServer({}, methods, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(batchOf("Slow", 64)));
    await sleep(250);
    conn.close();
    const runs = await settled(() => methods.count("Slow"));
    assert.ok(runs <= 6, `${runs} items ran after the client left at 0.25 s`);
  });
});

Deno.test("a batch of 64 GetCmdPerfFlame whose client left after 0.2 s runs at most two recordings", async () => {
  const daemon = await startDaemon(["--log-level", "debug"]);
  try {
    if (/GetCmdPerfFlame is unavailable/.test(daemon.stderr())) {
      console.log("skipped: perf cannot record here (see the daemon's start-up warning)");
      return;
    }
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: daemon.port });
    await conn.write(encoder.encode(batchOf("GetCmdPerfFlame", 64)));
    await sleep(200);
    conn.close();
    const recordings = () =>
      daemon.stderr().split("\n").filter((line) => / GetCmdPerfFlame (ok|failed) in /.test(line))
        .length;
    // A recording takes one to two seconds: wait for several of them.
    await sleep(10_000);
    const runs = await settled(recordings, 3000, 20_000);
    assert.ok(runs >= 1 && runs <= 2, `${runs} recordings ran after the client left`);
  } finally {
    await daemon.stop();
  }
});

Deno.test("identical calls in flight share one run", async () => {
  const gate = Promise.withResolvers<void>();
  const methods = new FakeMethods({
    Shared: async () => {
      await gate.promise;
      return { ok: true, text: "one run" };
    },
  });
  await withServer({}, methods, async (port) => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => Client.connect(port)));
    for (const client of clients) await client.send('{"method":"Shared"}');
    await sleep(200);
    gate.resolve();
    for (const client of clients) {
      assert.equal(legacyText(await client.readJson()), "one run");
      client.close();
    }
    assert.equal(methods.count("Shared"), 1);
  });
});

Deno.test("a client address cannot queue a second perf recording", async () => {
  const flame = Promise.withResolvers<void>();
  const faults = Promise.withResolvers<void>();
  const methods = new FakeMethods({
    GetCmdPerfFlame: async () => {
      await flame.promise;
      return { ok: true, text: "flame" };
    },
    GetCmdPerfFaults: async () => {
      await faults.promise;
      return { ok: true, text: "faults" };
    },
  });
  await withServer({}, methods, async (port) => {
    const first = await Peer.connect(port, "127.0.0.1");
    first.send('{"method":"GetCmdPerfFlame"}');
    await sleep(100);
    const second = await Peer.connect(port, "127.0.0.1");
    second.send('{"method":"GetCmdPerfFaults"}');
    const busy = await second.until((text) => text.includes("\n}\n"));
    assert.match(busy, /Busy: 127\.0\.0\.1 already has a perf recording/);
    const elsewhere = await Peer.connect(port, "127.0.0.2");
    elsewhere.send('{"method":"GetCmdPerfFaults"}');
    await sleep(100);
    assert.equal(methods.count("GetCmdPerfFaults"), 1);
    flame.resolve();
    faults.resolve();
    assert.match(await first.until((text) => text.includes("\n}\n")), /flame/);
    assert.match(await elsewhere.until((text) => text.includes("\n}\n")), /faults/);
    for (const peer of [first, second, elsewhere]) peer.destroy();
  });
});

Deno.test("heavy methods run one at a time", async () => {
  let running = 0;
  let most = 0;
  const heavy = async (): Promise<MethodOutcome> => {
    running++;
    most = Math.max(most, running);
    await sleep(50);
    running--;
    return { ok: true, text: "rows" };
  };
  const methods = new FakeMethods({ GetCmdSmem: heavy, GetCmdProcrank: heavy, GetCmdTop: heavy });
  await withServer({}, methods, async (port) => {
    const clients = await Promise.all(
      ["GetCmdSmem", "GetCmdProcrank", "GetCmdTop"].map(async (method) => {
        const client = await Client.connect(port);
        await client.send(JSON.stringify({ method }));
        return client;
      }),
    );
    for (const client of clients) {
      assert.equal(legacyText(await client.readJson()), "rows");
      client.close();
    }
    assert.equal(most, 1);
  });
});

Deno.test("a heavy method waits out the previous one's gap (--heavy-share)", async () => {
  // With a share of 25 %, after a heavy call that took T the next starts at least 3T later.
  // The server's own T is at least the handler's, so the handler's times bound the gap.
  const runs: { start: number; end: number }[] = [];
  const heavy = async (): Promise<MethodOutcome> => {
    const run = { start: performance.now(), end: 0 };
    await sleep(20);
    run.end = performance.now();
    runs.push(run);
    return { ok: true, text: "rows" };
  };
  const methods = new FakeMethods({ GetCmdSmem: heavy, GetCmdTop: heavy });
  await withServer({ heavyShare: 25 }, methods, async (port) => {
    // One after the other: the second arrives with the lane empty but its gap still owed, the
    // case where a heavy call could otherwise start at once.
    const client = await Client.connect(port);
    for (const method of ["GetCmdSmem", "GetCmdTop"]) {
      await client.send(JSON.stringify({ method }));
      assert.equal(legacyText(await client.readJson()), "rows");
    }
    client.close();
  });
  assert.equal(runs.length, 2);
  const [first, second] = runs as [{ start: number; end: number }, { start: number; end: number }];
  // 1 ms: a timer's delay is rounded to whole milliseconds.
  assert.ok(
    second.start - first.end >= 3 * (first.end - first.start) - 1,
    `gap ${second.start - first.end} ms after a run of ${first.end - first.start} ms`,
  );
});

// 4, 5. Signals; recordings a dead lepd left.

/** The TCP ports the process listens on (its sockets in /proc/net/tcp and tcp6). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const { target } of descriptorTargets(pid)) {
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address, state 0A = LISTEN, inode is field 9
      if (fields[3] === "0A" && inodes.has(fields[9] ?? "")) {
        ports.push(parseInt(fields[1]!.split(":")[1]!, 16));
      }
    }
  }
  return ports;
}

Deno.test("SIGUSR1 opens no inspector and SIGHUP does not stop the daemon", async () => {
  const daemon = await startDaemon();
  try {
    const pid = daemon.process.pid;
    await sleep(1500); // past Deno's half-second delay before it handles SIGUSR1
    Deno.kill(pid, "SIGUSR1");
    await sleep(1000);
    assert.deepEqual(listeningPorts(pid), [daemon.port]);
    let client = await Client.connect(daemon.port);
    assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
    client.close();

    Deno.kill(pid, "SIGHUP");
    await sleep(500);
    client = await Client.connect(daemon.port);
    assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
    client.close();
    assert.match(daemon.stderr(), /SIGHUP received and ignored/);
    assert.doesNotMatch(daemon.stderr(), /Debugger listening/);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

Deno.test("at start-up, recordings left by a lepd that died are removed, with their perf", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "lepd-hardening-" });
  // A pid that existed and is gone.
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const stale = `${tmp}/${RECORDING_DIR_PREFIX}${gone.pid}.abcdef`;
  const live = `${tmp}/${RECORDING_DIR_PREFIX}${Deno.pid}.ghijkl`;
  const unrelated = `${tmp}/lepd-perf-resolve-xyz`;
  for (const directory of [stale, live, unrelated]) {
    Deno.mkdirSync(directory);
    Deno.writeTextFileSync(`${directory}/perf.data`, "data");
  }
  // Stands for the perf still recording into the stale directory.
  const orphan = new Deno.Command("sleep", { args: ["60"], cwd: stale }).spawn();
  const port = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const portNumber = port.addr.port;
  port.close();
  const daemon = new Deno.Command(Deno.execPath(), {
    args: [...startTaskArgs(), "--port", String(portNumber), "--hostname", "127.0.0.1"],
    cwd: new URL("../", import.meta.url),
    env: { TMPDIR: tmp },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const chunk of daemon.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  try {
    const status = await Promise.race([orphan.status, sleep(30_000).then(() => undefined)]);
    assert.ok(status !== undefined, "the orphaned perf still runs");
    assert.equal(status.signal, "SIGKILL");
    const end = performance.now() + 30_000;
    while (!log.includes("listening on") && performance.now() < end) await sleep(50);
    assert.throws(() => Deno.statSync(stale), Deno.errors.NotFound);
    assert.ok(Deno.statSync(live).isDirectory, "a running lepd's recording was removed");
    assert.ok(Deno.statSync(unrelated).isDirectory, "an unrelated directory was removed");
    assert.match(log, /Removed the perf recording a previous lepd left behind/);
  } finally {
    try {
      orphan.kill("SIGKILL");
    } catch {
      // already killed
    }
    await orphan.status;
    daemon.kill("SIGTERM");
    await daemon.status;
    await reading;
    Deno.removeSync(tmp, { recursive: true });
  }
});

// 6. A dead network worker.

Deno.test("a network worker that dies after listening is reported through onDeath", async () => {
  const directory = Deno.makeTempDirSync({ prefix: "lepd-crash-worker-" });
  const module = `${directory}/crash_worker.ts`;
  Deno.writeTextFileSync(
    module,
    `self.onmessage = (event) => {
  if (event.data.type !== "start") return;
  self.postMessage({ type: "listening", hostname: "127.0.0.1", port: 1 });
  setTimeout(() => { throw new Error("worker bug"); }, 50);
};
`,
  );
  const died = Promise.withResolvers<string>();
  const original = console.error;
  console.error = () => {};
  try {
    await startNetworkWorker(config({ port: 1 }), {
      methods: { names: () => [], call: () => Promise.resolve({ ok: false, message: "" }) },
      log: new Logger("error", "test"),
      onDeath: died.resolve,
      workerUrl: new URL(`file://${module}`),
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reason = await Promise.race([
      died.promise,
      new Promise<string>((resolve) => timer = setTimeout(() => resolve("never reported"), 10_000)),
    ]);
    clearTimeout(timer);
    assert.match(reason, /worker bug/);
  } finally {
    console.error = original;
    Deno.removeSync(directory, { recursive: true });
  }
});

// 7. Kernel addresses.

Deno.test("kernel addresses become zeros by default; symbols and the folded stacks stay", () => {
  const script = Deno.readTextFileSync(new URL("script-kernel.txt", FIXTURES));
  assert.match(script, /\bffff[0-9a-f]{12}\b/);
  const hidden = hideKernelAddresses(script);
  assert.doesNotMatch(hidden, /\b(0x)?ffff[0-9a-f]{12}\b/);
  assert.equal(hidden.length, script.length);
  assert.match(hidden, /\t0000000000000000 pv_native_safe_halt\+0xb \(\[kernel\.kallsyms\]\)/);
  // What a flame-graph reader (stackcollapse-perf rules, as LEPV's) gets is unchanged.
  assert.deepEqual(foldPerfScript(hidden), foldPerfScript(script));
  assert.equal(
    hideKernelAddresses("[k] 0xffffffff81234567 and 7f12345678 user"),
    "[k] 0x0000000000000000 and 7f12345678 user",
  );
  const defaults = parseFlags([]);
  const asked = parseFlags(["--perf-kernel-addresses"]);
  assert.ok(defaults.kind === "run" && asked.kind === "run");
  assert.equal(defaults.options.perf.kernelAddresses, false);
  assert.equal(asked.options.perf.kernelAddresses, true);
});

// 8. Log flooding.

Deno.test("log records escape control characters; repeated warnings are counted, not written", async () => {
  assert.equal(
    escapeControls("a\nb\r\u001b[31mc\u0000\u2028"),
    "a\\nb\\r\\x1b[31mc\\x00\\u2028",
  );
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const log = new Logger("debug", "test");
    log.debug("request \u001b]0;owned\u0007 bytes\r\nFAKE ERROR main: x");
    assert.equal(lines.length, 1);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(lines[0]!, /[\u0000-\u001f]/);

    const methods = new FakeMethods({});
    await withServer({ maxConnectionsPerClient: 1 }, methods, async (port) => {
      const holder = await Peer.connect(port);
      assert.match(await holder.hello(), /Hello!/);
      const before = lines.length;
      for (let i = 0; i < 30; i++) {
        const refused = await Peer.connect(port);
        await refused.until(() => refused.closed);
      }
      const refusals = lines.slice(before).filter((line) => line.includes("Refused"));
      assert.equal(refusals.length, 1, refusals.join("\n"));
      holder.destroy();
    }, new Logger("warn", "rpc"));
  } finally {
    console.error = original;
  }
});

Deno.test("a flood of connect-and-reset writes one log line, not one per connection", async () => {
  const daemon = await startDaemon();
  try {
    for (let i = 0; i < 300; i++) {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port: daemon.port });
        socket.once("connect", () => resolve(socket));
        socket.once("error", reject);
      });
      socket.on("error", () => {});
      socket.resetAndDestroy();
    }
    const client = await Client.connect(daemon.port);
    assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
    client.close();
    const failures = daemon.stderr().split("\n").filter((line) => line.includes("Accept failed"));
    assert.ok(failures.length <= 1, `${failures.length} "Accept failed" lines`);
  } finally {
    await daemon.stop();
  }
});

// 9. The stall timeout means no progress.

Deno.test("stall timeout: a client reading slowly gets the whole reply, one reading nothing is cut", async () => {
  // Progress is seen in steps: the kernel wakes a blocked writer only after the reader has
  // drained a good part of the socket buffers (megabytes on loopback), so the reader below
  // is slow next to the reply (about 3 MB/s for 24 MiB: ~8 s, well past the stall
  // timeout as a total deadline) but quick next to one buffer step per stall timeout.
  const size = 24 << 20;
  const methods = new FakeMethods({
    Huge: () => Promise.resolve({ ok: true, text: "w".repeat(size) }),
  });
  await withServer({ stallTimeoutMs: 4000 }, methods, async (port) => {
    const readAll = async (conn: Deno.Conn, pauseMs: number) => {
      const buffer = new Uint8Array(65536);
      let received = 0;
      let tail = "";
      try {
        while (true) {
          const count = await conn.read(buffer);
          if (count === null) break;
          received += count;
          tail = (tail + decoder.decode(buffer.subarray(0, count))).slice(-32);
          if (tail.endsWith('lepdendstring"\n}\n')) break;
          if (pauseMs > 0) await sleep(pauseMs);
        }
      } catch {
        // reset: closed by the server
      }
      return { received, tail };
    };
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(encoder.encode('{"method":"Huge"}'));
    await silent.write(encoder.encode('{"method":"Huge"}'));
    const slowRead = readAll(slow, 20);
    const silentRead = sleep(7000).then(() => readAll(silent, 0));
    const [slowResult, silentResult] = await Promise.all([slowRead, silentRead]);
    assert.ok(slowResult.received > size, `the slow reader got ${slowResult.received} bytes`);
    assert.ok(slowResult.tail.endsWith('lepdendstring"\n}\n'));
    assert.ok(silentResult.received < size, "the silent client got the whole reply");
    slow.close();
    silent.close();
  });
});

// 10. perf's ownership.

Deno.test("perf is trusted only when it and every directory above it belong to root or lepd's user", () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd-trust-" });
  try {
    const open = `${root}/open`;
    Deno.mkdirSync(open);
    Deno.chmodSync(open, 0o777); // world-writable, not sticky
    Deno.writeTextFileSync(`${open}/perf`, "#!/bin/sh\n");
    Deno.chmodSync(`${open}/perf`, 0o755);
    assert.equal(resolvePerf([open]), undefined);
    assert.equal(trustedPath(`${open}/perf`), false);

    const closed = `${root}/closed`;
    Deno.mkdirSync(closed);
    Deno.chmodSync(closed, 0o755);
    Deno.writeTextFileSync(`${closed}/perf`, "#!/bin/sh\n");
    Deno.chmodSync(`${closed}/perf`, 0o755);
    // /tmp is sticky: others cannot replace what is in it.
    assert.equal(resolvePerf([closed]), `${closed}/perf`);
    // Owned by someone else: another user may replace it.
    assert.equal(resolvePerf([closed], 4242), isRoot ? `${closed}/perf` : undefined);
    if (isRoot) {
      Deno.chownSync(`${closed}/perf`, 65534, 65534);
      assert.equal(resolvePerf([closed]), undefined, "a perf owned by nobody was trusted");
    } else {
      console.log("skipped the owned-by-nobody case: it needs root to chown");
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

// Flags and the fuzzer.

Deno.test("every new bound is a flag", () => {
  const command = parseFlags([
    "--max-response-bytes-per-connection",
    "65536",
    "--max-response-bytes-total",
    "1048576",
    "--heavy-share",
    "50",
  ]);
  assert.ok(command.kind === "run");
  assert.equal(command.options.server.maxResponseBytesPerConnection, 65536);
  assert.equal(command.options.server.maxResponseBytesTotal, 1048576);
  assert.equal(command.options.server.heavyShare, 50);
  const defaults = parseFlags([]);
  assert.ok(defaults.kind === "run");
  assert.equal(defaults.options.server.maxResponseBytesPerConnection, 4 << 20);
  assert.equal(defaults.options.server.maxResponseBytesTotal, 64 << 20);
  assert.equal(defaults.options.server.heavyShare, 25);
  assert.throws(() => parseFlags(["--heavy-share", "0"]), /--heavy-share/);
  assert.ok(defaults.options.server.maxConnectionsPerClient < 256);
});

Deno.test("a short fuzz run leaves the daemon answering", async () => {
  const daemon = await startDaemon();
  try {
    const report = await runFuzz({
      host: "127.0.0.1",
      port: daemon.port,
      cases: 150,
      seed: 13,
      log: () => {},
    });
    assert.equal(report.failures.length, 0, report.failures.join("\n"));
    const client = await Client.connect(daemon.port);
    assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
    client.close();
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});
