// The messages between the isolates: calls and outcomes batched per turn (rpc/messages.ts,
// rpc/worker_host.ts's answerBatch), the heavy lane that starts at once when free, and the event
// each isolate keeps so that a full collection leaves Deno's event dispatch optimized.

import assert from "node:assert/strict";
import {
  type Batch,
  batchItems,
  callMessage,
  type MethodOutcome,
  Outbox,
  outcomeMessage,
  parseCallMessage,
  parseOutcomeMessage,
} from "../rpc/messages.ts";
import { answerBatch, startNetworkWorker } from "../rpc/worker_host.ts";
import { Logger } from "../log.ts";
import { Client, legacyText } from "./helpers/daemon.ts";
import { testServerConfig } from "./helpers/server_config.ts";

/** Resolves after the macrotasks queued before it (a timer of 0 ms). */
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A promise and the function that resolves it. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => resolve = done);
  return { promise, resolve };
}

Deno.test("call and outcome messages round-trip", () => {
  const cases: { callId: number; method: string; format: "text" | "json" }[] = [
    { callId: 1, method: "SayHello", format: "text" },
    { callId: 1234567, method: "GetCmdMpstat-I", format: "json" },
  ];
  for (const call of cases) {
    assert.deepEqual(parseCallMessage(callMessage(call.callId, call.method, call.format)), call);
  }
  const outcomes: MethodOutcome[] = [
    { ok: true, text: "a+b-c\n" },
    { ok: true, text: "" },
    { ok: false, message: "Method not found" },
  ];
  for (const outcome of outcomes) {
    assert.deepEqual(parseOutcomeMessage(outcomeMessage(42, outcome)), { callId: 42, outcome });
  }
});

Deno.test("Outbox: what is pushed in one turn is posted as one message", async () => {
  const posted: Batch[] = [];
  const outbox = new Outbox((batch) => posted.push(batch), queueMicrotask);
  outbox.push("1 A");
  outbox.push("2 B");
  outbox.push("3 C");
  assert.deepEqual(posted, [], "nothing leaves before the turn ends");
  await nextTurn();
  outbox.push("4 D");
  await nextTurn();
  outbox.flush();
  assert.deepEqual(posted, [["1 A", "2 B", "3 C"], "4 D"], "a lone item goes as a string");
});

Deno.test("keepEventShapes: the periodic collection no longer deoptimizes Deno's event dispatch", async () => {
  // The child optimizes Deno's event dispatch, then collects as heap.ts does. Without a live
  // event V8 throws that code away at the collection (about 20 functions); with the first event
  // kept, nothing. Counted from V8's own trace; compilation on the main thread makes the
  // optimization happen before the collection on any machine.
  const deoptimized = async (keep: boolean) => {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--v8-flags=--expose-gc,--trace-deopt,--no-concurrent-recompilation," +
        "--max-semi-space-size=1,--optimize-for-size",
        new URL("./helpers/event_shapes_child.ts", import.meta.url).pathname,
        ...(keep ? ["keep"] : []),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(success, "the child ran");
    const text = new TextDecoder().decode(stdout);
    const after = text.slice(text.indexOf("collecting\n"));
    assert.match(after, /collected after 22000 events/);
    return after.split("embedded weak objects cleared").length - 1;
  };
  assert.ok(await deoptimized(false) > 0, "without a kept event the collection deoptimizes");
  assert.equal(await deoptimized(true), 0, "with the first event kept, nothing is deoptimized");
});

Deno.test("keepEventShapes: keeps the first event only, so no later message's text", async () => {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--v8-flags=--expose-gc",
      `import { keepEventShapes } from "${new URL("../rpc/messages.ts", import.meta.url)}";
const refs = [0, 1, 2].map((i) => {
  const event = new MessageEvent("message", { data: "text " + i });
  keepEventShapes(event);
  return new WeakRef(event);
});
await new Promise((resolve) => setTimeout(resolve, 0));
globalThis.gc();
console.log(JSON.stringify(refs.map((ref) => ref.deref() !== undefined)));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), [true, false, false]);
});

Deno.test("batchItems: a string is one item, an array's non-strings are dropped", () => {
  assert.deepEqual(batchItems("1 A"), ["1 A"]);
  assert.deepEqual(batchItems(["1 A", 7 as unknown as string, "2 B"]), ["1 A", "2 B"]);
});

Deno.test("answerBatch: outcomes of a batch are sent together once all are in", async () => {
  const sent: Batch[] = [];
  // Answered in the reverse order of the calls, each after a few microtasks.
  const answer = async (call: string) => {
    for (let i = 0; i < 10 - Number(call); i++) await null;
    return `${call}+ok`;
  };
  answerBatch(["1", "2", "3"], answer, (batch) => sent.push(batch));
  await nextTurn();
  await nextTurn();
  assert.deepEqual(sent, [["3+ok", "2+ok", "1+ok"]]);
  const alone: Batch[] = [];
  answerBatch(["9"], answer, (batch) => alone.push(batch));
  await nextTurn();
  assert.deepEqual(alone, ["9+ok"]);
});

Deno.test("answerBatch: a call slower than the turn holds no other outcome", async () => {
  const sent: Batch[] = [];
  const slow = deferred<string>();
  const later = deferred<string>();
  const answer = (call: string) =>
    call === "slow" ? slow.promise : call === "later" ? later.promise : Promise.resolve(`${call}+`);
  answerBatch(["a", "slow", "b", "later"], answer, (batch) => sent.push(batch));
  await nextTurn();
  assert.deepEqual(sent, [["a+", "b+"]], "the quick ones leave at the end of the turn");
  later.resolve("later+");
  await nextTurn();
  slow.resolve("slow+");
  await nextTurn();
  assert.deepEqual(sent, [["a+", "b+"], "later+", "slow+"], "each late one on its own");
});

Deno.test("the network worker: concurrent requests on many connections each get their own answer", async () => {
  // Every call is held until all have arrived, then answered in reverse order, so the
  // outcomes come back interleaved (in one message when they were batched) and must still
  // reach the right connection.
  const methods = Array.from({ length: 8 }, (_, i) => `Method${i}`);
  const held: { method: string; resolve: (outcome: MethodOutcome) => void }[] = [];
  const all = deferred<void>();
  const worker = await startNetworkWorker(testServerConfig(), {
    methods: {
      names: () => methods,
      call: (method) =>
        new Promise<MethodOutcome>((resolve) => {
          held.push({ method, resolve });
          if (held.length === methods.length) all.resolve();
        }),
    },
    log: new Logger("error", "test"),
  });
  const clients = await Promise.all(methods.map(() => Client.connect(worker.address.port)));
  try {
    await Promise.all(
      clients.map((client, i) => client.send(JSON.stringify({ method: methods[i] }))),
    );
    await all.promise;
    for (const { method, resolve } of [...held].reverse()) {
      resolve({ ok: true, text: `answer of ${method}` });
    }
    for (const [i, client] of clients.entries()) {
      assert.equal(legacyText(await client.readJson()), `answer of ${methods[i]}`);
    }
  } finally {
    clients.forEach((client) => client.close());
    await worker.stop();
  }
});
