/**
 * Tests of `GetCmdMpstat` and `GetCmdMpstat-I`: the /proc/interrupts and /proc/softirqs parser
 * on x86, ARMv7 and AArch64 layouts, counter increases (32-bit wraps, resets, 64-bit sums),
 * mpstat's percentages, the exact layouts of docs/protocol.md 3.2 and 3.3, LEPV's parsing rules of
 * 4.7 and 4.8 applied to the output, golden texts of fixture trees (static, and one interval of
 * a synthetic machine with an offline CPU), failures, and a live run with one CPU kept busy.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import { irqRates } from "../methods/interrupt_rates.ts";
import { counterDelta } from "../proc/counter.ts";
import { interruptsSource, softirqsSource } from "../sampling/interrupts.ts";
import { parseIrqTable } from "../proc/interrupts.ts";
import {
  cpuRange,
  formatMpstat,
  formatMpstatInterrupts,
  MPSTAT_CPU_COLUMNS,
  mpstatCollector,
  mpstatInterruptsCollector,
  mpstatInterruptsText,
  mpstatPercentages,
  mpstatRows,
  mpstatText,
} from "../methods/mpstat.ts";
import { procStatSource } from "../sampling/proc_stat.ts";
import { type CpuTimes, parseProcStat } from "../proc/stat.ts";
import { ProcFs } from "../proc/fs.ts";
import type { Collector } from "../methods/collector.ts";
import type { Interval } from "../sampling/sampler.ts";
import { cpuNumbers } from "../methods/sysstat.ts";
import {
  type CpuTicks,
  readAllCpuTicks,
  readCpuTicks,
  shareRange,
  untilGrown,
} from "./helpers/kernel_counters.ts";
import { VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const OFFLINE_TREE = fileURLToPath(new URL("aarch64-offline-cpu", FIXTURES));
const SOFTIRQ_NAMES = "HI TIMER NET_TX NET_RX BLOCK IRQ_POLL TASKLET SCHED HRTIMER RCU".split(" ");

function fixtureText(tree: string, path: string): string {
  return Deno.readTextFileSync(fileURLToPath(new URL(`${tree}${path}`, FIXTURES)));
}

function times(values: Partial<CpuTimes>): CpuTimes {
  return {
    user: 0,
    nice: 0,
    system: 0,
    idle: 0,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
    guest: 0,
    guestNice: 0,
    ...values,
  };
}

// ---------------------------------------------------------------------------------------------
// LEPV's parsers (docs/protocol.md 4 and 4.7, 4.8), rewritten from their description.

/** `split_to_lines`: strip the whole text, split on newlines and on a literal backslash-n. */
function splitToLines(result: string): string[] {
  return result.trim().split(/\\n|\n/);
}

/** Python's `float()` on one token: a bad token makes the row unusable. */
function lepvFloat(token: string | undefined): number | undefined {
  return token !== undefined && /^[-+]?(\d+\.?\d*|\.\d+)$/.test(token) ? Number(token) : undefined;
}

/** `get_irq`: the CPU rows between the header and the first empty line, columns from the right. */
function lepvMpstat(text: string): { rows: Map<string, number[]>; skipped: number } {
  const lines = splitToLines(text);
  assert.ok(lines.length >= 3, "LEPV needs at least 3 lines");
  const rows = new Map<string, number[]>();
  let skipped = 0;
  for (const line of lines.slice(3)) {
    if (line.trim() === "") break;
    const tokens = line.trim().split(/\s+/);
    const values = tokens.slice(-10).map(lepvFloat);
    const name = tokens.at(-11);
    if (name === undefined || values.length < 10 || values.some((value) => value === undefined)) {
      skipped++;
      continue;
    }
    rows.set(name, values as number[]);
  }
  return { rows, skipped };
}

/** `get_status`: 100 − %idle of the `all` row; LEPV fails without that row. */
function lepvCpuStatus(text: string): number {
  const all = lepvMpstat(text).rows.get("all");
  assert.ok(all !== undefined, "LEPV finds the all row");
  return 100 - all[9]!;
}

interface LepvSoftirqRow {
  cpu: string;
  HRTIMER: number;
  TASKLET: number;
  NET_RX: number;
  NET_TX: number;
}

/**
 * `get_softirq`: drop 2 lines, collect from the 2nd empty line (inclusive) to the 3rd, drop the
 * first two collected lines (that empty line and the header), then read tokens by position.
 */
function lepvSoftirqs(text: string): { header: string; rows: LepvSoftirqRow[] } {
  const lines = splitToLines(text);
  assert.ok(lines.length >= 2, "LEPV needs at least 2 lines");
  const collected: string[] = [];
  let empty = 0;
  for (const line of lines.slice(2)) {
    if (line.trim() === "") empty++;
    if (empty >= 3) break;
    if (empty >= 2) collected.push(line);
  }
  const rows = collected.slice(2).map((line) => {
    const tokens = line.trim().split(/\s+/);
    const value = (index: number) => {
      const parsed = lepvFloat(tokens.at(index));
      assert.ok(parsed !== undefined, `token ${index} of ${JSON.stringify(line)} is a number`);
      return parsed;
    };
    return {
      cpu: tokens[1]!,
      HRTIMER: value(-2),
      TASKLET: value(-4),
      NET_RX: value(-7),
      NET_TX: value(-8),
    };
  });
  return { header: collected[1] ?? "", rows };
}

