/**
 * Tests of proc/meminfo.ts: what is and is not /proc/meminfo, the one `MemTotal` error, and the
 * captured files of x86 and ARM machines.
 *
 * @module
 */

import assert from "node:assert/strict";
import { meminfoKib, parseMeminfo, requireMemTotal } from "../../proc/meminfo.ts";
import { capturedFiles, capturedText, testNotTheFile } from "./fixture.ts";

const NO_MEMTOTAL = 'Cannot parse "/proc/meminfo": it has no "MemTotal" line';

testNotTheFile("parseMeminfo", parseMeminfo, {
  path: "/proc/meminfo",
  problem: 'it has no "MemTotal" line',
  cases: {
    empty: "",
    "only blank lines": "\n\n\n",
    garbage: "\u0000\u0001 not a kernel file at all\n",
    "another file (/proc/loadavg)": "0.12 0.34 0.56 1/234 5678\n",
    "truncated before MemTotal's value": "MemTotal:",
    "MemTotal without a number": "MemTotal:        lots kB\nMemFree: 1 kB\n",
  },
});

const PARSE_CASES: { name: string; text: string; expected: [string, number][] }[] = [
  {
    name: "kB values by key, in file order",
    text: "MemTotal:  2048000 kB\nMemFree:  1024 kB\nActive(anon):  5 kB\n",
    expected: [["MemTotal", 2048000], ["MemFree", 1024], ["Active(anon)", 5]],
  },
  {
    name: "unit-less HugePages counts",
    text: "MemTotal: 10 kB\nHugePages_Total:       3\nHugepagesize:       2048 kB\n",
    expected: [["MemTotal", 10], ["HugePages_Total", 3], ["Hugepagesize", 2048]],
  },
  {
    name: "a last line cut short keeps the lines before it",
    text: "MemTotal: 10 kB\nMemFree: 4 kB\nBuff",
    expected: [["MemTotal", 10], ["MemFree", 4]],
  },
  {
    name: "lines that are not `key: number` are skipped",
    text: "MemTotal: 10 kB\n: 4 kB\nDirectMap: n/a\n",
    expected: [["MemTotal", 10]],
  },
];

for (const { name, text, expected } of PARSE_CASES) {
  Deno.test(`parseMeminfo: ${name}`, () => {
    assert.deepEqual([...parseMeminfo(text)], expected);
  });
}

Deno.test("requireMemTotal: the total, or the same error as parseMeminfo", () => {
  assert.equal(requireMemTotal(new Map([["MemTotal", 0]])), 0);
  assert.equal(requireMemTotal(new Map([["MemTotal", 8000]])), 8000);
  assert.throws(() => requireMemTotal(new Map([["MemFree", 1]])), { message: NO_MEMTOTAL });
});

Deno.test("meminfoKib: a key this kernel lacks reads 0", () => {
  const meminfo = new Map([["MemTotal", 8000], ["Shmem", 12]]);
  assert.equal(meminfoKib(meminfo, "Shmem"), 12);
  assert.equal(meminfoKib(meminfo, "SReclaimable"), 0);
});

Deno.test("parseMeminfo: every captured meminfo has a positive MemTotal and MemFree below it", () => {
  const files = capturedFiles("proc/meminfo");
  assert.ok(files.length >= 2, "at least an x86 and an ARM capture");
  for (const { tree, text } of files) {
    const meminfo = parseMeminfo(text);
    const total = requireMemTotal(meminfo);
    assert.ok(total > 0, tree);
    assert.ok(meminfoKib(meminfo, "MemFree") <= total, tree);
  }
});

const CAPTURED: { tree: string; expected: Record<string, number>; fields: number }[] = [
  {
    tree: "x86_64-vm",
    expected: { MemTotal: 24684084, "Active(anon)": 1536, HugePages_Total: 0, Hugepagesize: 2048 },
    fields: 54,
  },
  {
    tree: "aarch64-bubblegum96",
    expected: { MemTotal: 1987972, CmaFree: 573280, VmallocChunk: 251634132 },
    fields: 34,
  },
];

for (const { tree, expected, fields } of CAPTURED) {
  Deno.test(`parseMeminfo: the ${tree} capture`, () => {
    const meminfo = parseMeminfo(capturedText(tree, "proc/meminfo"));
    for (const [key, value] of Object.entries(expected)) assert.equal(meminfo.get(key), value, key);
    assert.equal(meminfo.size, fields);
  });
}
