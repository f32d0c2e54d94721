/**
 * Tests of proc/vmstat.ts: what is and is not /proc/vmstat, and the captured x86 file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseVmCounters, parseVmstat, vmCounters } from "../../proc/vmstat.ts";
import { capturedText, testNotTheFile } from "./fixture.ts";

testNotTheFile("parseVmstat", parseVmstat, {
  path: "/proc/vmstat",
  problem: "no line is a counter name and a number",
  cases: {
    empty: "",
    "blank lines": "\n\n",
    garbage: "\u0000\u0001\u0002\n?? !!\n",
    "another file (/proc/meminfo)": "MemTotal:  1000 kB\nMemFree:  10 kB\n",
    "truncated inside the first name": "nr_free_pa",
  },
});

Deno.test("parseVmstat: a text cut in the middle keeps the counters before the cut", () => {
  assert.deepEqual([...parseVmstat("nr_free_pages 12\npgpgin 7\npgpgou")], [
    ["nr_free_pages", 12],
    ["pgpgin", 7],
    ["pgpgou", 0],
  ]);
});

Deno.test("vmCounters: the four counters of vmstat, absent ones 0", () => {
  assert.deepEqual(vmCounters(new Map([["pgpgin", 5], ["pswpout", 2], ["pgfault", 9]])), {
    pgpgin: 5,
    pgpgout: 0,
    pswpin: 0,
    pswpout: 2,
  });
});

Deno.test("parseVmstat: the x86_64 VM's 192 counters", () => {
  const text = capturedText("x86_64-vm", "proc/vmstat");
  const fields = parseVmstat(text);
  assert.equal(fields.size, 192);
  assert.equal(fields.get("nr_free_pages"), 881582);
  assert.deepEqual(vmCounters(fields), { pgpgin: 721401, pgpgout: 271552, pswpin: 0, pswpout: 0 });
  assert.deepEqual(parseVmCounters(text), vmCounters(fields));
});
