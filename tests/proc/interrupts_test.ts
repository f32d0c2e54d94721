/**
 * Tests of proc/interrupts.ts: what is and is not an interrupt table (named by its file), cut
 * lines, and the captured /proc/interrupts and /proc/softirqs of an x86 VM and ARM machines.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseIrqTable } from "../../proc/interrupts.ts";
import { capturedFiles, capturedText, testNotTheFile } from "./fixture.ts";

const NOT_A_TABLE: Record<string, string> = {
  empty: "",
  garbage: "\u0000\u0001\u0002\n",
  "lines without their header (cut at the top)": "  0: 1 2 timer\n  1: 3 4 i8042\n",
  "another file (/proc/stat)": "cpu  1 2 3 4\nintr 5 6\n",
};

for (const path of ["/proc/interrupts", "/proc/softirqs"] as const) {
  testNotTheFile("parseIrqTable", (text) => parseIrqTable(text, path), {
    path,
    problem: 'no header line of "CPUn" columns',
    cases: NOT_A_TABLE,
  });
}

Deno.test("parseIrqTable: a table cut inside a line keeps the counts it has", () => {
  const table = parseIrqTable(
    "   CPU0  CPU1\n  0:  5  6  IO-APIC timer\n  1:  7",
    "/proc/interrupts",
  );
  assert.deepEqual(table, {
    cpus: [0, 1],
    lines: [
      { label: "0", counts: [5, 6], description: "IO-APIC timer" },
      { label: "1", counts: [7, 0], description: "" },
    ],
  });
});

Deno.test("parseIrqTable: the x86_64 VM's interrupts, ERR and MIS in the first column", () => {
  const table = parseIrqTable(capturedText("x86_64-vm", "proc/interrupts"));
  assert.deepEqual(table.cpus, [0, 1]);
  assert.deepEqual(table.lines[0], {
    label: "24",
    counts: [1, 0],
    description: "IO-APIC   5-edge      ACPI:Ged",
  });
  assert.deepEqual(table.lines.find((line) => line.label === "MIS"), {
    label: "MIS",
    counts: [0, 0],
    description: "",
  });
});

Deno.test("parseIrqTable: the x86_64 VM's softirqs", () => {
  const table = parseIrqTable(capturedText("x86_64-vm", "proc/softirqs"), "/proc/softirqs");
  assert.deepEqual(table.lines.map((line) => line.label), [
    "HI",
    "TIMER",
    "NET_TX",
    "NET_RX",
    "BLOCK",
    "IRQ_POLL",
    "TASKLET",
    "SCHED",
    "HRTIMER",
    "RCU",
  ]);
  assert.deepEqual(table.lines.at(-1)!.counts, [6527, 7877]);
});

Deno.test("parseIrqTable: ARM GICv2 and GICv3 tables, counts above 2^31", () => {
  const keystone = parseIrqTable(capturedText("armv7-keystone2-gic", "proc/interrupts"));
  assert.deepEqual(keystone.cpus, [0, 1, 2, 3]);
  assert.deepEqual(keystone.lines[1], {
    label: "18",
    counts: [9856, 1202, 457, 650],
    description: "GICv2  30 Level     arch_timer",
  });
  const server = parseIrqTable(capturedText("aarch64-server-8cpu", "proc/interrupts"));
  assert.deepEqual(server.cpus, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(server.lines[0]!.counts[0], 3287008667);
  assert.equal(server.lines.find((line) => line.label === "Err")!.counts.length, 8);
});

Deno.test("parseIrqTable: every captured table has a line per labelled row", () => {
  for (const path of ["/proc/interrupts", "/proc/softirqs"] as const) {
    const files = capturedFiles(path.slice(1));
    assert.ok(files.length >= 3, path);
    for (const { tree, text } of files) {
      const table = parseIrqTable(text, path);
      assert.ok(table.cpus.length > 0, `${tree} ${path}`);
      for (const line of table.lines) assert.equal(line.counts.length, table.cpus.length, tree);
    }
  }
});
