/**
 * heap.ts: a collection at each period when the heap grew by 1 MiB or more since the last one,
 * none otherwise, and nothing to do without `--expose-gc`.
 */

import assert from "node:assert/strict";
import {
  BURST_GROWTH_BYTES,
  CALLS_PER_LOOK,
  CHECKS_PER_PERIOD,
  collectPeriodically,
  type HeapControls,
  MIN_GROWTH_BYTES,
} from "../heap.ts";
import { libc, libcProblem, trimMalloc } from "../libc.ts";
import { Logger } from "../log.ts";
import { startNetworkWorker } from "../rpc/worker_host.ts";
import { freePort, startTaskArgs } from "./helpers/daemon.ts";
import { testServerConfig } from "./helpers/server_config.ts";

/** Controls whose heap, collections and timer the test drives. */
function fakeHeap(): HeapControls & { used: number; collections: number; tick(): void } {
  let tick: (() => void) | undefined;
  const heap = {
    used: 10 * MIN_GROWTH_BYTES,
    collections: 0,
    collect() {
      heap.collections++;
      heap.used = 10 * MIN_GROWTH_BYTES; // what survives
    },
    heapUsed: () => heap.used,
    every(callback: () => void, ms: number) {
      assert.equal(ms, 60_000 / CHECKS_PER_PERIOD);
      tick = callback;
      return () => (tick = undefined);
    },
    tick: () => tick?.(),
  };
  return heap;
}

Deno.test("collectPeriodically: at start, then at each period the heap grew by 1 MiB", () => {
  const heap = fakeHeap();
  const keeper = collectPeriodically(60_000, heap);
  // A call before each check: the isolate is never quiet here.
  const busyTick = () => {
    keeper.served();
    heap.tick();
  };
  const period = () => {
    for (let check = 0; check < CHECKS_PER_PERIOD; check++) busyTick();
  };
  assert.equal(heap.collections, 1, "one at start, after the daemon's start-up garbage");
  heap.used += MIN_GROWTH_BYTES - 1;
  period();
  assert.equal(heap.collections, 1, "less than 1 MiB of growth: nothing");
  heap.used += 1;
  for (let check = 1; check < CHECKS_PER_PERIOD; check++) busyTick();
  assert.equal(heap.collections, 1, "1 MiB while calls come in waits for the end of the period");
  busyTick();
  assert.equal(heap.collections, 2, "1 MiB: collected at the period");
  period();
  assert.equal(heap.collections, 2, "a period with nothing grown costs nothing");
  heap.used += BURST_GROWTH_BYTES - 1;
  busyTick();
  assert.equal(heap.collections, 2, "below the burst growth: not before the period");
  heap.used += 1;
  busyTick();
  assert.equal(heap.collections, 3, "a burst: collected at the next sixth of a period");
  heap.used += MIN_GROWTH_BYTES;
  for (let check = 1; check < CHECKS_PER_PERIOD; check++) busyTick();
  assert.equal(heap.collections, 3, "the period counts again from the burst's collection");
  busyTick();
  assert.equal(heap.collections, 4);
  keeper.stop();
  heap.used += 50 * MIN_GROWTH_BYTES;
  heap.tick();
  assert.equal(heap.collections, 4, "stopped");
});

Deno.test("collectPeriodically: 1 MiB is collected at the first check with no call since the previous", () => {
  const heap = fakeHeap();
  const keeper = collectPeriodically(60_000, heap);
  assert.equal(heap.collections, 1);
  heap.tick();
  assert.equal(heap.collections, 1, "quiet with nothing grown costs nothing");
  keeper.served();
  heap.used += MIN_GROWTH_BYTES;
  heap.tick();
  assert.equal(heap.collections, 1, "1 MiB while calls come in waits");
  keeper.served();
  heap.tick();
  assert.equal(heap.collections, 1, "still busy");
  heap.tick();
  assert.equal(heap.collections, 2, "no call since the previous check: collected at once");
  for (let check = 0; check < 3 * CHECKS_PER_PERIOD; check++) heap.tick();
  assert.equal(heap.collections, 2, "quiet with nothing grown, for three periods: nothing");
  heap.used += MIN_GROWTH_BYTES - 1;
  heap.tick();
  assert.equal(heap.collections, 2, "quiet, less than 1 MiB grown: nothing");
  keeper.stop();
});