// ---------------------------------------------------------------------------------------------
// /proc/interrupts and /proc/softirqs.

const ARMV7_INTERRUPTS = [
  "           CPU0       CPU1       CPU2       CPU3       ",
  " 16:          0          0          0          0  bcm2836-timer   0 Edge      arch_timer",
  " 17:    3047714    2165637    1990213    1919853  bcm2836-timer   1 Edge      arch_timer",
  " 62:   52520476          0          0          0  ARMCTRL-level  64 Edge      dwc_otg, " +
  "dwc_otg_pcd, dwc_otg_hcd:usb1",
  " 79:          0          0          0          0  ARMCTRL-level  81 Edge      " +
  "3f200000.gpio:bank0",
  "FIQ:              usb_fiq",
  "IPI0:          0          0          0          0  CPU wakeup interrupts",
  "IPI2:     282618     603414     516433     530453  Rescheduling interrupts",
  "Err:          0",
  "",
].join("\n");

interface ParseCase {
  name: string;
  text: string;
  cpus: number[];
  lineCount: number;
  /** Label → expected counts and description of some lines. */
  lines: [label: string, counts: number[], description: string][];
}

const PARSE_CASES: ParseCase[] = [
  {
    name: "x86_64 VM (IO-APIC, PCI-MSIX, one-number ERR/MIS)",
    text: fixtureText("x86_64-vm", "/proc/interrupts"),
    cpus: [0, 1],
    lineCount: 35,
    lines: [
      ["24", [1, 0], "IO-APIC   5-edge      ACPI:Ged"],
      ["36", [0, 8029], "PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0"],
      ["LOC", [10790, 11883], "Local timer interrupts"],
      ["ERR", [0, 0], ""],
      ["PIW", [0, 0], "Posted-interrupt wakeup event"],
    ],
  },
  {
    name: "AArch64 GICv3 server (IPIn: without a blank, blank last line)",
    text: fixtureText("aarch64-server-8cpu", "/proc/interrupts"),
    cpus: [0, 1, 2, 3, 4, 5, 6, 7],
    lineCount: 59,
    lines: [
      [
        "10",
        [
          3287008667,
          3310445093,
          3301386305,
          3273132897,
          3368262064,
          3641875466,
          3360412019,
          3225020442,
        ],
        "GICv3  27 Level     arch_timer",
      ],
      ["51", [13, 0, 0, 20, 4, 0, 0, 0], "ITS-MSI 65536 Edge      nvme0q0"],
      [
        "IPI0",
        [
          2768808080,
          2844211768,
          2878602432,
          2730576120,
          2723524623,
          3349096412,
          2717389879,
          2154252810,
        ],
        "Rescheduling interrupts",
      ],
      ["Err", [0, 0, 0, 0, 0, 0, 0, 0], ""],
    ],
  },
  {
    name: "ARMv7 Raspberry Pi (FIQ: without counts, Err:)",
    text: ARMV7_INTERRUPTS,
    cpus: [0, 1, 2, 3],
    lineCount: 8,
    lines: [
      ["17", [3047714, 2165637, 1990213, 1919853], "bcm2836-timer   1 Edge      arch_timer"],
      [
        "62",
        [52520476, 0, 0, 0],
        "ARMCTRL-level  64 Edge      dwc_otg, dwc_otg_pcd, dwc_otg_hcd:usb1",
      ],
      ["FIQ", [0, 0, 0, 0], "usb_fiq"],
      ["Err", [0, 0, 0, 0], ""],
    ],
  },
  {
    name: "AArch64 with CPU2 offline: /proc/interrupts lists online CPUs only",
    text: fixtureText("aarch64-offline-cpu", "/proc/interrupts"),
    cpus: [0, 1, 3],
    lineCount: 59,
    lines: [
      ["10", [3287008667, 3310445093, 4294967000], "GICv3  27 Level     arch_timer"],
      ["IPI1", [357815098, 213258177, 132890624], "Function call interrupts"],
    ],
  },
  {
    name: "softirqs of the offline-CPU machine: every possible CPU",
    text: fixtureText("aarch64-offline-cpu", "/proc/softirqs"),
    cpus: [0, 1, 2, 3],
    lineCount: 10,
    lines: [
      ["NET_RX", [2053113009, 1458125544, 1195912640, 4294966000], ""],
      ["IRQ_POLL", [0, 0, 0, 0], ""],
    ],
  },
  {
    name: "x86 softirqs",
    text: fixtureText("x86_64-vm", "/proc/softirqs"),
    cpus: [0, 1],
    lineCount: 10,
    lines: [["TIMER", [4232, 4629], ""], ["RCU", [6527, 7877], ""]],
  },
  {
    name: "64-bit counts and a short line whose description starts with a digit",
    text: "      CPU0  CPU1\n 1: 18446744073709551615 9007199254740993 x\n 2: 7 5-edge dev\n",
    cpus: [0, 1],
    lineCount: 2,
    lines: [
      ["1", [2 ** 64, 2 ** 53], "x"],
      ["2", [7, 0], "5-edge dev"],
    ],
  },
  {
    name: "tabs between counts, and digits running into a word are not a count",
    text: "\tCPU0\tCPU1\n 3:\t4\t12ab dev\n 4:\t\t9\t10\n",
    cpus: [0, 1],
    lineCount: 2,
    lines: [
      ["3", [4, 0], "12ab dev"],
      ["4", [9, 10], ""],
    ],
  },
];

