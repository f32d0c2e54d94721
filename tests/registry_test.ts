import assert from "node:assert/strict";
import { MethodFailure } from "../failure.ts";
import { listAllMethod, sayHello } from "../methods/hello.ts";
import { ProcFs } from "../proc/fs.ts";
import { Registry } from "../registry/registry.ts";
import type { Collector, CollectorContext } from "../methods/collector.ts";
import { Logger } from "../log.ts";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../flags.ts";
import { daemonRegistry } from "../registry/methods.ts";
import { descriptorsOn } from "./helpers/processes.ts";

function newRegistry(maxResultBytes = 1000): Registry {
  return new Registry({
    fs: new ProcFs({ maxFileBytes: 1 << 20 }),
    log: new Logger("error", "test"),
    maxResultBytes,
  });
}

function constant(text: string): Collector {
  return { collect: () => Promise.resolve(text) };
}

/** Runs `body` with console.error captured; returns the captured lines. */
async function capturingStderr(body: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  try {
    await body();
  } finally {
    console.error = original;
  }
  return lines;
}

Deno.test("Registry.names() lists methods in registration order", () => {
  const registry = newRegistry()
    .register("Zeta", constant("z"))
    .register("Alpha", constant("a"))
    .register("Mid-I", constant("m"));
  assert.deepEqual(registry.names(), ["Zeta", "Alpha", "Mid-I"]);
});

Deno.test("Registry.has() is exact and case-sensitive", () => {
  const registry = newRegistry().register("SayHello", sayHello);
  assert.equal(registry.has("SayHello"), true);
  assert.equal(registry.has("sayhello"), false);
  assert.equal(registry.has("SayHello "), false);
  assert.equal(registry.has(""), false);
});

Deno.test("Registry refuses a duplicate registration and keeps the first collector", async () => {
  const registry = newRegistry().register("SayHello", constant("first"));
  assert.throws(
    () => registry.register("SayHello", constant("second")),
    (error: unknown) => error instanceof Error && error.message.includes('"SayHello"'),
  );
  assert.deepEqual(registry.names(), ["SayHello"]);
  assert.deepEqual(await registry.call("SayHello"), { ok: true, text: "first" });
});

Deno.test("Registry.call() of an unknown method fails without throwing", async () => {
  const registry = newRegistry().register("SayHello", sayHello);
  const outcome = await registry.call("Nope");
  assert.equal(outcome.ok, false);
  if (!outcome.ok) assert.ok(outcome.message.includes('"Nope"'), outcome.message);
  assert.equal(registry.stats("Nope"), undefined);
});

Deno.test("Registry.call() returns the collector's text", async () => {
  const registry = newRegistry().register("SayHello", sayHello);
  assert.deepEqual(await registry.call("SayHello"), { ok: true, text: "Hello!" });
});

Deno.test("Registry passes a MethodFailure message through and counts the failure", async () => {
  const message = 'Cannot read "/proc/modules": no such file (this kernel does not provide it)';
  const registry = newRegistry().register("GetProcModules", {
    collect: () => Promise.reject(new MethodFailure(message)),
  });
  const lines = await capturingStderr(async () => {
    assert.deepEqual(await registry.call("GetProcModules"), { ok: false, message });
    assert.deepEqual(await registry.call("GetProcModules"), { ok: false, message });
  });
  assert.deepEqual(lines, [], "an expected failure is not logged as a bug");
  const stats = registry.stats("GetProcModules");
  assert.equal(stats?.calls, 2);
  assert.equal(stats?.failures, 2);
});

Deno.test("Registry reports another error as an internal error and logs it", async () => {
  const registry = newRegistry().register("Broken", {
    collect: () => {
      throw new RangeError("index 9 out of range");
    },
  });
  let outcome: Awaited<ReturnType<Registry["call"]>> | undefined;
  const lines = await capturingStderr(async () => {
    outcome = await registry.call("Broken");
  });
  assert.deepEqual(outcome, {
    ok: false,
    message: "Internal error in Broken: index 9 out of range",
  });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.includes("ERROR test: Broken failed unexpectedly"), lines[0]);
  assert.ok(lines[0]!.includes("index 9 out of range"), lines[0]);
  assert.equal(registry.stats("Broken")?.failures, 1);
});

