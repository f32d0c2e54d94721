import assert from "node:assert/strict";
import { cgroupSource } from "../collectors/cgtop.ts";
import { interruptsSource, softirqsSource } from "../collectors/interrupts.ts";
import { diskstatsSource } from "../collectors/iostat.ts";
import { ProcFs } from "../collectors/proc_fs.ts";
import { procStatSource } from "../collectors/proc_stat.ts";
import { SampledSource } from "../collectors/sampler.ts";
import { vmCountersSource } from "../collectors/vmstat.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("sampler: the first request waits one interval, later ones are answered at once", async () => {
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 100, idleStopMs: 10_000 });
  try {
    assert.equal(source.running, false);
    const started = performance.now();
    const first = await source.interval();
    const waited = performance.now() - started;
    assert.ok(waited >= 90, `first request waited ${waited} ms`);
    assert.deepEqual([first.previous, first.latest], [1, 2]);
    assert.ok(first.seconds >= 0.09 && first.seconds < 1, `${first.seconds} s`);
    const immediate = performance.now();
    const second = await source.interval();
    assert.ok(performance.now() - immediate < 20);
    assert.equal(second.latest, first.latest);
    await sleep(250);
    const later = await source.interval();
    assert.ok(later.latest >= 4, `latest snapshot ${later.latest} after 250 ms more`);
    assert.equal(later.previous, later.latest - 1);
  } finally {
    source.stop();
  }
});

Deno.test("sampler: concurrent first requests share one wait and one pair of snapshots", async () => {
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 50 });
  try {
    const intervals = await Promise.all([source.interval(), source.interval(), source.interval()]);
    assert.equal(reads, 2);
    for (const interval of intervals) {
      assert.deepEqual([interval.previous, interval.latest], [1, 2]);
    }
  } finally {
    source.stop();
  }
});

Deno.test("sampler: stops after the idle time without requests, restarts on demand", async () => {
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 30, idleStopMs: 100 });
  try {
    await source.interval();
    assert.equal(source.running, true);
    await sleep(300);
    assert.equal(source.running, false);
    const readsWhenStopped = reads;
    await sleep(100);
    assert.equal(reads, readsWhenStopped, "no snapshots while stopped");
    const restarted = await source.interval();
    assert.equal(restarted.previous, readsWhenStopped + 1, "a fresh pair after a restart");
  } finally {
    source.stop();
  }
});

Deno.test("sampler: a failing snapshot fails the waiting requests and stops the source", async () => {
  let fail = true;
  const source = new SampledSource(() => {
    if (fail) throw new Error('Cannot read "/proc/stat": no such file');
    return 1;
  }, { intervalMs: 30 });
  try {
    await assert.rejects(source.interval(), /no such file/);
    assert.equal(source.running, false);
    fail = false;
    const interval = await source.interval();
    assert.equal(interval.latest, 1);
  } finally {
    source.stop();
  }
});

Deno.test("sampler: sources of one interval share a clock; a late starter waits for a full-enough interval", async () => {
  const stamps: Record<string, number[]> = { a: [], b: [] };
  const a = new SampledSource(() => stamps.a!.push(performance.now()), { intervalMs: 200 });
  const b = new SampledSource(() => stamps.b!.push(performance.now()), { intervalMs: 200 });
  try {
    await a.interval();
    await sleep(150); // b starts 50 ms before the shared tick
    const started = performance.now();
    const interval = await b.interval();
    assert.ok(interval.seconds >= 0.1, `b's first interval is ${interval.seconds} s, not a sliver`);
    assert.ok(performance.now() - started >= 100);
    // From then on both are read in the same tick, back to back.
    await sleep(450);
    const lastA = stamps.a!.at(-1)!;
    const lastB = stamps.b!.at(-1)!;
    assert.ok(Math.abs(lastA - lastB) < 20, `a at ${lastA}, b at ${lastB}`);
  } finally {
    a.stop();
    b.stop();
  }
});