Deno.test("collectPeriodically: a burst is seen at every 64th call, between the timer's checks", () => {
  const heap = fakeHeap();
  const keeper = collectPeriodically(60_000, heap);
  const calls = (count: number) => {
    for (let call = 0; call < count; call++) keeper.served();
  };
  heap.used += BURST_GROWTH_BYTES;
  calls(CALLS_PER_LOOK - 1);
  assert.equal(heap.collections, 1, "63 calls: not looked at yet");
  calls(1);
  assert.equal(heap.collections, 2, "the 64th call looks and collects");
  heap.used += BURST_GROWTH_BYTES - 1;
  calls(CALLS_PER_LOOK);
  assert.equal(heap.collections, 2, "below the burst growth: calls do not collect");
  heap.used += 1;
  calls(CALLS_PER_LOOK - 1);
  assert.equal(heap.collections, 2);
  calls(1);
  assert.equal(heap.collections, 3);
  keeper.stop();
  heap.used += 10 * BURST_GROWTH_BYTES;
  calls(CALLS_PER_LOOK);
  assert.equal(heap.collections, 3, "stopped: calls no longer collect");
});

Deno.test("exposedGc: present exactly when V8 runs with --expose-gc", async () => {
  for (const flags of [[], ["--v8-flags=--expose-gc"]]) {
    const { stdout } = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        ...flags,
        `import { exposedGc } from "${new URL("../heap.ts", import.meta.url)}";` +
        `const gc = exposedGc(); gc?.(); console.log(gc !== undefined);`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(new TextDecoder().decode(stdout).trim(), String(flags.length > 0), flags.join());
  }
});

Deno.test("exposedGc: hands the freed heap pages back to the system before it returns", async () => {
  // A child allocates about 150 MiB of objects, drops them, and reports its anonymous RSS at
  // the peak, after a plain gc() and after exposedGc(). A plain gc() leaves the unmapping of
  // the freed pages to a helper thread, done or not when it returns (seen: 145 or 16 MiB left);
  // ours has released them when it returns. Pages, not time: no threshold on speed.
  const script = `import { exposedGc } from "${new URL("../heap.ts", import.meta.url)}";
const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))[1]);
let keep = [];
for (let round = 0; round < 10; round++) {
  const objects = [];
  for (let i = 0; i < 200000; i++) objects.push({ i, text: "x" + i });
  keep.push(objects);
}
const peak = anon();
keep = [];
globalThis.gc();
const plain = anon();
exposedGc()();
console.log(JSON.stringify({ peak, plain, ours: anon() }));`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc,--max-semi-space-size=1,--optimize-for-size", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const { peak, plain, ours } = JSON.parse(new TextDecoder().decode(output.stdout));
  console.log(`anonymous RSS: ${peak} KiB at the peak, ${plain} after gc(), ${ours} after ours`);
  assert.ok(peak > 100 * 1024, `the child's objects took ${peak} KiB`);
  assert.ok(ours < peak / 4, `exposedGc() leaves ${ours} of the peak's ${peak} KiB`);
});