Deno.test("Registry reports an asynchronous rejection as an internal error", async () => {
  const registry = newRegistry().register("Rejects", {
    collect: () => Promise.reject(new Error("boom")),
  });
  const lines = await capturingStderr(async () => {
    assert.deepEqual(await registry.call("Rejects"), {
      ok: false,
      message: "Internal error in Rejects: boom",
    });
  });
  assert.equal(lines.length, 1);
});

Deno.test("Registry accepts a text exactly at maxResultBytes", async () => {
  const registry = newRegistry(10).register("Ten", constant("0123456789"));
  assert.deepEqual(await registry.call("Ten"), { ok: true, text: "0123456789" });
  assert.equal(registry.stats("Ten")?.failures, 0);
});

Deno.test("Registry refuses a text longer than maxResultBytes, naming the limit", async () => {
  const registry = newRegistry(10).register("Eleven", constant("01234567890"));
  const outcome = await registry.call("Eleven");
  assert.equal(outcome.ok, false);
  if (!outcome.ok) {
    assert.ok(outcome.message.includes("Eleven"), outcome.message);
    assert.ok(outcome.message.includes("11"), outcome.message);
    assert.ok(outcome.message.includes("limit of 10"), outcome.message);
  }
  assert.equal(registry.stats("Eleven")?.failures, 1);
});

Deno.test("Registry counts calls and time per method", async () => {
  const registry = newRegistry()
    .register("A", constant("a"))
    .register("B", {
      collect: () => new Promise((resolve) => setTimeout(() => resolve("b"), 15)),
    });
  assert.deepEqual(registry.stats("A"), { calls: 0, failures: 0, totalMs: 0 });
  await registry.call("A");
  await registry.call("A");
  await registry.call("A");
  await registry.call("B");
  assert.equal(registry.stats("A")?.calls, 3);
  assert.equal(registry.stats("A")?.failures, 0);
  assert.equal(registry.stats("B")?.calls, 1);
  assert.ok((registry.stats("B")?.totalMs ?? 0) >= 10, `${registry.stats("B")?.totalMs}`);
});

Deno.test("Registry.probe() returns only unavailable methods with their reasons", async () => {
  const registry = newRegistry()
    .register("NoProbe", constant("x"))
    .register("Available", { ...constant("x"), probe: () => Promise.resolve(undefined) })
    .register("Missing", {
      ...constant("x"),
      probe: () => Promise.resolve("perf is not installed"),
    })
    .register("Throws", {
      ...constant("x"),
      probe: () => Promise.reject(new Error("probe crashed")),
    });
  const unavailable = await registry.probe();
  assert.deepEqual(
    [...unavailable],
    [["Missing", "perf is not installed"], ["Throws", "probe crashed"]],
  );
});

Deno.test("a collector receives only the context object {fs, methods}", async () => {
  const seen: unknown[][] = [];
  const probed: unknown[][] = [];
  const fs = new ProcFs({ maxFileBytes: 1 << 20 });
  const registry = new Registry({ fs, log: new Logger("error", "test"), maxResultBytes: 100 })
    .register("Spy", {
      collect: (...args: [CollectorContext]) => {
        seen.push(args);
        return Promise.resolve("ok");
      },
      probe: (...args: [CollectorContext]) => {
        probed.push(args);
        return Promise.resolve(undefined);
      },
    })
    .register("Other", constant("x"));
  await registry.call("Spy");
  await registry.probe();
  for (const args of [...seen, ...probed]) {
    assert.equal(args.length, 1);
    const context = args[0] as Record<string, unknown>;
    assert.deepEqual(Object.keys(context).sort(), ["fs", "methods"]);
    assert.equal(context.fs, fs);
    assert.deepEqual(context.methods, ["Spy", "Other"]);
  }
  assert.equal(seen.length, 1);
  assert.equal(probed.length, 1);
});

