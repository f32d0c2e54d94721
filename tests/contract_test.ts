// The contract every registered method keeps over a real socket, run over the whole registry
// so that a method is covered the moment it is registered.

import assert from "node:assert/strict";
import { MARKER } from "../rpc/protocol.ts";
import { Client, legacyText, startDaemon } from "./helpers/daemon.ts";

/** The method list as the daemon reports it. */
async function listMethods(port: number): Promise<string[]> {
  const client = await Client.connect(port);
  const names = legacyText(await client.request({ method: "ListAllMethod" })).split(" ");
  client.close();
  assert.equal(names.pop(), "", "ListAllMethod ends with one space");
  return names;
}

/** A legacy response is a result ending in the marker, or an error whose data is the marker. */
function assertLegacyShape(method: string, response: Record<string, unknown>): void {
  if ("result" in response) {
    const result = response.result as string;
    assert.ok(result.endsWith(MARKER), method);
    assert.equal(result.indexOf(MARKER), result.length - MARKER.length, `${method}: one marker`);
    return;
  }
  const error = response.error as { code: number; message: string; data: string };
  assert.equal(error.code, -32000, `${method}: ${JSON.stringify(response)}`);
  assert.equal(error.data, MARKER, method);
  assert.match(error.message, /^[^\n]+$/, `${method}: one-line message`);
}

/**
 * One method's contract: a first request, then the same connection again together with five
 * other connections asking at once (each answer keeps the legacy shape and its id), then
 * SayHello on the first connection, which stayed open throughout.
 */
async function checkContract(port: number, method: string): Promise<void> {
  const client = await Client.connect(port);
  const others: Client[] = [];
  try {
    assertLegacyShape(method, await client.request({ method }));
    for (let i = 0; i < 5; i++) others.push(await Client.connect(port));
    const responses = await Promise.all(
      [client, ...others].map((c, id) => c.request({ method, id })),
    );
    responses.forEach((response, id) => {
      assert.equal(response.id, id);
      assertLegacyShape(method, response);
    });
    assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
  } finally {
    client.close();
    for (const other of others) other.close();
  }
}

Deno.test("every registered method: marker, open connection, concurrency", async (t) => {
  const daemon = await startDaemon();
  try {
    const methods = await listMethods(daemon.port);
    assert.deepEqual(methods.slice(0, 3), ["SayHello", "ListAllMethod", "GetProcMeminfo"]);
    // The perf methods record for a second or more each, one recording at a time: they run one
    // after another in the background while the other methods are checked, each awaited (and
    // reported) in its own step.
    const slow = methods.filter((method) => method.startsWith("GetCmdPerf"));
    const outcomes = new Map<string, Promise<unknown>>();
    let chain = Promise.resolve<unknown>(undefined);
    for (const method of slow) {
      chain = chain.then(() => checkContract(daemon.port, method).then(() => undefined, (e) => e));
      outcomes.set(method, chain);
    }
    for (const method of methods) {
      await t.step(method, async () => {
        const outcome = outcomes.get(method);
        if (outcome === undefined) return await checkContract(daemon.port, method);
        const error = await outcome;
        if (error !== undefined) throw error;
      });
    }
    await chain;
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

Deno.test("every method whose source is missing answers a clear error with the marker", async (t) => {
  const emptyRoot = await Deno.makeTempDir({ prefix: "lepd-empty-root-" });
  const daemon = await startDaemon(["--root", emptyRoot]);
  try {
    const methods = await listMethods(daemon.port);
    const client = await Client.connect(daemon.port);
    for (const method of methods) {
      await t.step(method, async () => {
        const response = await client.request({ method, id: method });
        assert.equal(response.id, method);
        assertLegacyShape(method, response);
        const message = (response.error as { message: string } | undefined)?.message ?? "";
        if (method.startsWith("GetCmdPerf")) {
          // perf samples the live system, which a captured tree does not stand for.
          assert.match(message, /^perf methods sample the live system .*\(--root\)$/);
        } else if (method !== "SayHello" && method !== "ListAllMethod") {
          // One line that names the missing source (a quoted path) and says what is wrong.
          assert.match(
            message,
            /^Cannot [a-z ]+:? .*"\/(proc|sys|dev)(\/[^"]*)?".*(no such file|lists no|has no)/,
          );
        }
      });
    }
    client.close();
  } finally {
    assert.equal(await daemon.stop(), 0);
    await Deno.remove(emptyRoot, { recursive: true });
  }
});
