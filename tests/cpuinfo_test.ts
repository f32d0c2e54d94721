/**
 * Tests of `GetCpuInfo`: the `cpu_name` rule on every x86, ARMv7 and AArch64 layout we have,
 * the CPU count and its fallbacks, golden texts of the fixture trees, what LEPV reads from it
 * (docs/protocol.md 4.6), and the live machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  ARM_IMPLEMENTERS,
  cpuInfoCollector,
  cpuinfoProcessorCount,
  cpuName,
  formatCpuInfo,
} from "../methods/cpu_info.ts";
import { MethodFailure } from "../failure.ts";
import { ProcFs } from "../proc/fs.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

function treeRoot(name: string): string {
  return fileURLToPath(new URL(`${name}/`, FIXTURES)).replace(/\/$/, "");
}

function collect(root: string): Promise<string> {
  const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
  return cpuInfoCollector.collect({ fs, methods: [] });
}

/** LEPV's GetCpuInfo parser (4.6): the first line starting with `cpunr`, `int(split(':')[1])`. */
function lepvCpuCount(text: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith("cpunr"));
  assert.ok(line !== undefined, "LEPV needs a cpunr line");
  const value = line.split(":")[1]!.trim();
  assert.match(value, /^\d+$/, "Python's int() accepts it");
  return Number(value);
}

Deno.test("cpuName: the original's rule and the fallbacks, layout by layout", () => {
  const cases: [name: string, cpuinfo: string, expected: string][] = [
    ["empty file", "", "unknown"],
    ["only blank lines", "\n\n\n", "unknown"],
    ["no key-value lines", "garbage\n\x00\xff\nmore\n", "unknown"],
    [
      "x86 Intel: vendor_id, not the model name",
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)\n",
      "GenuineIntel",
    ],
    [
      "x86 AMD",
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763\n",
      "AuthenticAMD",
    ],
    [
      "x86 vendor without ARM/Intel/AMD in it: vendor_id fallback",
      "processor\t: 0\nvendor_id\t: HygonGenuine\nmodel name\t: Hygon C86 7185\n",
      "HygonGenuine",
    ],
    [
      "ARMv7 legacy header line",
      "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 1810.43\n",
      "ARMv7 Processor rev 4 (v7l)",
    ],
    [
      "ARMv7 model name line",
      "processor : 0\nmodel name : ARMv7 Processor rev 3 (v7l)\nCPU implementer : 0x41\n",
      "ARMv7 Processor rev 3 (v7l)",
    ],
    [
      "old arm64 header line",
      "Processor\t: AArch64 Processor rev 2 (aarch64)\nprocessor\t: 0\n",
      "AArch64 Processor rev 2 (aarch64)",
    ],
    [
      "modern arm64, Arm implementer (the original crashed here)",
      "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n" +
      "CPU part\t: 0xd08\n\nprocessor\t: 1\nCPU implementer\t: 0x41\n",
      "ARM",
    ],
    [
      "modern arm64, Phytium implementer",
      "processor\t: 0\nCPU implementer\t: 0x70\nCPU part\t: 0x660\n\n",
      "Phytium",
    ],
    [
      "modern arm64, upper-case hex",
      "processor\t: 0\nCPU implementer\t: 0x4E\n",
      "NVIDIA",
    ],
    [
      "modern arm64, unknown implementer: the board name",
      "processor\t: 0\nCPU implementer\t: 0x99\n\nHardware\t: SomeBoard\n",
      "SomeBoard",
    ],
    [
      "modern arm64, implementer that is not a number",
      "processor\t: 0\nCPU implementer\t: ?\n",
      "unknown",
    ],
    [
      "a matching word after the first blank line is not the original's match",
      "processor\t: 0\nCPU implementer\t: 0x70\n\nHardware\t: ARM Juno board\n",
      "Phytium",
    ],
    [
      "a blank line first, then x86",
      "\nprocessor\t: 0\nvendor_id\t: GenuineIntel\n",
      "GenuineIntel",
    ],
    [
      "PowerPC",
      "processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\n",
      "POWER9 (raw), altivec supported",
    ],
    [
      "RISC-V",
      "processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc\nuarch\t\t: sifive,u74-mc\n",
      "sifive,u74-mc",
    ],
    [
      "MIPS",
      "system type\t\t: MT7621\nprocessor\t\t: 0\ncpu model\t\t: MIPS 1004Kc V2.15\n",
      "MIPS 1004Kc V2.15",
    ],
    ["s390x", "vendor_id       : IBM/S390\n# processors    : 2\n", "IBM/S390"],
    [
      "values are trimmed",
      "Processor : ARMv6-compatible processor rev 5 (v6l)   \n",
      "ARMv6-compatible processor rev 5 (v6l)",
    ],
  ];
  for (const [name, cpuinfo, expected] of cases) {
    assert.equal(cpuName(cpuinfo), expected, name);
  }
});