for (const testCase of PARSE_CASES) {
  Deno.test(`parseIrqTable: ${testCase.name}`, () => {
    const table = parseIrqTable(testCase.text);
    assert.deepEqual(table.cpus, testCase.cpus);
    assert.equal(table.lines.length, testCase.lineCount);
    for (const line of table.lines) {
      assert.equal(line.counts.length, testCase.cpus.length, `columns of ${line.label}`);
      assert.ok(line.counts.every(Number.isFinite), `counts of ${line.label}`);
      assert.match(line.label, /^\S+$/);
    }
    for (const [label, counts, description] of testCase.lines) {
      const line = table.lines.find((candidate) => candidate.label === label);
      assert.deepEqual(line, { label, counts, description });
    }
  });
}

Deno.test("parseIrqTable keeps file order and sysstat's header rule", () => {
  const table = parseIrqTable(fixtureText("x86_64-vm", "/proc/interrupts"));
  assert.deepEqual(
    table.lines.map((line) => line.label).slice(17),
    "42 43 NMI LOC SPU PMI IWI RTR RES CAL TLB TRM HYP ERR MIS PIN NPI PIW".split(" "),
  );
  const softirqs = parseIrqTable(fixtureText("x86_64-vm", "/proc/softirqs"));
  assert.deepEqual(softirqs.lines.map((line) => line.label), SOFTIRQ_NAMES);
  assert.throws(() => parseIrqTable(""), /no header line of "CPUn" columns/);
  assert.throws(() => parseIrqTable("  0: 1 2 timer\n"), /no header line/);
});

Deno.test("counterDelta of width 32: plain growth, 32-bit wraps, 64-bit sums and resets", () => {
  const cases: [name: string, previous: number, latest: number, expected: number][] = [
    ["unchanged", 42, 42, 0],
    ["growth", 100, 350, 250],
    ["growth above 2^32 (a 64-bit total)", 2 ** 40, 2 ** 40 + 5410, 5410],
    ["32-bit counter wraps", 2 ** 32 - 296, 204, 500],
    ["32-bit counter wraps from its last value", 2 ** 32 - 1, 0, 1],
    ["64-bit sum drops by 2^32 when a 32-bit part wraps", 14095238541, 9800275788, 4543],
    ["64-bit sum with two wraps in one interval", 3 * 2 ** 32 + 10, 2 ** 32 + 30, 20],
    ["counter restarted from zero", 7815, 3, 0],
    ["64-bit counter stepping back", 2 ** 40, 2 ** 40 - 5, 0],
    ["beyond 2^53: no wrap, double spacing", 2 ** 60, 2 ** 60 + 4096, 4096],
  ];
  for (const [name, previous, latest, expected] of cases) {
    assert.equal(counterDelta(previous, latest, 32), expected, name);
  }
});

Deno.test("irqRates: per CPU and label, offline CPUs and new lines read 0, wraps count", () => {
  const previous = parseIrqTable(fixtureText("aarch64-offline-cpu", "/proc/interrupts"));
  const latest = parseIrqTable(fixtureText("aarch64-offline-cpu", "/interval/proc/interrupts"));
  const rates = irqRates({ previous, latest, seconds: 0.5 }, [0, 1, 2, 3]);
  assert.equal(rates.labels.length, 60);
  assert.deepEqual(rates.rows.map((row) => row.cpu), [0, 1, 2, 3]);
  const rate = (cpu: number, label: string) =>
    rates.rows[cpu]!.perSecond[rates.labels.indexOf(label)];
  assert.equal(rate(0, "10"), 500, "250 in half a second");
  assert.equal(rate(3, "10"), 1000, "CPU3 wrapped past 2^32 and still grew by 500");
  assert.equal(rate(2, "10"), 0, "offline CPU2 has no column");
  assert.equal(rate(0, "14"), 0, "ttyS0 restarted from 0");
  assert.equal(rate(0, "66"), 0, "a line new in the latest reading");
  assert.equal(rate(3, "IPI0"), 240);
  assert.deepEqual(irqRates({ previous, latest, seconds: 0 }, [0]).rows[0]!.perSecond[0], 0);
  assert.deepEqual(irqRates({ previous, latest, seconds: 1 }, []).rows, []);
});

