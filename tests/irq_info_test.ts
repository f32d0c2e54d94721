/**
 * Tests of `GetCmdIrqInfo` (docs/protocol.md 3.11): the exact line, rates from /proc/stat's `intr`
 * and `softirq` totals that stay right above 2^31 and 2^32 and across 32-bit wraps, golden texts
 * of fixture trees and of one interval, failures, and a live run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import { formatIrqInfo, irqInfoCollector, irqInfoRates } from "../methods/irq_info.ts";
import { procStatSource } from "../sampling/proc_stat.ts";
import { parseProcStat, type ProcStat } from "../proc/stat.ts";
import { ProcFs } from "../proc/fs.ts";
import { readInterruptTotals, untilGrown } from "./helpers/kernel_counters.ts";
import { flushPromises, VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** The 3.11 line: two whole numbers, a space before the newline. */
const IRQ_INFO_LINE = /^irq:(\d+)\/s softirq:(\d+)\/s \n$/;

function fixtureText(tree: string, path: string): string {
  return Deno.readTextFileSync(fileURLToPath(new URL(`${tree}${path}`, FIXTURES)));
}

function stat(interrupts: number, softirqs: number): ProcStat {
  return {
    cpus: new Map(),
    interrupts,
    softirqs,
    contextSwitches: 0,
    forks: 0,
    procsRunning: 0,
    procsBlocked: 0,
    bootTime: 0,
  };
}

Deno.test("formatIrqInfo writes the original's line, space before the newline included", () => {
  assert.equal(formatIrqInfo({ interrupts: 1234, softirqs: 567 }), "irq:1234/s softirq:567/s \n");
  assert.equal(formatIrqInfo({ interrupts: 0, softirqs: 0 }), "irq:0/s softirq:0/s \n");
  // The original's %d printed these negative; here they stay whole and positive.
  assert.equal(
    formatIrqInfo({ interrupts: 2 ** 31, softirqs: 5_000_000_000 }),
    "irq:2147483648/s softirq:5000000000/s \n",
  );
});

Deno.test("irqInfoRates: per second over the interval, whole numbers, 64-bit safe", () => {
  const cases: [
    name: string,
    previous: [number, number],
    latest: [number, number],
    seconds: number,
    expected: [number, number],
  ][] = [
    ["one second", [105274, 51542], [105440, 51664], 1, [166, 122]],
    ["rounded to whole numbers", [0, 0], [1001, 3], 1.002, [999, 3]],
    ["half a second doubles", [10, 10], [60, 35], 0.5, [100, 50]],
    ["totals above 2^32", [2 ** 40, 2 ** 36], [2 ** 40 + 5410, 2 ** 36 + 4543], 1, [5410, 4543]],
    ["a rate above 2^31 a second", [0, 0], [3_000_000_000, 2 ** 32 + 7], 1, [3e9, 2 ** 32 + 7]],
    ["totals near 2^53", [2 ** 53 - 1000, 2 ** 52], [2 ** 53, 2 ** 52 + 1], 1, [1000, 1]],
    ["a 32-bit kernel's total wraps", [2 ** 32 - 100, 2 ** 32 - 10], [50, 20], 1, [150, 30]],
    [
      "the 64-bit softirq sum drops when a per-CPU counter wraps",
      [61234567890, 14095238541],
      [
        61234573300,
        9800275788,
      ],
      1,
      [5410, 4543],
    ],
    ["a total that steps back is no increase", [500, 500], [400, 499], 1, [0, 0]],
    ["an interval of no time", [0, 0], [10, 10], 0, [0, 0]],
  ];
  for (const [name, previous, latest, seconds, [interrupts, softirqs]] of cases) {
    assert.deepEqual(
      irqInfoRates({ previous: stat(...previous), latest: stat(...latest), seconds }),
      { interrupts, softirqs },
      name,
    );
  }
});