Deno.test("ARM_IMPLEMENTERS: the codes of the fixture machines", () => {
  assert.equal(ARM_IMPLEMENTERS.get(0x41), "ARM");
  assert.equal(ARM_IMPLEMENTERS.get(0x70), "Phytium");
  assert.equal(ARM_IMPLEMENTERS.get(0x48), "HiSilicon");
  assert.equal(ARM_IMPLEMENTERS.get(0xc0), "Ampere");
});

Deno.test("cpuinfoProcessorCount: highest processor number + 1, else 1, empty 0", () => {
  const cases: [name: string, cpuinfo: string, expected: number][] = [
    ["empty", "", 0],
    ["blank", "\n \n", 0],
    ["uniprocessor ARM without processor lines", "Processor\t: ARMv6\nBogoMIPS\t: 791.34\n", 1],
    ["two x86 CPUs", "processor\t: 0\nvendor_id\t: x\n\nprocessor\t: 1\nvendor_id\t: x\n", 2],
    ["gaps count as CPUs", "processor : 0\n\nprocessor : 3\n", 4],
    ["the capitalised header is not a processor line", "Processor\t: 7\nprocessor\t: 0\n", 1],
    ["a non-number is not counted", "processor\t: x\n", 1],
  ];
  for (const [name, cpuinfo, expected] of cases) {
    assert.equal(cpuinfoProcessorCount(cpuinfo), expected, name);
  }
});

Deno.test("formatCpuInfo: two lines, each ending with a newline", () => {
  assert.equal(
    formatCpuInfo({ cpuCount: 4, name: "GenuineIntel" }),
    "cpunr: 4\ncpu_name: GenuineIntel\n",
  );
  assert.equal(formatCpuInfo({ cpuCount: 1, name: "unknown" }), "cpunr: 1\ncpu_name: unknown\n");
});

/** Every cpuinfo tree with what GetCpuInfo must say about it. */
const CPUINFO_TREES: [tree: string, cpuCount: number, name: string][] = [
  ["aarch64-android", 1, "AArch64 Processor rev 0 (aarch64)"],
  ["aarch64-bubblegum96", 4, "AArch64 Processor rev 2 (aarch64)"],
  ["aarch64-phytium", 16, "Phytium"],
  ["armv6-imapx200", 1, "ARMv6-compatible processor rev 5 (v6l)"],
  ["armv7-bcm2835", 4, "ARMv7 Processor rev 3 (v7l)"],
  ["armv7-pcduino", 2, "ARMv7 Processor rev 4 (v7l)"],
  ["armv7-sun8i", 2, "ARMv7 Processor rev 5 (v7l)"],
  ["x86_64-qemu", 2, "GenuineIntel"],
  ["x86_64-vm", 2, "GenuineIntel"],
];

for (const [tree, cpuCount, name] of CPUINFO_TREES) {
  Deno.test(`golden: GetCpuInfo of ${tree}`, async () => {
    const root = treeRoot(tree);
    const text = await collect(root);
    assert.equal(text, formatCpuInfo({ cpuCount, name }));
    assert.equal(text, await Deno.readTextFile(`${root}/expected/GetCpuInfo.txt`));
    assert.equal(lepvCpuCount(text), cpuCount);
  });
}