Deno.test("sampler: intervalWhere waits until both snapshots have what the caller needs", async () => {
  let reads = 0;
  let wanted = false;
  const source = new SampledSource(() => ({ n: ++reads, extra: wanted ? reads : undefined }), {
    intervalMs: 40,
  });
  try {
    const plain = await source.interval();
    assert.equal(plain.latest.extra, undefined);
    wanted = true;
    const rich = await source.intervalWhere((interval) =>
      interval.previous.extra !== undefined && interval.latest.extra !== undefined
    );
    assert.ok(rich.previous.extra !== undefined && rich.latest.extra !== undefined);
    assert.ok(rich.latest.n >= plain.latest.n + 2, "two new snapshots were needed");
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: the first request waits one interval, later ones read at most once", async () => {
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 100 }, "demand");
  try {
    const started = performance.now();
    const [first, alongside] = await Promise.all([source.interval(), source.interval()]);
    assert.ok(performance.now() - started >= 90, "the first pair is one interval apart");
    assert.deepEqual([first.previous, first.latest, reads], [1, 2, 2]);
    assert.equal(alongside, first, "a concurrent first request shares the wait");
    assert.ok(source.running);
    // Under half an interval later: the same interval, nothing read.
    assert.equal((await source.interval()).latest, 2);
    assert.equal(reads, 2);
    // Later requests take one snapshot, at once, ending the interval at the request.
    await sleep(250);
    const asked = performance.now();
    const later = await source.interval();
    assert.ok(performance.now() - asked < 20, "answered without waiting");
    assert.deepEqual([later.previous, later.latest, reads], [2, 3, 3]);
    assert.ok(later.seconds >= 0.24, `${later.seconds} s since the previous snapshot`);
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: nothing is read between requests", async () => {
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 30 }, "demand");
  try {
    await source.interval();
    await sleep(200);
    assert.equal(reads, 2, "no snapshot without a request");
    assert.equal((await source.interval()).latest, 3);
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: after the idle time the next request starts afresh", async () => {
  let reads = 0;
  const source = new SampledSource(() => ++reads, { intervalMs: 40, idleStopMs: 100 }, "demand");
  try {
    await source.interval();
    await sleep(200);
    assert.equal(source.running, false, "idle: no longer sampling");
    const started = performance.now();
    const fresh = await source.interval();
    assert.ok(performance.now() - started >= 35, "waited for a new first interval");
    assert.deepEqual([fresh.previous, fresh.latest], [3, 4], "not an average over the idle time");
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: a failing snapshot fails the request, the next one starts afresh", async () => {
  let fail = false;
  let reads = 0;
  const source = new SampledSource(
    () => {
      if (fail) throw new Error('Cannot read "/proc/diskstats": no such file');
      return ++reads;
    },
    { intervalMs: 30 },
    "demand",
  );
  try {
    await source.interval();
    fail = true;
    await sleep(40);
    await assert.rejects(source.interval(), /no such file/);
    assert.equal(source.running, false);
    fail = false;
    const restarted = await source.interval();
    assert.deepEqual([restarted.previous, restarted.latest], [3, 4]);
  } finally {
    source.stop();
  }
});

Deno.test("sampler on demand: a failure while requests wait fails them; stop() fails them too", async () => {
  let fail = false;
  const source = new SampledSource(
    () => {
      if (fail) throw new Error("gone");
      return 1;
    },
    { intervalMs: 50 },
    "demand",
  );
  const waiting = source.interval();
  fail = true;
  await assert.rejects(waiting, /gone/);
  fail = false;
  const stopped = source.interval();
  source.stop(new Error("closing"));
  await assert.rejects(stopped, /closing/);
  assert.equal(source.running, false);
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

const SYSTEM_SOURCES: [string, string, (fs: ProcFs) => Sampled][] = [
  ["/proc/stat", "x86_64-vm", (fs) => procStatSource(fs, { intervalMs: 30 })],
  ["/proc/interrupts", "x86_64-vm", (fs) => interruptsSource(fs, { intervalMs: 30 })],
  ["/proc/softirqs", "x86_64-vm", (fs) => softirqsSource(fs, { intervalMs: 30 })],
  ["/proc/diskstats", "x86_64-vm", (fs) => diskstatsSource(fs, { intervalMs: 30 })],
  ["/proc/vmstat", "x86_64-vm", (fs) => vmCountersSource(fs, { intervalMs: 30 })],
  ["cgroup v2 counters", "cgroup-v2", (fs) => cgroupSource(fs, { intervalMs: 30 })],
];

for (const [name, tree, create] of SYSTEM_SOURCES) {
  Deno.test(`sampler: ${name}, read on demand, never between requests`, async () => {
    const fs = new CountingProcFs({ root: fixtureRoot(tree), maxFileBytes: 1 << 24 });
    const source = create(fs);
    try {
      await source.interval();
      const perSnapshot = fs.reads / 2;
      assert.ok(perSnapshot >= 1, `${fs.reads} reads for the first pair`);
      await sleep(200);
      assert.equal(fs.reads, perSnapshot * 2, "nothing read while nobody asks");
      await source.interval();
      assert.equal(fs.reads, perSnapshot * 3, "one snapshot for the next request");
    } finally {
      source.stop();
    }
  });
}
