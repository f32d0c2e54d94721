/**
 * Tests of proc/cpuinfo.ts: what is and is not /proc/cpuinfo, blocks and the first block, and
 * the processor count of every captured file (x86, ARMv6, ARMv7 and AArch64 layouts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCpuinfo, processorCount } from "../../proc/cpuinfo.ts";
import { capturedFiles, capturedText, testNotTheFile } from "./fixture.ts";

testNotTheFile("parseCpuinfo", parseCpuinfo, {
  path: "/proc/cpuinfo",
  problem: "no line is a key and a value",
  cases: {
    empty: "",
    "blank lines": "\n \n",
    garbage: "garbage",
    "control bytes and no colon": "\u0000\u0001\u0002\nno colons here\n",
  },
});

Deno.test("parseCpuinfo: trimmed fields, the first block ends at the first blank line", () => {
  assert.deepEqual(
    parseCpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel  \n\nprocessor\t: 1\nflags\t\t:\n"),
    {
      fields: [["processor", "0"], ["vendor_id", "GenuineIntel"], ["processor", "1"], [
        "flags",
        "",
      ]],
      firstBlock: [["processor", "0"], ["vendor_id", "GenuineIntel"]],
    },
  );
  assert.deepEqual(parseCpuinfo("\nprocessor : 0\n").firstBlock, [], "a blank line first");
});

Deno.test("parseCpuinfo: a text cut inside a line keeps the fields before it", () => {
  assert.deepEqual(parseCpuinfo("processor\t: 0\nmodel na").fields, [["processor", "0"]]);
  assert.deepEqual(parseCpuinfo("processor\t: 0\nmodel name\t: Intel(R) Xe").fields.at(-1), [
    "model name",
    "Intel(R) Xe",
  ]);
});

Deno.test("processorCount: highest processor number + 1, else 1", () => {
  assert.equal(processorCount(parseCpuinfo("processor : 0\n\nprocessor : 3\n")), 4);
  assert.equal(processorCount(parseCpuinfo("Processor\t: 7\nprocessor\t: x\n")), 1);
});

const COUNTS: Record<string, number> = {
  "aarch64-android": 1,
  "aarch64-bubblegum96": 4,
  "aarch64-phytium": 16,
  "armv6-imapx200": 1,
  "armv7-bcm2835": 4,
  "armv7-pcduino": 2,
  "armv7-sun8i": 2,
  "x86_64-qemu": 2,
  "x86_64-vm": 2,
};

Deno.test("parseCpuinfo: the processor count of every captured file", () => {
  const files = capturedFiles("proc/cpuinfo");
  assert.deepEqual(files.map((file) => file.tree), Object.keys(COUNTS));
  for (const { tree, text } of files) {
    assert.equal(processorCount(parseCpuinfo(text)), COUNTS[tree], tree);
  }
});

Deno.test("parseCpuinfo: an x86 and a modern arm64 first block", () => {
  const x86 = parseCpuinfo(capturedText("x86_64-vm", "proc/cpuinfo"));
  assert.deepEqual(x86.firstBlock.find(([key]) => key === "vendor_id"), [
    "vendor_id",
    "GenuineIntel",
  ]);
  const phytium = parseCpuinfo(capturedText("aarch64-phytium", "proc/cpuinfo"));
  assert.deepEqual(phytium.firstBlock.find(([key]) => key === "CPU implementer"), [
    "CPU implementer",
    "0x70",
  ]);
});
