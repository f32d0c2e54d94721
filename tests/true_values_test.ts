// Issue 12, "True values everywhere": every figure is the kernel's own, over the same interval,
// whatever happens between two samples (a thread exits, a process execs or changes its user, a
// counter wraps). Each test fails on the code before the fix it names.

import assert from "node:assert/strict";
import {
  counterDelta,
  counterIncrease,
  counterRate,
  type CounterWidth,
} from "../collectors/counter.ts";
import { irqInfoRates } from "../collectors/irq_info.ts";
import { mpstatInterruptsText } from "../collectors/mpstat.ts";
import { ProcFs } from "../collectors/proc_fs.ts";
import { parseProcStat, type ProcStat } from "../collectors/proc_stat.ts";
import { type VmCounters, vmstatValues } from "../collectors/vmstat.ts";

// ---------------------------------------------------------------------------------------------
// Item 6: one counter helper, one answer.

Deno.test("counter: width-aware increases, restarts and rates (table)", () => {
  const cases: [
    name: string,
    previous: number | undefined,
    latest: number | undefined,
    width: CounterWidth,
    increase: number | undefined,
  ][] = [
    ["growth", 100, 350, 32, 250],
    ["unchanged", 42, 42, 64, 0],
    ["missing previous", undefined, 7, 64, undefined],
    ["missing latest", 7, undefined, "monotonic", undefined],
    ["32-bit wrap", 2 ** 32 - 296, 204, 32, 500],
    ["32-bit wrap from the last value", 2 ** 32 - 1, 0, 32, 1],
    ["64-bit sum of 32-bit parts drops by 2^32", 14095238541, 9800275788, 32, 4543],
    ["two 32-bit wraps in one sum", 3 * 2 ** 32 + 10, 2 ** 32 + 30, 32, 20],
    ["32-bit reset (half the range or more)", 7815, 3, 32, undefined],
    ["32-bit reading of a sum stepping back", 2 ** 40, 2 ** 40 - 5, 32, undefined],
    ["64-bit counter: a decrease is a restart", 5_000_000_000, 12, 64, undefined],
    ["64-bit counter above 2^32 grows", 2 ** 40, 2 ** 40 + 5410, 64, 5410],
    ["monotonic restart", 10_000, 3, "monotonic", undefined],
    ["monotonic growth", 10_000, 10_400, "monotonic", 400],
    ["beyond 2^53: double spacing, no wrap", 2 ** 60, 2 ** 60 + 4096, 64, 4096],
  ];
  for (const [name, previous, latest, width, increase] of cases) {
    assert.equal(counterIncrease(previous, latest, width), increase, name);
    assert.equal(counterDelta(previous, latest, width), increase ?? 0, name);
    assert.equal(counterRate(previous, latest, width, 2), (increase ?? 0) / 2, name);
    assert.equal(counterRate(previous, latest, width, 0), 0, `${name}, no time`);
  }
});

function procStatWith(interrupts: number, contextSwitches: number): ProcStat {
  return parseProcStat(
    `cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n` +
      `intr ${interrupts} 0 0\nctxt ${contextSwitches}\nbtime 1\nprocesses 10\n` +
      `procs_running 2\nprocs_blocked 0\nsoftirq 0 0\n`,
  );
}

Deno.test("counter: after a 32-bit wrap of the intr total, IrqInfo, Vmstat and Mpstat-I agree", () => {
  // The x86 intr total is a 64-bit sum in which 32-bit per-CPU counters (arch_irq_stat_cpu)
  // take part: when one wraps, the total drops by 2^32 minus what happened in the interval.
  const previous = procStatWith(14_095_238_541, 1_000);
  const latest = procStatWith(14_095_238_541 - 2 ** 32 + 10_000, 3_000);
  const stat = { previous, latest, seconds: 2, takenAt: 0 };
  const vm: VmCounters = { pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 0 };
  const irqInfo = irqInfoRates(stat).interrupts;
  const vmstat = vmstatValues(
    { stat, vm: { previous: vm, latest: vm, seconds: 2, takenAt: 0 }, meminfo: new Map() },
    { pageBytes: 4096 },
  ).interruptsPerSecond;
  assert.equal(irqInfo, 5000);
  assert.equal(vmstat, 5000, "GetCmdVmstat's `in` read 0 after the wrap");
  const table = { cpus: [0], lines: [] };
  const mpstatI = mpstatInterruptsText(
    new ProcFs({ root: "/nonexistent", maxFileBytes: 1 << 20 }),
    {
      procStat: stat,
      interrupts: { previous: table, latest: table, seconds: 2, takenAt: 0 },
      softirqs: { previous: table, latest: table, seconds: 2, takenAt: 0 },
    },
  );
  assert.match(mpstatI, /\s+all\s+5000\.00\n/, mpstatI);
});
