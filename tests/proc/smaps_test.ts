/**
 * Tests of proc/smaps.ts: the sums of an smaps or smaps_rollup text on empty, truncated and
 * garbage text, and the synthetic tree of old-kernel and awkward smaps files.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseKernelPageBytes, parseSmapsUsage } from "../../proc/smaps.ts";
import { capturedText } from "./fixture.ts";

const NO_ADDRESS_SPACE: { name: string; text: string }[] = [
  { name: "empty (a kernel thread, a zombie)", text: "" },
  { name: "garbage", text: "\u0000\u0001 garbage\n" },
  {
    name: "a header line only (cut after it)",
    text: "00400000-00452000 r-xp 00000000 08:02 173521 /bin/x\n",
  },
  { name: "Pss without Rss", text: "Pss: 5 kB\nSwap: 1 kB\n" },
];

for (const { name, text } of NO_ADDRESS_SPACE) {
  Deno.test(`parseSmapsUsage: ${name} is undefined`, () => {
    assert.equal(parseSmapsUsage(text), undefined);
  });
}

Deno.test("parseSmapsUsage: a text cut inside a mapping keeps the lines before the cut", () => {
  assert.deepEqual(parseSmapsUsage("Rss:  8 kB\nPss:  4 kB\nPrivate_Clean:  2 kB\nPriv"), {
    rssKib: 8,
    pssKib: 4,
    ussKib: 2,
    swapKib: 0,
  });
});

Deno.test("parseSmapsUsage: a rollup", () => {
  assert.deepEqual(parseSmapsUsage(capturedText("synthetic-smaps", "proc/10/smaps_rollup")), {
    rssKib: 5000,
    pssKib: 2500,
    ussKib: 2000,
    swapKib: 0,
  });
});

Deno.test("parseSmapsUsage: three mappings summed; SwapPss, Private_Hugetlb and a file named like a line left out", () => {
  assert.deepEqual(parseSmapsUsage(capturedText("synthetic-smaps", "proc/1/smaps")), {
    rssKib: 1424,
    pssKib: 1212,
    ussKib: 1100,
    swapKib: 300,
  });
});

Deno.test("parseKernelPageBytes: the first KernelPageSize line, in bytes", () => {
  assert.equal(parseKernelPageBytes(""), undefined);
  assert.equal(parseKernelPageBytes("Rss: 4 kB\n"), undefined);
  assert.equal(parseKernelPageBytes("KernelPageSize:  64 kB\nKernelPageSize:  2048 kB\n"), 65536);
  assert.equal(parseKernelPageBytes(capturedText("synthetic-smaps", "proc/1/smaps")), 4096);
});
