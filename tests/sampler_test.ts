// The sampler on a virtual clock: every wait is a step of the test's own clock, never a sleep,
// so the figures below are exact and a loaded machine cannot change them.

import assert from "node:assert/strict";
import { cgroupSource } from "../sampling/cgroups.ts";
import { interruptsSource, softirqsSource } from "../sampling/interrupts.ts";
import { diskstatsSource } from "../sampling/diskstats.ts";
import { ProcFs } from "../proc/fs.ts";
import { procStatSource } from "../sampling/proc_stat.ts";
import { type Clock, REAL_CLOCK, SampledSource } from "../sampling/sampler.ts";
import { vmCountersSource } from "../sampling/vm_counters.ts";
import { flushPromises, VirtualClock } from "./helpers/virtual_clock.ts";

/** Whether `promise` has settled once the promises queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await flushPromises();
  return done;
}

Deno.test("sampler: the first request waits one interval, later ones are answered at once", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 100, idleStopMs: 10_000, clock });
  try {
    assert.equal(source.running, false);
    const first = source.interval();
    await clock.advance(99);
    assert.equal(await settled(first), false, "not before one interval");
    await clock.advance(1);
    const interval = await first;
    assert.deepEqual([interval.previous, interval.latest, interval.seconds], [1, 2, 0.1]);
    assert.equal(interval.takenAt, clock.wallNow(), "wall time of the latest snapshot");
    const second = source.interval();
    assert.equal(await settled(second), true, "answered without the clock moving");
    assert.equal((await second).latest, 2);
    await clock.advance(250);
    const later = await source.interval();
    assert.deepEqual([later.previous, later.latest, reads], [3, 4, 4], "one snapshot a tick");
  } finally {
    source.stop();
  }
  assert.equal(clock.pending, 0, "stop() leaves no timer");
});

Deno.test("sampler: concurrent first requests share one wait and one pair of snapshots", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 50, clock });
  try {
    const all = Promise.all([source.interval(), source.interval(), source.interval()]);
    await clock.advance(50);
    const intervals = await all;
    assert.equal(reads, 2);
    for (const interval of intervals) {
      assert.deepEqual([interval.previous, interval.latest], [1, 2]);
    }
  } finally {
    source.stop();
  }
});

Deno.test("sampler: stops after the idle time without requests, restarts on demand", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 30, idleStopMs: 100, clock });
  try {
    const first = source.interval();
    await clock.advance(30);
    await first;
    assert.equal(source.running, true);
    await clock.advance(60);
    assert.equal(source.running, true, "within the idle time");
    await clock.advance(40); // 130 ms after the request: the tick at 120 ms found it idle
    assert.equal(source.running, false);
    assert.equal(clock.pending, 0, "the shared clock stopped with its last source");
    const readsWhenStopped = reads;
    assert.equal(readsWhenStopped, 4, "reads at 0, 30, 60 and 90 ms");
    await clock.advance(1000);
    assert.equal(reads, readsWhenStopped, "no snapshots while stopped");
    const restarted = source.interval();
    await clock.advance(30);
    assert.equal((await restarted).previous, readsWhenStopped + 1, "a fresh pair after a restart");
  } finally {
    source.stop();
  }
});

Deno.test("sampler: a failing snapshot fails the waiting requests and stops the source", async () => {
  const clock = new VirtualClock();
  let fail = true;
  const source = new SampledSource(() => {
    if (fail) throw new Error('Cannot read "/proc/stat": no such file');
    return 1;
  }, { intervalMs: 30, clock });
  try {
    await assert.rejects(source.interval(), /no such file/);
    assert.equal(source.running, false);
    fail = false;
    const interval = source.interval();
    await clock.advance(30);
    assert.equal((await interval).latest, 1);
    // A failure at a tick fails the requests waiting then, and stops the source.
    fail = true;
    const waiting = assert.rejects(source.intervalWhere(() => false), /no such file/);
    await clock.advance(30);
    await waiting;
    assert.equal(source.running, false);
    assert.equal(clock.pending, 0);
  } finally {
    source.stop();
  }
});

Deno.test("sampler: sources of one interval share a clock; a late starter waits for a full-enough interval", async () => {
  const clock = new VirtualClock();
  const stamps: Record<string, number[]> = { a: [], b: [] };
  const a = new SampledSource(() => stamps.a!.push(clock.now()), { intervalMs: 200, clock });
  const b = new SampledSource(() => stamps.b!.push(clock.now()), { intervalMs: 200, clock });
  const start = clock.now();
  try {
    const first = a.interval();
    await clock.advance(200);
    await first;
    await clock.advance(150); // b starts 50 ms before the shared tick
    const late = b.interval();
    await clock.advance(50);
    assert.equal(await settled(late), false, "a 50 ms interval would be a sliver");
    await clock.advance(200);
    const interval = await late;
    assert.equal(interval.seconds, 0.25, "from b's start to the tick after next");
    assert.equal(clock.pending, 1, "one timer for both sources");
    // From then on both are read in the same tick.
    await clock.advance(400);
    assert.deepEqual(stamps.a!.map((t) => t - start), [0, 200, 400, 600, 800, 1000]);
    assert.deepEqual(stamps.b!.map((t) => t - start), [350, 600, 800, 1000]);
  } finally {
    a.stop();
    b.stop();
  }
});

Deno.test("sampler: sources on different clocks or intervals do not share a timer", async () => {
  const one = new VirtualClock();
  const other = new VirtualClock();
  const sources = [
    new SampledSource(() => 1, { intervalMs: 100, clock: one }),
    new SampledSource(() => 1, { intervalMs: 100, clock: other }),
    new SampledSource(() => 1, { intervalMs: 50, clock: other }),
  ];
  try {
    for (const source of sources) source.interval().catch(() => {}); // stopped below
    await flushPromises();
    assert.deepEqual([one.pending, other.pending], [1, 2]);
  } finally {
    for (const source of sources) source.stop();
  }
  assert.deepEqual([one.pending, other.pending], [0, 0]);
});

Deno.test("sampler: intervalWhere waits until both snapshots have what the caller needs", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  let wanted = false;
  const source = new SampledSource(() => ({ n: ++reads, extra: wanted ? reads : undefined }), {
    intervalMs: 40,
    clock,
  });
  try {
    const plainRequest = source.interval();
    await clock.advance(40);
    const plain = await plainRequest;
    assert.equal(plain.latest.extra, undefined);
    wanted = true;
    const rich = source.intervalWhere((interval) =>
      interval.previous.extra !== undefined && interval.latest.extra !== undefined
    );
    await clock.advance(40);
    assert.equal(await settled(rich), false, "one snapshot with the extra part is not enough");
    await clock.advance(40);
    const { previous, latest } = await rich;
    assert.deepEqual([previous.n, previous.extra, latest.n, latest.extra], [3, 3, 4, 4]);
    assert.equal(latest.n, plain.latest.n + 2, "two new snapshots were needed");
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: the first request waits one interval, later ones read at most once", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 100, clock }, "demand");
  try {
    const both = Promise.all([source.interval(), source.interval()]);
    await clock.advance(99);
    assert.equal(await settled(both), false, "the first pair is one interval apart");
    await clock.advance(1);
    const [first, alongside] = await both;
    assert.deepEqual([first.previous, first.latest, first.seconds, reads], [1, 2, 0.1, 2]);
    assert.equal(alongside, first, "a concurrent first request shares the wait");
    assert.ok(source.running);
    assert.equal(clock.pending, 0, "no timer between requests");
    // Under half an interval later: the same interval, nothing read.
    await clock.advance(49);
    assert.equal((await source.interval()).latest, 2);
    assert.equal(reads, 2);
    // Later requests take one snapshot, at once, ending the interval at the request.
    await clock.advance(201);
    const later = source.interval();
    assert.equal(await settled(later), true, "answered without waiting");
    assert.deepEqual([(await later).previous, (await later).latest, reads], [2, 3, 3]);
    assert.equal((await later).seconds, 0.25, "the time since the previous snapshot");
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: nothing is read between requests", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 30, clock }, "demand");
  try {
    const first = source.interval();
    await clock.advance(30);
    await first;
    await clock.advance(10_000);
    assert.equal(reads, 2, "no snapshot without a request");
    assert.equal((await source.interval()).latest, 3);
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: after the idle time the next request starts afresh", async () => {
  const clock = new VirtualClock();
  let reads = 0;
  const source = new SampledSource(
    () => ++reads,
    { intervalMs: 40, idleStopMs: 100, clock },
    "demand",
  );
  try {
    const first = source.interval();
    await clock.advance(40);
    await first;
    await clock.advance(60);
    assert.equal(source.running, true, "exactly the idle time after the request: not idle yet");
    await clock.advance(1);
    assert.equal(source.running, false, "idle: no longer sampling");
    const fresh = source.interval();
    await clock.advance(39);
    assert.equal(await settled(fresh), false, "waits for a new first interval");
    await clock.advance(1);
    const interval = await fresh;
    assert.deepEqual([interval.previous, interval.latest], [3, 4], "not an average over idle");
    assert.equal(interval.seconds, 0.04);
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: a failing snapshot fails the request, the next one starts afresh", async () => {
  const clock = new VirtualClock();
  let fail = false;
  let reads = 0;
  const source = new SampledSource(
    () => {
      if (fail) throw new Error('Cannot read "/proc/diskstats": no such file');
      return ++reads;
    },
    { intervalMs: 30, clock },
    "demand",
  );
  try {
    const first = source.interval();
    await clock.advance(30);
    await first;
    fail = true;
    await clock.advance(40);
    await assert.rejects(source.interval(), /no such file/);
    assert.equal(source.running, false);
    fail = false;
    const restarted = source.interval();
    await clock.advance(30);
    assert.deepEqual([(await restarted).previous, (await restarted).latest], [3, 4]);
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: a failure while requests wait fails them; stop() fails them too", async () => {
  const clock = new VirtualClock();
  let fail = false;
  const source = new SampledSource(
    () => {
      if (fail) throw new Error("gone");
      return 1;
    },
    { intervalMs: 50, clock },
    "demand",
  );
  const waiting = assert.rejects(source.interval(), /gone/);
  fail = true;
  await clock.advance(50);
  await waiting;
  fail = false;
  const stopped = source.interval();
  source.stop(new Error("closing"));
  await assert.rejects(stopped, /closing/);
  assert.equal(source.running, false);
  assert.equal(clock.pending, 0, "the pending snapshot's timer is cleared");
});

Deno.test("sampler: the real clock by default, and its readings are the process's", async () => {
  const before = performance.now();
  const wallBefore = Date.now();
  const clock: Clock = REAL_CLOCK;
  assert.ok(clock.now() >= before && clock.wallNow() >= wallBefore);
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 1 });
  try {
    const interval = await source.interval();
    assert.deepEqual([interval.previous, interval.latest], [1, 2]);
    assert.ok(interval.seconds > 0, `${interval.seconds} s`);
    assert.ok(interval.takenAt >= wallBefore);
  } finally {
    source.stop();
  }
});

/** A reader of a fixture tree that counts the files it opens. */
class CountingProcFs extends ProcFs {
  reads = 0;
  override readTextSync(path: string): string {
    this.reads++;
    return super.readTextSync(path);
  }
  override tryReadTextSync(path: string): string | undefined {
    this.reads++;
    return super.tryReadTextSync(path);
  }
}

