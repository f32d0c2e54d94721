import assert from "node:assert/strict";
import { createRegistry } from "../registry/methods.ts";
import { ProcFs } from "../proc/fs.ts";
import { SampledSource } from "../sampling/sampler.ts";
import { Sources } from "../sampling/sources.ts";
import { Logger } from "../log.ts";
import { VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURE = new URL("./fixtures/x86_64-vm", import.meta.url).pathname;

/** Runs `body` counting every SampledSource.stop() call, by source. */
async function countingStops(
  body: () => Promise<void>,
): Promise<Map<SampledSource<unknown>, number>> {
  const counts = new Map<SampledSource<unknown>, number>();
  const original = SampledSource.prototype.stop;
  SampledSource.prototype.stop = function (this: SampledSource<unknown>, reason?: unknown) {
    counts.set(this, (counts.get(this) ?? 0) + 1);
    return original.call(this, reason);
  };
  try {
    await body();
  } finally {
    SampledSource.prototype.stop = original;
  }
  return counts;
}

Deno.test("registry.close() stops every shared source exactly once, and nothing else stops one", async () => {
  const fs = new ProcFs({ root: FIXTURE, maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const sources = new Sources(fs, { intervalMs: 1000, clock });
  const registry = createRegistry({
    fs,
    log: new Logger("error", "test"),
    maxResultBytes: 1 << 24,
    dmesgMaxBytes: 1 << 16,
    perf: { maxOutputBytes: 1 << 20, deadlineMs: 2000, queueLength: 1 },
    sources,
  });
  // Take the sources' first snapshots, so closing has something to stop.
  const calls = ["GetCmdMpstat", "GetCmdMpstat-I", "GetCmdIostat", "GetCmdVmstat", "GetCmdCgtop"]
    .map((method) => registry.call(method));
  await clock.advance(1000);
  await Promise.allSettled(calls);

  const stopsByName = new Map<string, number>();
  for (const [name, source] of sources.all()) {
    // The class's stop, looked up at call time: the prototype spy below sees it too.
    const prototype = Object.getPrototypeOf(source) as { stop(): void };
    source.stop = () => {
      stopsByName.set(name, (stopsByName.get(name) ?? 0) + 1);
      prototype.stop.call(source);
    };
  }

  const byInstance = await countingStops(() => registry.close());

  assert.deepEqual(
    Object.fromEntries(stopsByName),
    Object.fromEntries(sources.all().map(([name]) => [name, 1])),
    "each source of Sources stopped once",
  );
  assert.equal(byInstance.size, sources.all().length, "one SampledSource behind each source");
  assert.deepEqual([...byInstance.values()], sources.all().map(() => 1), "no source stopped twice");
  assert.equal(sources.procStat.running, false, "nothing left sampling");

  await registry.close();
  assert.deepEqual(
    [...stopsByName.values()],
    sources.all().map(() => 1),
    "a second close is a no-op",
  );
});
