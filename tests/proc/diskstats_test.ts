/**
 * Tests of proc/diskstats.ts beyond the line layouts tests/iostat_test.ts covers: texts that are
 * empty, truncated or garbage, and the captured files of an x86 VM and a synthetic layout of SATA,
 * NVMe and MMC disks (disks-mixed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseDiskstats } from "../../proc/diskstats.ts";
import { capturedFiles, capturedText } from "./fixture.ts";

const NO_DEVICES: { name: string; text: string }[] = [
  { name: "empty (a machine without block devices)", text: "" },
  { name: "garbage", text: "\u0000\u0001 not diskstats\n" },
  { name: "another file (/proc/stat)", text: "cpu  1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n" },
  { name: "a line truncated before its counters", text: "   8       0 sda 184212 10293" },
];

for (const { name, text } of NO_DEVICES) {
  Deno.test(`parseDiskstats: ${name} has no device`, () => {
    assert.deepEqual([...parseDiskstats(text).keys()], []);
  });
}

Deno.test("parseDiskstats: the x86_64 VM's vda", () => {
  const disks = parseDiskstats(capturedText("x86_64-vm", "proc/diskstats"));
  assert.deepEqual(disks.get("vda"), {
    readIos: 10104,
    readMerges: 4670,
    readSectors: 1442802,
    readTicks: 11262,
    writeIos: 1086,
    writeMerges: 3864,
    writeSectors: 543104,
    writeTicks: 1439,
    inFlight: 0,
    ioTicks: 1808,
    timeInQueue: 12961,
  });
});

Deno.test("parseDiskstats: the synthetic SATA, NVMe and MMC disks and their partitions", () => {
  const disks = parseDiskstats(capturedText("disks-mixed", "proc/diskstats"));
  for (const name of ["sda", "sda1", "nvme0n1", "mmcblk0"]) assert.ok(disks.has(name), name);
  assert.equal(disks.get("nvme0n1")!.readIos, 255999);
  assert.equal(disks.get("mmcblk0")!.readSectors, 246210);
});

Deno.test("parseDiskstats: every line of every capture is a device", () => {
  for (const { tree, text } of capturedFiles("proc/diskstats")) {
    assert.equal(parseDiskstats(text).size, text.trimEnd().split("\n").length, tree);
  }
});