Deno.test("GetCmdIrqInfo over the offline-CPU tree's interval matches interval/expected", () => {
  const rates = irqInfoRates({
    previous: parseProcStat(fixtureText("aarch64-offline-cpu", "/proc/stat")),
    latest: parseProcStat(fixtureText("aarch64-offline-cpu", "/interval/proc/stat")),
    seconds: 1,
  });
  const text = formatIrqInfo(rates);
  assert.equal(text, fixtureText("aarch64-offline-cpu", "/interval/expected/GetCmdIrqInfo.txt"));
  assert.equal(text, "irq:5410/s softirq:4543/s \n");
});

/** Runs the collector once over a tree on a virtual clock; the source is stopped afterwards. */
async function collectTree(root: string): Promise<string> {
  const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const procStat = procStatSource(fs, { intervalMs: 1000, clock });
  try {
    const text = irqInfoCollector({ procStat }).collect({ fs, methods: ["GetCmdIrqInfo"] });
    text.catch(() => {}); // awaited below; a failure is the caller's to check
    await clock.advance(1000);
    return await text;
  } finally {
    procStat.stop();
  }
}

for (const tree of ["x86_64-vm", "aarch64-offline-cpu", "synthetic-processes"]) {
  Deno.test(`GetCmdIrqInfo of ${tree} matches expected/GetCmdIrqInfo.txt`, async () => {
    const text = await collectTree(fileURLToPath(new URL(tree, FIXTURES)));
    assert.equal(text, fixtureText(tree, "/expected/GetCmdIrqInfo.txt"));
    assert.equal(text, "irq:0/s softirq:0/s \n", "a static tree has no interrupts");
  });
}

Deno.test("GetCmdIrqInfo fails clearly without /proc/stat and probes it", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-irqinfo-" });
  try {
    await Deno.mkdir(`${root}/proc`);
    const missing = (error: unknown) =>
      error instanceof MethodFailure &&
      error.message === 'Cannot read "/proc/stat": no such file (this kernel does not provide it)';
    await assert.rejects(collectTree(root), missing);
    const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
    const procStat = procStatSource(fs, { intervalMs: 50 });
    const collector = irqInfoCollector({ procStat });
    await assert.rejects(collector.probe!({ fs, methods: [] }), missing);
    await Deno.writeTextFile(`${root}/proc/stat`, "intr 5 0\nsoftirq 2 0\n");
    assert.equal(await collector.probe!({ fs, methods: [] }), undefined);
    assert.equal(procStat.running, false, "probing does not start sampling");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("GetCmdIrqInfo: the live machine's interrupt rates are /proc/stat's over the interval; a later request is answered at once", async () => {
  const fs = new ProcFs({ maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const procStat = procStatSource(fs, { intervalMs: 1000, clock });
  try {
    const collector = irqInfoCollector({ procStat });
    const context = { fs, methods: ["GetCmdIrqInfo"] };
    // The first snapshot is taken inside the call, the second when the clock reaches one
    // second: the test reads the same totals around each.
    const before0 = readInterruptTotals();
    const first = collector.collect(context);
    const after0 = readInterruptTotals();
    await untilGrown(() => readInterruptTotals().interrupts, 10);
    const before1 = readInterruptTotals();
    await clock.advance(1000);
    const after1 = readInterruptTotals();
    const match = IRQ_INFO_LINE.exec(await first);
    assert.ok(match !== null, JSON.stringify(first));
    // Over exactly one second, a rate is the counter's increase.
    for (const [index, name] of [[1, "interrupts"], [2, "softirqs"]] as const) {
      const low = before1[name] - after0[name];
      const high = after1[name] - before0[name];
      const rate = Number(match[index]);
      assert.ok(rate >= low && rate <= high, `${name}: ${rate}/s, kernel ${low}..${high}`);
    }
    assert.ok(Number(match[1]) >= 10, "the interrupts the test waited for are counted");
    // Under half an interval later: answered from the same interval, the clock standing still.
    await clock.advance(499);
    const again = collector.collect(context);
    let answered = false;
    again.then(() => answered = true);
    await flushPromises();
    assert.ok(answered, "a later request is answered from the latest interval, without waiting");
    assert.equal(await again, await first);
  } finally {
    procStat.stop();
  }
});
