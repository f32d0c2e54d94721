/**
 * Tests of `GetCmdFree`: the pure formatter against the busybox layout of docs/protocol.md 3.6
 * (table-driven), golden outputs of captured trees, and the live /proc/meminfo.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import { formatFree, freeCollector } from "../methods/free.ts";
import { ProcFs } from "../proc/fs.ts";
import { parseKeyNumbers } from "../proc/meminfo.ts";

const GOLDEN_TREES = ["x86_64-vm", "synthetic-processes", "synthetic-smaps"];
const HEADER = "                   total         used         free       shared      buffers" +
  "       cached";

function treeRoot(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

function meminfo(entries: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(entries));
}

const FORMAT_CASES: { name: string; meminfo: Map<string, number>; expected: string[] }[] = [
  {
    name: "the example of docs/protocol.md 3.6",
    meminfo: meminfo({
      MemTotal: 24684092,
      MemFree: 23905960,
      Shmem: 8856,
      Buffers: 2144,
      Cached: 598176,
      SwapTotal: 0,
      SwapFree: 0,
    }),
    expected: [
      HEADER,
      "Mem:            24684092       778132     23905960         8856         2144       598176",
      "-/+ buffers/cache:             177812     24506280",
      "Swap:                 0            0            0",
    ],
  },
  {
    name: "swap in use",
    meminfo: meminfo({
      MemTotal: 2048000,
      MemFree: 512000,
      Shmem: 16000,
      Buffers: 64000,
      Cached: 256000,
      SwapTotal: 1048576,
      SwapFree: 1000000,
    }),
    expected: [
      HEADER,
      "Mem:             2048000      1536000       512000        16000        64000       256000",
      "-/+ buffers/cache:            1216000       832000",
      "Swap:           1048576        48576      1000000",
    ],
  },
  {
    name: "keys other than MemTotal missing count as 0",
    meminfo: meminfo({ MemTotal: 1000 }),
    expected: [
      HEADER,
      "Mem:                1000         1000            0            0            0            0",
      "-/+ buffers/cache:               1000            0",
      "Swap:                 0            0            0",
    ],
  },
  {
    name: "negative differences print as 0",
    meminfo: meminfo({
      MemTotal: 100,
      MemFree: 150,
      Buffers: 10,
      Cached: 20,
      SwapTotal: 5,
      SwapFree: 9,
    }),
    expected: [
      HEADER,
      "Mem:                 100            0          150            0           10           20",
      "-/+ buffers/cache:                  0          180",
      "Swap:                 5            0            9",
    ],
  },
  {
    // As with busybox's `%13llu`, nothing separates a 14-digit number from the one before.
    name: "a number wider than its column is printed whole and pushes the line right",
    meminfo: meminfo({ MemTotal: 12345678901234, MemFree: 1 }),
    expected: [
      HEADER,
      "Mem:       1234567890123412345678901233            1            0            0            0",
      "-/+ buffers/cache:      12345678901233            1",
      "Swap:                 0            0            0",
    ],
  },
];

for (const { name, meminfo, expected } of FORMAT_CASES) {
  Deno.test(`formatFree: ${name}`, () => {
    assert.equal(formatFree(meminfo), expected.join("\n") + "\n");
  });
}

Deno.test("formatFree: the columns of docs/protocol.md 3.6 (11 + 6 × 13, 24 + 2 × 13, 10 + 3 × 13)", () => {
  const lines = formatFree(meminfo({ MemTotal: 7, MemFree: 3, SwapTotal: 2, SwapFree: 1 }))
    .split("\n");
  assert.deepEqual(lines.map((line) => line.length), [89, 89, 50, 49, 0]);
  assert.ok(lines[0]!.startsWith(" ".repeat(19) + "total"));
  assert.ok(lines[1]!.startsWith("Mem:" + " ".repeat(19) + "7"));
  assert.ok(lines[2]!.startsWith("-/+ buffers/cache:" + " ".repeat(18) + "4"));
  assert.ok(lines[3]!.startsWith("Swap:" + " ".repeat(17) + "2"));
});

Deno.test("formatFree: MemTotal missing is a failure naming /proc/meminfo", () => {
  assert.throws(
    () => formatFree(meminfo({ MemFree: 1, Buffers: 2 })),
    (error: unknown) =>
      error instanceof MethodFailure &&
      error.message === 'Cannot parse "/proc/meminfo": it has no "MemTotal" line',
  );
});

Deno.test("freeCollector: an unreadable /proc/meminfo is a failure naming it", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-free-" });
  try {
    const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
    await assert.rejects(
      freeCollector.collect({ fs, methods: [] }),
      (error: unknown) =>
        error instanceof MethodFailure &&
        error.message.startsWith('Cannot read "/proc/meminfo": no such file'),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

for (const tree of GOLDEN_TREES) {
  Deno.test(`freeCollector: golden output of ${tree}`, async () => {
    const root = treeRoot(tree);
    const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
    const text = await freeCollector.collect({ fs, methods: [] });
    assert.equal(text, await Deno.readTextFile(`${root}/expected/GetCmdFree.txt`));
  });
}

Deno.test("freeCollector: live /proc/meminfo", async () => {
  const fs = new ProcFs({ maxFileBytes: 1 << 24 });
  const text = await freeCollector.collect({ fs, methods: [] });
  const lines = text.split("\n");
  assert.equal(lines.length, 5, text);
  assert.equal(lines[0], HEADER);
  assert.equal(lines[4], "");
  const numbers = (line: string, prefix: string, count: number): number[] => {
    assert.ok(line.startsWith(prefix), `${JSON.stringify(line)} starts with ${prefix}`);
    const values = line.slice(prefix.length).trim().split(/ +/).map(Number);
    assert.equal(values.length, count, line);
    for (const value of values) assert.ok(Number.isSafeInteger(value) && value >= 0, line);
    return values;
  };
  const [total, used, free, , buffers, cached] = numbers(lines[1]!, "Mem:", 6);
  const [usedNoCache, freeWithCache] = numbers(lines[2]!, "-/+ buffers/cache:", 2);
  const [swapTotal, swapUsed, swapFree] = numbers(lines[3]!, "Swap:", 3);
  // MemTotal does not change while the system runs; the other numbers move between reads.
  const live = parseKeyNumbers(await Deno.readTextFile("/proc/meminfo"));
  assert.equal(total, live.get("MemTotal"));
  assert.equal(used! + free!, total);
  assert.equal(usedNoCache, Math.max(0, used! - buffers! - cached!));
  assert.equal(freeWithCache, free! + buffers! + cached!);
  assert.equal(swapUsed! + swapFree!, swapTotal);
});