Deno.test("interruptsSource and softirqsSource name the file they cannot use", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-irq-" });
  try {
    await Deno.mkdir(`${root}/proc`);
    await Deno.writeTextFile(`${root}/proc/interrupts`, "garbage\n");
    const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
    const interrupts = interruptsSource(fs, { intervalMs: 20 });
    const softirqs = softirqsSource(fs, { intervalMs: 20 });
    try {
      await assert.rejects(
        interrupts.interval(),
        (error) =>
          error instanceof MethodFailure &&
          error.message === 'Cannot parse "/proc/interrupts": no header line of "CPUn" columns',
      );
      await assert.rejects(
        softirqs.interval(),
        (error) =>
          error instanceof MethodFailure && error.message.startsWith(
            'Cannot read "/proc/softirqs": no such file',
          ),
      );
    } finally {
      interrupts.stop();
      softirqs.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// CPU percentages.

Deno.test("mpstatPercentages: sysstat's formulas, each row adds up to 100", () => {
  const cases: [name: string, previous: CpuTimes, latest: CpuTimes, expected: number[]][] = [
    [
      "one busy CPU",
      times({ user: 1000, idle: 5000 }),
      times({ user: 1097, system: 2, softirq: 1, idle: 5000 }),
      [97, 0, 2, 0, 0, 1, 0, 0, 0, 0],
    ],
    [
      "guest time is inside user and nice, so %usr and %nice leave it out",
      times({ user: 500, nice: 50, guest: 300, guestNice: 40, idle: 10 }),
      times({ user: 530, nice: 60, guest: 320, guestNice: 45, idle: 70 }),
      [10, 5, 0, 0, 0, 0, 0, 20, 5, 60],
    ],
    [
      "a counter that steps back counts 0 and the rest still add up to 100",
      times({ system: 10, iowait: 8, idle: 100 }),
      times({ system: 20, iowait: 7, idle: 130 }),
      [0, 0, 25, 0, 0, 0, 0, 0, 0, 75],
    ],
    [
      "guest ahead of user (a kernel glitch) is clamped like sysstat's interval shift",
      times({ user: 100, guest: 50, idle: 0 }),
      times({ user: 101, guest: 53, idle: 1 }),
      [0, 0, 0, 0, 0, 0, 0, 75, 0, 25],
    ],
    [
      "a tickless CPU whose counters did not move is 100 % idle",
      times({ user: 5, idle: 7 }),
      times({ user: 5, idle: 7 }),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 100],
    ],
    [
      "irq, softirq, steal and iowait",
      times({}),
      times({ iowait: 1, irq: 2, softirq: 3, steal: 4, idle: 10 }),
      [0, 0, 0, 5, 10, 15, 20, 0, 0, 50],
    ],
  ];
  for (const [name, previous, latest, expected] of cases) {
    const percentages = mpstatPercentages(previous, latest);
    assert.deepEqual(percentages.map((value) => Math.round(value * 1e9) / 1e9), expected, name);
    const sum = percentages.reduce((total, value) => total + value, 0);
    assert.ok(Math.abs(sum - 100) < 1e-9, `${name}: adds up to ${sum}`);
  }
});

Deno.test("mpstatRows: `all`, then CPUs 0 … highest, offline ones all zero", () => {
  const previous = parseProcStat(fixtureText("aarch64-offline-cpu", "/proc/stat"));
  const latest = parseProcStat(fixtureText("aarch64-offline-cpu", "/interval/proc/stat"));
  const rows = mpstatRows({ previous, latest }, cpuRange([[0, 1, 3], [2]]));
  assert.deepEqual(rows.map((row) => row.cpu), ["all", 0, 1, 2, 3]);
  assert.deepEqual(rows[3]!.percentages, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(rows[1]!.percentages, [97, 0, 2, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(cpuRange([[0, 2], [], [5]]), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(cpuRange([]), []);
  // A CPU that came online during the interval has no complete interval yet.
  const withoutCpu3 = parseProcStat(
    fixtureText("aarch64-offline-cpu", "/proc/stat").replace(/^cpu3 .*\n/m, ""),
  );
  const cameOnline = mpstatRows({ previous: withoutCpu3, latest }, [3]);
  assert.deepEqual(cameOnline[1]!.percentages, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

// ---------------------------------------------------------------------------------------------
// Layouts of docs/protocol.md 3.2 and 3.3.

Deno.test("formatMpstat reproduces the sysstat 11.5.1 example of docs/protocol.md 3.2", () => {
  const text = formatMpstat([
    { cpu: "all", percentages: [0, 0, 1, 0, 0, 0.5, 0, 0, 0, 98.5] },
    { cpu: 0, percentages: [0, 0, 1.98, 0, 0, 0.99, 0, 0, 0, 97.03] },
    { cpu: 1, percentages: [0.98, 0, 0.98, 0, 0, 0, 0, 0, 0, 98.04] },
  ], {
    banner: "Linux 3.13.0-77-generic (ubuntu) \t03/19/17 \t_x86_64_\t(2 CPU)",
    start: "13:04:55",
    end: "13:04:56",
  });
  const header =
    "CPU    %usr   %nice    %sys %iowait    %irq   %soft  %steal  %guest  %gnice   %idle";
  assert.equal(
    text,
    [
      "Linux 3.13.0-77-generic (ubuntu) \t03/19/17 \t_x86_64_\t(2 CPU)",
      "",
      `13:04:55     ${header}`,
      "13:04:56     all    0.00    0.00    1.00    0.00    0.00    0.50    0.00    0.00    0.00   98.50",
      "13:04:56       0    0.00    0.00    1.98    0.00    0.00    0.99    0.00    0.00    0.00   97.03",
      "13:04:56       1    0.98    0.00    0.98    0.00    0.00    0.00    0.00    0.00    0.00   98.04",
      "",
      `Average:     ${header}`,
      "Average:     all    0.00    0.00    1.00    0.00    0.00    0.50    0.00    0.00    0.00   98.50",
      "Average:       0    0.00    0.00    1.98    0.00    0.00    0.99    0.00    0.00    0.00   97.03",
      "Average:       1    0.98    0.00    0.98    0.00    0.00    0.00    0.00    0.00    0.00   98.04",
      "",
    ].join("\n"),
  );
  assert.equal(MPSTAT_CPU_COLUMNS, `  ${header}`);
});

Deno.test("formatMpstat widens a field only when the value needs it (CPU 10000, 100.00)", () => {
  const text = formatMpstat([
    { cpu: "all", percentages: [100, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
    { cpu: 10000, percentages: [0, 0, 0, 0, 0, 0, 0, 0, 0, 100] },
  ], { banner: "b", start: "00:00:00", end: "23:59:59" });
  const lines = text.split("\n");
  assert.equal(lines[3], "23:59:59     all  100.00" + "    0.00".repeat(9));
  assert.equal(lines[4], "23:59:59    10000" + "    0.00".repeat(9) + "  100.00");
});

Deno.test("formatMpstatInterrupts reproduces the example of docs/protocol.md 3.3, without the quote", () => {
  const rates = (labels: string[], rows: number[][]) => ({
    labels,
    rows: rows.map((perSecond, cpu) => ({ cpu, perSecond })),
  });
  const text = formatMpstatInterrupts({
    totalPerSecond: 143,
    interrupts: rates(["24", "25", "NMI", "LOC", "RES"], [[0, 1, 0, 98, 3], [0, 0, 0, 97, 2]]),
    softirqs: rates(SOFTIRQ_NAMES, [[0, 4, 0, 2, 1, 0, 0, 10, 0, 5], [
      0,
      3,
      0,
      0,
      0,
      0,
      0,
      8,
      0,
      4,
    ]]),
  }, {
    banner: "Linux 6.18.44-fc-v657 (vm) \t11/27/26 \t_x86_64_\t(2 CPU)",
    start: "17:44:43",
    end: "17:44:44",
  });
  const softirqHeader = "CPU       HI/s    TIMER/s   NET_TX/s   NET_RX/s    BLOCK/s IRQ_POLL/s" +
    "  TASKLET/s    SCHED/s  HRTIMER/s      RCU/s";
  const block = (headerLabel: string, rowLabel: string) => [
    "",
    `${headerLabel}     CPU    intr/s`,
    `${rowLabel}     all    143.00`,
    "",
    `${headerLabel}     CPU       24/s       25/s      NMI/s      LOC/s      RES/s`,
    `${rowLabel}       0       0.00       1.00       0.00      98.00       3.00`,
    `${rowLabel}       1       0.00       0.00       0.00      97.00       2.00`,
    "",
    `${headerLabel}     ${softirqHeader}`,
    `${rowLabel}       0       0.00       4.00       0.00       2.00       1.00       0.00` +
    "       0.00      10.00       0.00       5.00",
    `${rowLabel}       1       0.00       3.00       0.00       0.00       0.00       0.00` +
    "       0.00       8.00       0.00       4.00",
  ];
  assert.equal(
    text,
    [
      "Linux 6.18.44-fc-v657 (vm) \t11/27/26 \t_x86_64_\t(2 CPU)",
      ...block("17:44:43", "17:44:44"),
      ...block("Average:", "Average:"),
      "",
    ].join("\n"),
  );
  assert.ok(!text.includes('"'), "no stray quote");
});

Deno.test("formatMpstatInterrupts: long labels widen their column, at most 15 characters", () => {
  const text = formatMpstatInterrupts({
    totalPerSecond: 1234567.891,
    interrupts: {
      labels: ["BLOCK_IOPOLL", "A_VERY_LONG_LABEL_NAME"],
      rows: [{ cpu: 0, perSecond: [1.5, 2] }, { cpu: 127, perSecond: [0, 12345678.9] }],
    },
    softirqs: { labels: [], rows: [{ cpu: 0, perSecond: [] }] },
  }, { banner: "b", start: "01:02:03", end: "01:02:04" });
  const lines = text.split("\n");
  assert.equal(lines[3], "01:02:04     all 1234567.89");
  assert.equal(lines[5], "01:02:03     CPU BLOCK_IOPOLL/s A_VERY_LONG_LAB/s");
  assert.equal(lines[6], "01:02:04       0           1.50              2.00");
  assert.equal(lines[7], "01:02:04     127           0.00       12345678.90");
  assert.equal(lines[9], "01:02:03     CPU");
  assert.equal(lines[10], "01:02:04       0");
  for (const index of [6, 7]) assert.equal(lines[index]!.length, lines[5]!.length);
});

Deno.test("formatMpstatInterrupts: a rate wider than its column keeps one blank before it", () => {
  const text = formatMpstatInterrupts({
    totalPerSecond: 0,
    interrupts: { labels: ["X", "Y"], rows: [{ cpu: 0, perSecond: [123456789012.5, 1] }] },
    softirqs: { labels: [], rows: [{ cpu: 0, perSecond: [] }] },
  }, { banner: "b", start: "01:02:03", end: "01:02:04" });
  const lines = text.split("\n");
  assert.equal(lines[5], "01:02:03     CPU        X/s        Y/s");
  assert.equal(lines[6], "01:02:04       0 123456789012.50       1.00");
});

// ---------------------------------------------------------------------------------------------
// Golden texts.

function treeRoot(tree: string): string {
  return fileURLToPath(new URL(tree, FIXTURES));
}

/** The masking of tests/golden_test.ts: times that start a line and the banner date. */
function maskClock(text: string): string {
  return text.replace(/^(top - )?\d\d:\d\d:\d\d/gm, "$1HH:MM:SS")
    .replace(/ \t\d\d\/\d\d\/\d\d \t/g, " \tMM/DD/YY \t");
}

/** Runs one collector over a tree on a virtual clock; every source is stopped afterwards. */
async function collectTree(
  tree: string,
  method: "GetCmdMpstat" | "GetCmdMpstat-I",
): Promise<string> {
  const fs = new ProcFs({ root: treeRoot(tree), maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const procStat = procStatSource(fs, { intervalMs: 1000, clock });
  const interrupts = interruptsSource(fs, { intervalMs: 1000, clock });
  const softirqs = softirqsSource(fs, { intervalMs: 1000, clock });
  try {
    const collector: Collector = method === "GetCmdMpstat"
      ? mpstatCollector({ procStat })
      : mpstatInterruptsCollector({ procStat, interrupts, softirqs });
    const text = collector.collect({ fs, methods: [method] });
    text.catch(() => {}); // awaited below
    await clock.advance(1000);
    return await text;
  } finally {
    procStat.stop();
    interrupts.stop();
    softirqs.stop();
  }
}

/** Checks everything LEPV needs of a GetCmdMpstat text; returns LEPV's rows. */
function assertMpstatForLepv(text: string, cpus: readonly number[]): Map<string, number[]> {
  const lines = text.split("\n");
  assert.equal(lines[1], "", "exactly one empty line after the banner");
  assert.match(lines[2]!, /^\d\d:\d\d:\d\d {5}CPU {4}%usr/);
  assert.ok(!text.endsWith("\n\n"), "no trailing empty line");
  const { rows, skipped } = lepvMpstat(text);
  assert.equal(skipped, 0, "LEPV reads every row");
  assert.deepEqual([...rows.keys()], ["all", ...cpus.map(String)]);
  for (const [name, values] of rows) {
    const sum = values.reduce((total, value) => total + value, 0);
    const offline = values.every((value) => value === 0);
    assert.ok(offline || Math.abs(sum - 100) <= 0.06, `row ${name} adds up to ${sum}`);
  }
  return rows;
}

/** Checks the 4.8 structure of a GetCmdMpstat-I text; returns LEPV's softirq rows. */
function assertInterruptsForLepv(text: string, cpus: readonly number[]): LepvSoftirqRow[] {
  const lines = text.split("\n");
  assert.equal(lines[1], "");
  assert.match(lines[2]!, /^\d\d:\d\d:\d\d {5}CPU {4}intr\/s$/);
  assert.match(lines[3]!, /^\d\d:\d\d:\d\d {5}all +\d+\.\d\d$/);
  const { header, rows } = lepvSoftirqs(text);
  assert.deepEqual(header.trim().split(/\s+/).slice(2), SOFTIRQ_NAMES.map((name) => `${name}/s`));
  assert.deepEqual(rows.map((row) => row.cpu), cpus.map(String));
  return rows;
}

const STATIC_TREES: [tree: string, cpus: number[]][] = [
  ["x86_64-vm", [0, 1]],
  ["aarch64-offline-cpu", [0, 1, 2, 3]],
];

for (const [tree, cpus] of STATIC_TREES) {
  Deno.test(`GetCmdMpstat of ${tree} matches expected/GetCmdMpstat.txt`, async () => {
    const text = await collectTree(tree, "GetCmdMpstat");
    const expected = fixtureText(tree, "/expected/GetCmdMpstat.txt");
    assert.equal(maskClock(text), maskClock(expected));
    const rows = assertMpstatForLepv(text, cpus);
    assert.equal(lepvCpuStatus(text), 0, "a static tree is idle");
    assert.equal(rows.size, cpus.length + 1);
  });

  Deno.test(`GetCmdMpstat-I of ${tree} matches expected/GetCmdMpstat-I.txt`, async () => {
    const text = await collectTree(tree, "GetCmdMpstat-I");
    const expected = fixtureText(tree, "/expected/GetCmdMpstat-I.txt");
    assert.equal(maskClock(text), maskClock(expected));
    assertInterruptsForLepv(text, cpus);
  });
}

Deno.test("GetCmdMpstat of synthetic-processes matches expected/GetCmdMpstat.txt", async () => {
  const text = await collectTree("synthetic-processes", "GetCmdMpstat");
  assert.equal(
    maskClock(text),
    maskClock(fixtureText("synthetic-processes", "/expected/GetCmdMpstat.txt")),
  );
  assertMpstatForLepv(text, [0, 1]);
});

Deno.test("the checked-in expected texts survive tests/golden_test.ts's masking", () => {
  for (
    const [tree, method] of [
      ["x86_64-vm", "GetCmdMpstat"],
      ["x86_64-vm", "GetCmdMpstat-I"],
      ["aarch64-offline-cpu", "GetCmdMpstat"],
      ["aarch64-offline-cpu", "GetCmdMpstat-I"],
      ["synthetic-processes", "GetCmdMpstat"],
    ]
  ) {
    const masked = maskClock(fixtureText(tree!, `/expected/${method}.txt`)).split("\n");
    assert.match(masked[0]!, / \tMM\/DD\/YY \t_[a-z0-9_]+_\t\(\d+ CPU\)$/, `${tree} ${method}`);
    for (const line of masked.slice(1)) {
      assert.match(line, /^(|HH:MM:SS .*|Average: .*)$/, `${tree} ${method}: ${line}`);
    }
  }
});

/** The interval of the offline-CPU tree: its `proc/` then `interval/proc/`, one second apart. */
function offlineInterval<T>(parse: (text: string) => T, path: string): Interval<T> {
  return {
    previous: parse(fixtureText("aarch64-offline-cpu", path)),
    latest: parse(fixtureText("aarch64-offline-cpu", `/interval${path}`)),
    seconds: 1,
    takenAt: new Date(2026, 10, 27, 12, 0, 1).getTime(),
  };
}

Deno.test("GetCmdMpstat over an interval with an offline CPU matches interval/expected", () => {
  const fs = new ProcFs({ root: OFFLINE_TREE, maxFileBytes: 1 << 24 });
  const text = mpstatText(fs, offlineInterval(parseProcStat, "/proc/stat"));
  assert.equal(text, fixtureText("aarch64-offline-cpu", "/interval/expected/GetCmdMpstat.txt"));
  const rows = assertMpstatForLepv(text, [0, 1, 2, 3]);
  assert.equal(lepvCpuStatus(text), 61);
  assert.deepEqual(rows.get("0"), [97, 0, 2, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(rows.get("1"), [10, 5, 5, 0, 0, 0, 0, 20, 0, 60]);
  assert.deepEqual(rows.get("2"), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(rows.get("all"), [39, 1.67, 5.67, 0, 1.67, 5.33, 1, 6.67, 0, 39]);
  assert.match(text, /^Linux 6\.1\.0-21-arm64 \(arm-srv\) \t11\/27\/26 \t_aarch64_\t\(4 CPU\)\n/);
  assert.match(text, /\n12:00:00 {5}CPU/);
});

Deno.test("GetCmdMpstat-I over an interval with an offline CPU matches interval/expected", () => {
  const fs = new ProcFs({ root: OFFLINE_TREE, maxFileBytes: 1 << 24 });
  const text = mpstatInterruptsText(fs, {
    procStat: offlineInterval(parseProcStat, "/proc/stat"),
    interrupts: offlineInterval(parseIrqTable, "/proc/interrupts"),
    softirqs: offlineInterval(parseIrqTable, "/proc/softirqs"),
  });
  assert.equal(text, fixtureText("aarch64-offline-cpu", "/interval/expected/GetCmdMpstat-I.txt"));
  const rows = assertInterruptsForLepv(text, [0, 1, 2, 3]);
  assert.deepEqual(rows[3], { cpu: "3", HRTIMER: 0, TASKLET: 5, NET_RX: 3000, NET_TX: 12 });
  assert.deepEqual(rows[0], { cpu: "0", HRTIMER: 1, TASKLET: 0, NET_RX: 500, NET_TX: 0 });
  assert.deepEqual(rows[2], { cpu: "2", HRTIMER: 0, TASKLET: 0, NET_RX: 0, NET_TX: 0 });
  const lines = text.split("\n");
  assert.equal(lines[3], "12:00:01     all   5410.00");
  assert.equal(lines.pop(), "", "the text ends with a newline");
  assert.deepEqual(
    lines.flatMap((line, index) => line === "" ? [index] : []),
    [1, 4, 10, 16, 19, 25],
    "one empty line before each of the six sections",
  );
  const irqHeader = lines[5]!.trim().split(/\s+/);
  const irqRow3 = lines[9]!.trim().split(/\s+/);
  const column = (label: string) => irqHeader.indexOf(`${label}/s`);
  assert.equal(irqRow3[1], "3");
  assert.equal(irqRow3[column("10")], "500.00", "arch_timer wrapped past 2^32");
  assert.equal(irqRow3[column("14")], "0.00", "ttyS0 restarted from 0");
  assert.equal(irqRow3[column("IPI0")], "120.00");
  assert.equal(lines[6]!.trim().split(/\s+/)[column("66")], "0.00", "nvme2q0 is new");
});

// ---------------------------------------------------------------------------------------------
// Failures.

Deno.test("GetCmdMpstat and GetCmdMpstat-I fail clearly and probe the files they need", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-mpstat-" });
  try {
    await Deno.mkdir(`${root}/proc`);
    const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
    const context = { fs, methods: [] };
    const missing = (path: string) => (error: unknown) =>
      error instanceof MethodFailure &&
      error.message === `Cannot read "${path}": no such file (this kernel does not provide it)`;
    const procStat = procStatSource(fs, { intervalMs: 20 });
    const interrupts = interruptsSource(fs, { intervalMs: 20 });
    const softirqs = softirqsSource(fs, { intervalMs: 20 });
    const mpstat = mpstatCollector({ procStat });
    const mpstatI = mpstatInterruptsCollector({ procStat, interrupts, softirqs });
    try {
      await assert.rejects(mpstat.collect(context), missing("/proc/stat"));
      await assert.rejects(mpstat.probe!(context), missing("/proc/stat"));
      await Deno.copyFile(`${OFFLINE_TREE}/proc/stat`, `${root}/proc/stat`);
      assert.equal(await mpstat.probe!(context), undefined);
      await assert.rejects(mpstatI.probe!(context), missing("/proc/interrupts"));
      await Deno.writeTextFile(`${root}/proc/interrupts`, "nothing here\n");
      await Deno.writeTextFile(`${root}/proc/softirqs`, "nothing here\n");
      assert.equal(
        await mpstatI.probe!(context),
        'Cannot parse "/proc/interrupts": no header line of "CPUn" columns',
      );
      await Deno.copyFile(`${OFFLINE_TREE}/proc/interrupts`, `${root}/proc/interrupts`);
      await Deno.remove(`${root}/proc/softirqs`);
      await assert.rejects(mpstatI.collect(context), missing("/proc/softirqs"));
    } finally {
      procStat.stop();
      interrupts.stop();
      softirqs.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Live /proc.

Deno.test("GetCmdMpstat on the live machine: every row's %idle and %usr are /proc/stat's over the same interval", async () => {
  // A busy CPU, so that the figures are not all idle; it spins until killed.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--single-threaded", "for (;;) {}"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const fs = new ProcFs({ maxFileBytes: 1 << 24 });
  const clock = new VirtualClock();
  const procStat = procStatSource(fs, { intervalMs: 1000, clock });
  const interrupts = interruptsSource(fs, { intervalMs: 1000, clock });
  const softirqs = softirqsSource(fs, { intervalMs: 1000, clock });
  try {
    const mpstat = mpstatCollector({ procStat });
    const cpus = cpuNumbers(fs);
    const context = { fs, methods: ["GetCmdMpstat"] };
    // The first snapshot is taken inside the call, the second at the clock's tick; the test
    // reads /proc/stat right around each.
    const before0 = readAllCpuTicks();
    const pending = mpstat.collect(context);
    const after0 = readAllCpuTicks();
    await untilGrown(() => readCpuTicks("cpu").total, 25 * cpus.length);
    const before1 = readAllCpuTicks();
    await clock.advance(1000);
    const after1 = readAllCpuTicks();
    const text = await pending;
    const rows = assertMpstatForLepv(text, cpuRange([cpus]));
    const bracketOf = (
      name: string,
      part: "idle" | "user",
      start: [Map<string, CpuTicks>, Map<string, CpuTicks>],
    ) => {
      const [before, after] = start.map((reading) => reading.get(name)!);
      return {
        before: { part: before![part], total: before!.total },
        after: { part: after![part], total: after!.total },
        beforeMs: 0,
        afterMs: 0,
      };
    };
    let checked = 0;
    for (const [row, values] of rows) {
      const name = row === "all" ? "cpu" : `cpu${row}`;
      if (!before0.has(name)) continue; // offline: no line, an all-zero row
      for (const [part, column] of [["idle", 9], ["user", 0]] as const) {
        const range = shareRange(
          bracketOf(name, part, [before0, after0]),
          bracketOf(name, part, [before1, after1]),
        );
        assert.ok(range !== undefined, `${name}: the ticks the test waited for`);
        const value = values[column]!;
        assert.ok(
          value >= range.low - 0.01 && value <= range.high + 0.01,
          `${row} %${part} ${value}, kernel ${range.low.toFixed(2)}..${
            range.high.toFixed(2)
          }:\n${text}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 4, "the all row and at least one CPU");
    // GetCmdMpstat-I's structure on the same machine.
    const interruptsText = mpstatInterruptsCollector({ procStat, interrupts, softirqs })
      .collect(context);
    await clock.advance(1000);
    const softirqRows = assertInterruptsForLepv(await interruptsText, cpuRange([cpus]));
    assert.ok(softirqRows.every((row) => row.HRTIMER >= 0 && row.NET_RX >= 0));
  } finally {
    procStat.stop();
    interrupts.stop();
    softirqs.stop();
    child.kill("SIGKILL");
    await child.status;
  }
});