Deno.test("isolateHeap: afterCollect runs once after each collection", async () => {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--v8-flags=--expose-gc",
      `import { isolateHeap } from "${new URL("../heap.ts", import.meta.url)}";` +
      `let after = 0; const heap = isolateHeap(() => after++);` +
      `heap.collect(); heap.collect(); console.log(after);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(new TextDecoder().decode(stdout).trim(), "2");
});

Deno.test("trimMalloc: glibc's malloc_trim is found and called", () => {
  const functions = libc();
  if (functions === null) {
    console.log(`skipped: libc cannot be opened through FFI here (${libcProblem()})`);
    return;
  }
  // The optional symbol resolves on glibc (the archives' targets); a wrong name or signature in
  // libc.ts would leave it null, and trimMalloc() would silently do nothing.
  assert.equal(typeof functions.malloc_trim, "function", "malloc_trim resolved");
  trimMalloc();
  trimMalloc();
});

/** Runs the daemon with `v8Flags` until it listens, stops it, and returns its stdout and stderr. */
async function daemonRun(
  v8Flags: string,
  extra: string[] = [],
): Promise<{ out: string; err: string }> {
  const args = startTaskArgs().map((arg) => arg.startsWith("--v8-flags=") ? v8Flags : arg);
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, "--port", String(freePort()), "--hostname", "127.0.0.1", ...extra],
    cwd: new URL("../", import.meta.url),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let err = "";
  let stopping = false;
  const stderr = (async () => {
    for await (const chunk of child.stderr) {
      err += decoder.decode(chunk, { stream: true });
      // Once: a second SIGTERM ends a daemon at once, and V8's buffered output with it.
      if (!stopping && err.includes("listening on")) {
        stopping = true;
        child.kill("SIGTERM");
      }
    }
  })();
  const stdout = new Response(child.stdout).text();
  const [out] = await Promise.all([stdout, stderr, child.status]);
  return { out, err };
}

Deno.test("daemon: with the start task's V8 flags both isolates collect at start", async () => {
  const flags = startTaskArgs().find((arg) => arg.startsWith("--v8-flags="));
  assert.ok(flags?.includes("--expose-gc"), `the start task exposes gc(): ${flags}`);
  const { out, err } = await daemonRun(`${flags},--trace-gc`);
  assert.match(err, /listening on/);
  // Each isolate's --trace-gc lines carry its address; an explicit gc() is "testing".
  const isolates = new Set(
    out.split("\n").filter((line) => line.includes(" testing;"))
      .map((line) => /^\[\d+:(0x[0-9a-f]+)\]/.exec(line)?.[1]),
  );
  assert.equal(isolates.size, 2, `the main isolate and the network worker:\n${out}`);
  assert.doesNotMatch(err, /--gc-interval needs/);
});

Deno.test("daemon: --gc-interval without --expose-gc is a warning, and 0 is silence", async () => {
  const { err } = await daemonRun("--v8-flags=--max-semi-space-size=1");
  assert.match(err, /WARN main: --gc-interval needs --v8-flags=--expose-gc/);
  const off = await daemonRun("--v8-flags=--max-semi-space-size=1", ["--gc-interval", "0"]);
  assert.match(off.err, /listening on/);
  assert.doesNotMatch(off.err, /--gc-interval/);
});

Deno.test("the network worker tells onCall of each call and scrape it forwards, and of nothing else (the keepers' pace)", async () => {
  let told = 0;
  const called: string[] = [];
  let scrapes = 0;
  const worker = await startNetworkWorker(
    testServerConfig({
      metrics: { hostname: "127.0.0.1", port: 0 },
    }),
    {
      methods: {
        names: () => ["SayHello", "GetProcLoadavg"],
        call: (method) => {
          called.push(method);
          return Promise.resolve({ ok: true, text: "x" });
        },
      },
      log: new Logger("error", "test"),
      onCall: () => told++,
      scrape: () => {
        scrapes++;
        return Promise.resolve({ ok: true, families: [] });
      },
    },
  );
  try {
    const conn = await Deno.connect(worker.address);
    const encoder = new TextEncoder();
    // Three forwarded calls (one alone, two in a batch) and an unknown method, which the worker
    // answers itself and the main isolate never sees.
    await conn.write(encoder.encode(
      '{"method": "SayHello"}' +
        '[{"jsonrpc":"2.0","id":1,"method":"GetProcLoadavg"},' +
        '{"jsonrpc":"2.0","id":2,"method":"SayHello"}]' +
        '{"method": "NoSuchMethod"}',
    ));
    let text = "";
    const buffer = new Uint8Array(65536);
    const decoder = new TextDecoder();
    // SayHello's marker, the batch's array, the unknown method's marker.
    while ((text.match(/lepdendstring/g)?.length ?? 0) < 2 || !text.includes("]")) {
      const count = await conn.read(buffer);
      if (count === null) break;
      text += decoder.decode(buffer.subarray(0, count));
    }
    conn.close();
    const metrics = worker.metricsAddress!;
    const response = await fetch(`http://${metrics.hostname}:${metrics.port}/metrics`);
    await response.body?.cancel();
    assert.equal(response.status, 200);
    assert.deepEqual(called.toSorted(), ["GetProcLoadavg", "SayHello", "SayHello"]);
    assert.equal(scrapes, 1);
    assert.equal(told, called.length + scrapes, `onCall told ${told} times`);
  } finally {
    await worker.stop();
  }
});