Deno.test("a collector cannot change the registry's method list through its context", async () => {
  const registry = newRegistry()
    .register("Mutator", {
      collect: ({ methods }) => {
        (methods as string[]).push("Injected");
        return Promise.resolve("");
      },
    })
    .register("ListAllMethod", listAllMethod);
  await registry.call("Mutator");
  assert.deepEqual(registry.names(), ["Mutator", "ListAllMethod"]);
  assert.deepEqual(await registry.call("ListAllMethod"), {
    ok: true,
    text: "Mutator ListAllMethod ",
  });
});

Deno.test("ListAllMethod text is every name followed by one space, in order", async () => {
  const registry = newRegistry()
    .register("SayHello", sayHello)
    .register("ListAllMethod", listAllMethod)
    .register("GetProcMeminfo", constant(""))
    .register("GetCmdMpstat-I", constant(""));
  assert.deepEqual(await registry.call("ListAllMethod"), {
    ok: true,
    text: "SayHello ListAllMethod GetProcMeminfo GetCmdMpstat-I ",
  });
});

Deno.test("SayHello answers Hello!", async () => {
  assert.equal(
    await sayHello.collect({ fs: new ProcFs({ maxFileBytes: 1 }), methods: [] }),
    "Hello!",
  );
});

Deno.test("Registry measures the limit in UTF-8 bytes, not characters", async () => {
  const registry = newRegistry(10)
    .register("FourEuros", constant("€€€€"))
    .register("ThreeEuros", constant("€€€"));
  const outcome = await registry.call("FourEuros");
  assert.equal(outcome.ok, false);
  if (!outcome.ok) assert.match(outcome.message, /is 12 bytes, more than the limit of 10/);
  assert.deepEqual(await registry.call("ThreeEuros"), { ok: true, text: "€€€" });
});

Deno.test("Registry.close closes every collector once, and a failing close does not stop the others", async () => {
  const closed: string[] = [];
  const registry = new Registry({
    fs: new ProcFs({ maxFileBytes: 1 << 20 }),
    log: new Logger("warn", "test"),
    maxResultBytes: 1000,
  })
    .register("A", { ...constant("a"), close: () => Promise.resolve(void closed.push("A")) })
    .register("B", { ...constant("b"), close: () => Promise.reject(new Error("stuck")) })
    .register("C", { ...constant("c"), close: () => Promise.resolve(void closed.push("C")) })
    .register("D", constant("d"));
  const logged = await capturingStderr(() => registry.close());
  assert.deepEqual(closed, ["A", "C"]);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /WARN .*Closing B failed: stuck/);
});

Deno.test("daemonRegistry keeps the live /proc's files open until close(), a --root tree's never", async () => {
  const tree = fileURLToPath(new URL("./fixtures/x86_64-vm", import.meta.url));
  const cases: [string[], string, number][] = [
    [[], "/proc/loadavg", 1],
    [["--root", tree], `${tree}/proc/loadavg`, 0],
  ];
  for (const [args, file, kept] of cases) {
    const command = parseFlags(args);
    assert.equal(command.kind, "run");
    if (command.kind !== "run") continue;
    const { registry } = daemonRegistry(command.options, new Logger("error", "test"));
    try {
      for (let call = 0; call < 3; call++) {
        const outcome = await registry.call("GetProcLoadavg");
        assert.ok(outcome.ok, `GetProcLoadavg ${args.join(" ")}`);
      }
      assert.equal(descriptorsOn(file), kept, file);
    } finally {
      await registry.close();
    }
    assert.equal(descriptorsOn(file), 0, `${file} after close()`);
  }
});