Deno.test("golden: every expected GetCpuInfo text belongs to a tree of the table", () => {
  const withExpected: string[] = [];
  for (const entry of Deno.readDirSync(FIXTURES)) {
    try {
      Deno.statSync(`${treeRoot(entry.name)}/expected/GetCpuInfo.txt`);
      withExpected.push(entry.name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  assert.deepEqual(withExpected.sort(), CPUINFO_TREES.map(([tree]) => tree).sort());
});

Deno.test("GetCpuInfo: the count comes from /sys first, offline CPUs included", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-cpuinfo-" });
  try {
    for (const cpu of ["cpu0", "cpu1", "cpu5"]) {
      await Deno.mkdir(`${root}/sys/devices/system/cpu/${cpu}`, { recursive: true });
    }
    await Deno.mkdir(`${root}/proc`);
    await Deno.writeTextFile(`${root}/proc/stat`, "cpu  1 2 3 4\ncpu0 1 2 3 4\n");
    await Deno.writeTextFile(`${root}/proc/cpuinfo`, "processor\t: 0\nCPU implementer\t: 0x48\n");
    assert.equal(await collect(root), "cpunr: 6\ncpu_name: HiSilicon\n");
    // Without /sys: /proc/stat (online CPUs only).
    await Deno.remove(`${root}/sys`, { recursive: true });
    await Deno.writeTextFile(`${root}/proc/stat`, "cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu2 1 2 3 4\n");
    assert.equal(await collect(root), "cpunr: 3\ncpu_name: HiSilicon\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("GetCpuInfo: without /proc/cpuinfo the name is unknown, the count still there", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-cpuinfo-" });
  try {
    await Deno.mkdir(`${root}/sys/devices/system/cpu/cpu0`, { recursive: true });
    assert.equal(await collect(root), "cpunr: 1\ncpu_name: unknown\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("GetCpuInfo: nothing to count CPUs from is a clear failure", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-cpuinfo-" });
  try {
    await assert.rejects(collect(root), (error: unknown) => {
      assert.ok(error instanceof MethodFailure);
      assert.match(error.message, /^Cannot count CPUs: .*\/sys\/devices\/system\/cpu/);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("live: cpunr is the number of cpuN directories of this machine", async () => {
  const numbers = Array.from(Deno.readDirSync("/sys/devices/system/cpu"))
    .map((entry) => /^cpu(\d+)$/.exec(entry.name)?.[1])
    .filter((number) => number !== undefined)
    .map(Number);
  assert.ok(numbers.length > 0);
  const text = await collect("/");
  assert.match(text, /^cpunr: \d+\ncpu_name: [^\n]+\n$/);
  assert.equal(lepvCpuCount(text), numbers.length);
  assert.equal(lepvCpuCount(text), Math.max(...numbers) + 1);
  if (Deno.build.arch === "x86_64") {
    const vendor = /^vendor_id\s*: (.*)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1];
    assert.equal(text.split("\n")[1], `cpu_name: ${vendor}`);
  }
});

Deno.test("GetCpuInfo: /proc/cpuinfo is read once per tree, and again while it could not be read", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-cpuinfo-" });
  try {
    await Deno.mkdir(`${root}/sys/devices/system/cpu/cpu0`, { recursive: true });
    await Deno.mkdir(`${root}/proc`);
    const fs = new ProcFs({ root, maxFileBytes: 1 << 16 });
    const call = () => cpuInfoCollector.collect({ fs, methods: [] });
    assert.equal(await call(), "cpunr: 1\ncpu_name: unknown\n", "no /proc/cpuinfo yet");
    await Deno.writeTextFile(`${root}/proc/cpuinfo`, "processor\t: 0\nvendor_id\t: GenuineIntel\n");
    assert.equal(await call(), "cpunr: 1\ncpu_name: GenuineIntel\n", "read once it exists");
    await Deno.writeTextFile(`${root}/proc/cpuinfo`, "processor\t: 0\nvendor_id\t: AuthenticAMD\n");
    assert.equal(await call(), "cpunr: 1\ncpu_name: GenuineIntel\n", "and not read again");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
