// GetCmdVmstat: the /proc/vmstat parser, procps' arithmetic over an interval, its column widths,
// the golden line of the x86_64-vm tree, and the live line (17 numeric tokens under procps'
// own headers).

import assert from "node:assert/strict";
import { MethodFailure } from "../failure.ts";
import { procStatSource } from "../sampling/proc_stat.ts";
import { parseProcStat, type ProcStat } from "../proc/stat.ts";
import { ProcFs } from "../proc/fs.ts";
import type { Interval } from "../sampling/sampler.ts";
import {
  formatVmstat,
  VMSTAT_COLUMN_HEADER,
  VMSTAT_GROUP_HEADER,
  vmstatCollector,
  vmstatCpuShares,
  type VmstatValues,
  vmstatValues,
} from "../methods/vmstat.ts";
import { parseVmCounters } from "../proc/vmstat.ts";
import { vmCountersSource } from "../sampling/vm_counters.ts";
import { onPath } from "./helpers/skip.ts";
import { VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** A /proc/stat reading with the given `cpu` line values and system counters. */
function procStat(
  cpu: [
    user: number,
    nice: number,
    system: number,
    idle: number,
    iowait: number,
    ...rest: number[],
  ],
  counters: { intr?: number; ctxt?: number; running?: number; blocked?: number } = {},
): ProcStat {
  const padded = [...cpu, 0, 0, 0, 0, 0].slice(0, 10);
  return parseProcStat(
    `cpu  ${padded.join(" ")}\ncpu0 ${padded.join(" ")}\nintr ${counters.intr ?? 0} 0 1\n` +
      `ctxt ${counters.ctxt ?? 0}\nprocs_running ${counters.running ?? 1}\n` +
      `procs_blocked ${counters.blocked ?? 0}\n`,
  );
}

function interval<T>(previous: T, latest: T, seconds: number): Interval<T> {
  return { previous, latest, seconds, takenAt: 0 };
}

/** The value line's tokens, each of which must be a non-negative integer. */
function valueTokens(text: string): number[] {
  const lines = text.split("\n");
  assert.equal(lines.length, 4, "three lines, each ending with a newline");
  assert.equal(lines[3], "");
  const tokens = lines[2]!.trim().split(/\s+/);
  for (const token of tokens) assert.match(token, /^\d+$/, `${JSON.stringify(lines[2])}`);
  return tokens.map(Number);
}

Deno.test("parseVmCounters: the four counters, absent ones 0, the rest ignored", () => {
  const cases: [name: string, text: string, expected: ReturnType<typeof parseVmCounters>][] = [
    [
      "a modern kernel",
      "nr_free_pages 6071441\npgpgin 721401\npgpgout 271552\npswpin 3\npswpout 17\npgfault 9\n",
      { pgpgin: 721401, pgpgout: 271552, pswpin: 3, pswpout: 17 },
    ],
    [
      "a kernel without swap counters",
      "pgpgin 10\npgpgout 20\n",
      { pgpgin: 10, pgpgout: 20, pswpin: 0, pswpout: 0 },
    ],
    ["empty", "", { pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 0 }],
    [
      "garbage values and prototype names",
      "pgpgin x\nconstructor 5\ntoString 1\npswpout 4\n",
      { pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 4 },
    ],
  ];
  for (const [name, text, expected] of cases) {
    assert.deepEqual(parseVmCounters(text), expected, name);
  }
});

Deno.test("vmstatCpuShares: procps' integer rounding and groups of states", () => {
  const cases: {
    name: string;
    from: Parameters<typeof procStat>[0];
    to: Parameters<typeof procStat>[0];
    expected: [number, number, number, number, number];
  }[] = [
    {
      name: "user+nice, system+irq+softirq, idle, iowait, steal",
      // user nice system idle iowait irq softirq steal guest guest_nice
      from: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      to: [10, 5, 8, 160, 6, 1, 1, 9, 4, 0],
      expected: [8, 5, 80, 3, 5], // of 200: 15 → 7.5 → 8, 10 → 5, 160, 6, 9 → 4.5 → 5
    },
    {
      name: "shares need not add up to 100",
      from: [0, 0, 0, 0, 0],
      to: [1, 0, 1, 1, 0],
      expected: [33, 33, 33, 0, 0],
    },
    {
      name: "no ticks at all reads 100 % idle",
      from: [5, 5, 5, 5, 5],
      to: [5, 5, 5, 5, 5],
      expected: [0, 0, 100, 0, 0],
    },
    {
      name: "a counter that went back counts 0",
      from: [100, 0, 0, 50, 0],
      to: [90, 0, 0, 150, 0],
      expected: [0, 0, 100, 0, 0],
    },
  ];
  for (const { name, from, to, expected } of cases) {
    const shares = vmstatCpuShares(procStat(from), procStat(to));
    assert.deepEqual(
      [shares.user, shares.system, shares.idle, shares.iowait, shares.steal],
      expected,
      name,
    );
  }
});

Deno.test("vmstatValues: rates over the interval, memory in KiB, r without the reader", () => {
  const stat = interval(
    procStat([0, 0, 0, 0, 0], { intr: 1000, ctxt: 5000 }),
    procStat([50, 0, 50, 100, 0], { intr: 1999, ctxt: 8001, running: 3, blocked: 2 }),
    2,
  );
  const vm = interval(
    { pgpgin: 100, pgpgout: 1000, pswpin: 10, pswpout: 0 },
    { pgpgin: 4101, pgpgout: 1000, pswpin: 13, pswpout: 1 },
    4,
  );
  const meminfo = new Map([
    ["MemFree", 2000],
    ["Buffers", 30],
    ["Cached", 400],
    ["SReclaimable", 5],
    ["SwapTotal", 1000],
    ["SwapFree", 900],
  ]);
  assert.deepEqual(
    vmstatValues({ stat, vm, meminfo }, { pageBytes: 4096 }),
    {
      running: 2,
      blocked: 2,
      swapUsed: 100,
      free: 2000,
      buffers: 30,
      cache: 405,
      swapIn: 3, // 3 pages × 4 KiB ÷ 4 s
      swapOut: 1, // 4 KiB ÷ 4 s
      blocksIn: 1000, // 4001 ÷ 4 rounds down
      blocksOut: 0,
      interruptsPerSecond: 500, // 999 ÷ 2 = 499.5 rounds up
      contextSwitchesPerSecond: 1501,
      user: 25,
      system: 25,
      idle: 50,
      iowait: 0,
      steal: 0,
    } satisfies VmstatValues,
  );
  const quiet = vmstatValues({
    stat: interval(procStat([0, 0, 0, 0, 0]), procStat([0, 0, 0, 0, 0], { running: 0 }), 0),
    vm: interval(vm.latest, vm.previous, 1),
    meminfo: new Map(),
  }, { pageBytes: 65536 });
  assert.equal(quiet.running, 0, "never negative");
  assert.equal(quiet.interruptsPerSecond, 0, "a zero interval has no rate");
  assert.equal(quiet.blocksIn, 0, "counters that went back count 0");
  assert.equal(quiet.swapUsed, 0);
});

Deno.test("formatVmstat: procps' headers and widths; wide values push the line right", () => {
  const values: VmstatValues = {
    running: 2,
    blocked: 0,
    swapUsed: 0,
    free: 24042,
    buffers: 23088,
    cache: 442696,
    swapIn: 0,
    swapOut: 0,
    blocksIn: 68715,
    blocksOut: 8220,
    interruptsPerSecond: 336,
    contextSwitchesPerSecond: 1649,
    user: 9,
    system: 22,
    idle: 69,
    iowait: 1,
    steal: 0,
  };
  const text = formatVmstat(values);
  assert.equal(
    text,
    "procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----\n" +
      " r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st\n" +
      " 2  0      0  24042  23088 442696    0    0 68715  8220  336 1649  9 22 69  1  0\n",
  );
  // With every value inside its width, each column ends where its header ends.
  const ends = (line: string) => [...line.matchAll(/\S+/g)].map((m) => m.index! + m[0].length);
  assert.deepEqual(ends(text.split("\n")[2]!), ends(VMSTAT_COLUMN_HEADER));
  const wide = formatVmstat({ ...values, free: 24316908, idle: 100 });
  assert.equal(
    wide.split("\n")[2],
    " 2  0      0 24316908  23088 442696    0    0 68715  8220  336 1649  9 22 100  1  0",
  );
  assert.equal(valueTokens(wide).length, 17);
});

Deno.test("golden: GetCmdVmstat of x86_64-vm equals expected/GetCmdVmstat.txt", async () => {
  const root = new URL("x86_64-vm/", FIXTURES).pathname.replace(/\/$/, "");
  const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const procStatSampler = procStatSource(fs, { intervalMs: 1000, clock });
  const vmstat = vmCountersSource(fs, { intervalMs: 1000, clock });
  const collector = vmstatCollector({ procStat: procStatSampler, vmstat, pageBytes: 4096 });
  try {
    const pending = collector.collect({ fs, methods: [] });
    await clock.advance(1000);
    const text = await pending;
    assert.equal(text, Deno.readTextFileSync(`${root}/expected/GetCmdVmstat.txt`));
    assert.equal(valueTokens(text).length, 17);
  } finally {
    // The sources are the test's: collectors never stop one.
    procStatSampler.stop();
    vmstat.stop();
  }
});

Deno.test("GetCmdVmstat: a tree without /proc/vmstat is a MethodFailure naming it", async () => {
  const root = Deno.makeTempDirSync();
  Deno.mkdirSync(`${root}/proc`);
  Deno.writeTextFileSync(`${root}/proc/stat`, "cpu  1 2 3 4 5 0 0 0 0 0\nprocs_running 1\n");
  Deno.writeTextFileSync(`${root}/proc/meminfo`, "MemFree: 1 kB\n");
  const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
  const procStat = procStatSource(fs, { intervalMs: 20 });
  const collector = vmstatCollector({
    procStat,
    vmstat: vmCountersSource(fs, { intervalMs: 20 }),
    pageBytes: 4096,
  });
  try {
    await assert.rejects(
      collector.collect({ fs, methods: [] }),
      (error) => error instanceof MethodFailure && error.message.includes('"/proc/vmstat"'),
    );
  } finally {
    procStat.stop(); // it read /proc/stat and waits for its second snapshot
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test({
  name: "live: one line of 17 numeric tokens under the headers procps prints",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const fs = new ProcFs({ maxFileBytes: 1 << 24 });
    const clock = new VirtualClock();
    const procStat = procStatSource(fs, { intervalMs: 1000, clock });
    const vmstat = vmCountersSource(fs, { intervalMs: 1000, clock });
    const collector = vmstatCollector({ procStat, vmstat, pageBytes: 4096 });
    const memFree = () =>
      Number(/^MemFree:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/meminfo"))![1]);
    try {
      const pending = collector.collect({ fs, methods: [] });
      const freeBefore = memFree();
      await clock.advance(1000);
      const text = await pending;
      const freeAfter = memFree();
      const [group, columns] = text.split("\n");
      assert.equal(group, VMSTAT_GROUP_HEADER);
      assert.equal(columns, VMSTAT_COLUMN_HEADER);
      const values = valueTokens(text);
      assert.equal(values.length, 17);
      const [us, sy, id, wa, st] = values.slice(12);
      const total = us! + sy! + id! + wa! + st!;
      assert.ok(total >= 97 && total <= 103, `CPU shares add up to about 100: ${total}`);
      // MemFree is read between the two readings; memory may move a little meanwhile.
      const low = Math.min(freeBefore, freeAfter);
      const high = Math.max(freeBefore, freeAfter);
      assert.ok(
        values[3]! >= low * 0.9 && values[3]! <= high * 1.1,
        `free ${values[3]} ≈ ${low}..${high}`,
      );
      if (!onPath("vmstat")) {
        console.warn("skipped: the comparison with procps' headers: vmstat is not installed");
        return;
      }
      const procps = new TextDecoder().decode(new Deno.Command("vmstat").outputSync().stdout);
      // Same header lines as the real procps (3.3 and 4.0 print the same two).
      assert.deepEqual(procps.split("\n").slice(0, 2), [group, columns]);
    } finally {
      procStat.stop();
      vmstat.stop();
    }
  },
});
