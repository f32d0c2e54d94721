/**
 * bench/measure.ts: the per-thread CPU reading the footprint benchmark breaks the dashboard's
 * cost down with (main isolate, network worker, V8's helper threads), checked against the
 * kernel's tick counters of the same thread.
 */

import assert from "node:assert/strict";
import {
  cpuNsByRole,
  THREAD_ROLES,
  threadCpuNs,
  type ThreadRole,
  threadRole,
} from "../bench/measure.ts";
import { readTaskTicks } from "./helpers/kernel_counters.ts";
import { skipUnless } from "./helpers/skip.ts";

const HAS_SCHEDSTAT = (() => {
  try {
    Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/schedstat`);
    return true;
  } catch {
    return false;
  }
})();

Deno.test("threadRole: each thread name Deno and V8 give", () => {
  const cases: [tid: number, name: string, role: ThreadRole][] = [
    [100, "deno", "main isolate"],
    [100, "lepd", "main isolate"], // a `deno compile` binary's own name
    [101, "worker-1", "network worker"],
    [102, "worker-12", "network worker"],
    [103, "V8 DefaultWorke", "V8 helpers"],
    [104, "deno", "other"], // Deno's second thread carries the process name
    [105, "tokio-runtime-w", "other"],
    [106, "worker", "other"],
  ];
  for (const [tid, name, role] of cases) {
    assert.equal(threadRole(100, tid, name), role, `${tid} ${name}`);
  }
});

Deno.test("cpuNsByRole: differences per role, a new thread from 0, every role listed", () => {
  const before = new Map([[1, { ns: 100 }], [2, { ns: 50 }], [3, { ns: 7 }]]);
  const after = new Map<number, { role: ThreadRole; ns: number }>([
    [1, { role: "main isolate", ns: 400 }],
    [2, { role: "network worker", ns: 80 }],
    [3, { role: "V8 helpers", ns: 10 }],
    [4, { role: "V8 helpers", ns: 5 }], // started between the readings
  ]);
  assert.deepEqual(
    [...cpuNsByRole(before, after)],
    [["main isolate", 300], ["network worker", 30], ["V8 helpers", 8], ["other", 0]],
  );
  assert.deepEqual([...cpuNsByRole(before, after).keys()], THREAD_ROLES);
});

/** This thread's id: `deno test` runs each test file on a thread of its own, not the process's. */
function ownThreadId(): number {
  return Number(Deno.readLinkSync("/proc/thread-self").split("/").at(-1));
}

Deno.test({
  name: "threadCpuNs: a thread's nanoseconds agree with its kernel ticks over a busy spell",
  ignore: skipUnless(HAS_SCHEDSTAT, "the kernel has no /proc/<pid>/task/<tid>/schedstat"),
  fn() {
    const ticksPerSecond = 100; // USER_HZ, what /proc's stat files count in
    const tid = ownThreadId();
    const before = threadCpuNs(Deno.pid)!;
    assert.equal(before.get(Deno.pid)?.role, "main isolate");
    const ticksBefore = readTaskTicks(Deno.pid, tid);
    // Burn CPU until the kernel has counted 5 ticks to this thread, however busy the machine.
    let spin = 0;
    while (readTaskTicks(Deno.pid, tid) - ticksBefore < 5) spin++;
    const ticks = readTaskTicks(Deno.pid, tid) - ticksBefore;
    const ns = threadCpuNs(Deno.pid)!.get(tid)!.ns - before.get(tid)!.ns;
    assert.ok(spin > 0);
    // Both count the same run time (the kernel's sum_exec_runtime); the ticks are its user and
    // system parts each cut to whole ticks, at both readings.
    assert.ok(ns >= (ticks - 2) * 1e9 / ticksPerSecond, `${ns} ns for ${ticks} ticks`);
    assert.ok(ns <= (ticks + 2) * 1e9 / ticksPerSecond, `${ns} ns for ${ticks} ticks`);
  },
});

Deno.test({
  name: "threadCpuNs: a Worker's thread is the network worker; a gone process is undefined",
  ignore: skipUnless(HAS_SCHEDSTAT, "the kernel has no /proc/<pid>/task/<tid>/schedstat"),
  async fn() {
    const worker = new Worker(
      `data:text/javascript,${encodeURIComponent("self.postMessage('up')")}`,
      { type: "module" },
    );
    try {
      await new Promise((resolve) => (worker.onmessage = resolve));
      const roles = [...threadCpuNs(Deno.pid)!.values()].map(({ role }) => role);
      assert.ok(roles.includes("network worker"), roles.join(", "));
      assert.equal(roles.filter((role) => role === "main isolate").length, 1);
    } finally {
      worker.terminate();
    }
    const child = new Deno.Command("true").spawn();
    await child.status;
    assert.equal(threadCpuNs(child.pid), undefined);
  },
});