function fixtureRoot(tree: string): string {
  return new URL(`./fixtures/${tree}`, import.meta.url).pathname;
}

/** What the test uses of a source, whatever its snapshot type. */
interface Sampled {
  interval(): Promise<unknown>;
  stop(): void;
}

type Create = (fs: ProcFs, clock: Clock) => Sampled;
const SYSTEM_SOURCES: [string, string, Create][] = [
  ["/proc/stat", "x86_64-vm", (fs, clock) => procStatSource(fs, { intervalMs: 30, clock })],
  ["/proc/interrupts", "x86_64-vm", (fs, clock) => interruptsSource(fs, { intervalMs: 30, clock })],
  ["/proc/softirqs", "x86_64-vm", (fs, clock) => softirqsSource(fs, { intervalMs: 30, clock })],
  ["/proc/diskstats", "x86_64-vm", (fs, clock) => diskstatsSource(fs, { intervalMs: 30, clock })],
  ["/proc/vmstat", "x86_64-vm", (fs, clock) => vmCountersSource(fs, { intervalMs: 30, clock })],
  ["cgroup v2 counters", "cgroup-v2", (fs, clock) => cgroupSource(fs, { intervalMs: 30, clock })],
];

for (const [name, tree, create] of SYSTEM_SOURCES) {
  Deno.test(`sampler: ${name}, read on demand, never between requests`, async () => {
    const clock = new VirtualClock();
    const fs = new CountingProcFs({ root: fixtureRoot(tree), maxFileBytes: 1 << 24 });
    const source = create(fs, clock);
    try {
      const first = source.interval();
      await clock.advance(30);
      await first;
      const perSnapshot = fs.reads / 2;
      assert.ok(perSnapshot >= 1, `${fs.reads} reads for the first pair`);
      await clock.advance(10_000);
      assert.equal(fs.reads, perSnapshot * 2, "nothing read while nobody asks");
      assert.equal(clock.pending, 0, "no timer while nobody asks");
      await source.interval();
      assert.equal(fs.reads, perSnapshot * 3, "one snapshot for the next request");
    } finally {
      source.stop();
    }
  });
}
