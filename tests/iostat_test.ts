// GetCmdIostat: the /proc/diskstats parser, disk selection, interval arithmetic and the sysstat
// 11.5 layout; golden reports of fixture trees; LEPV's parsing rule (docs/protocol.md 4.9) applied to
// every report; and a live write with fsync that must show up as write throughput on its disk.

import assert from "node:assert/strict";
import {
  counterDelta,
  formatIostat,
  formatIostatRow,
  IOSTAT_HEADER,
  iostatCollector,
  iostatRow,
  iostatRows,
} from "../methods/iostat.ts";
import { type DiskCounters, type DiskStats, parseDiskstats } from "../proc/diskstats.ts";
import { diskstatsSource, isPartitionName, wholeDisks } from "../sampling/diskstats.ts";
import { MethodFailure } from "../failure.ts";
import { ProcFs } from "../proc/fs.ts";
import type { Interval } from "../sampling/sampler.ts";
import { skipUnless } from "./helpers/skip.ts";
import { VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

function counters(values: Partial<DiskCounters> = {}): DiskCounters {
  return {
    readIos: 0,
    readMerges: 0,
    readSectors: 0,
    readTicks: 0,
    writeIos: 0,
    writeMerges: 0,
    writeSectors: 0,
    writeTicks: 0,
    inFlight: 0,
    ioTicks: 0,
    timeInQueue: 0,
    ...values,
  };
}

/** One device row as LEPV's `get_status` reads it. */
interface LepvDevice {
  name: string;
  readKiBPerSecond: number;
  writeKiBPerSecond: number;
  utilization: number;
}

/**
 * LEPV's iostat parser (docs/protocol.md 4.9): `split("\n")` without stripping, the first line that
 * starts with `Device:` and everything after it; every non-blank line after the header is a
 * device: token 0 name, 5 rkB/s, 6 wkB/s, −1 %util, each must parse as a number.
 */
function lepvIostat(text: string): LepvDevice[] {
  const lines = text.split("\n");
  const header = lines.findIndex((line) => line.startsWith("Device:"));
  assert.ok(header >= 0, "a line starts with Device:");
  const devices: LepvDevice[] = [];
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "") continue;
    const tokens = line.trim().split(/\s+/);
    const number = (index: number): number => {
      const value = Number(tokens.at(index));
      assert.ok(Number.isFinite(value), `token ${index} of ${JSON.stringify(line)} is a number`);
      return value;
    };
    devices.push({
      name: tokens[0]!,
      readKiBPerSecond: number(5),
      writeKiBPerSecond: number(6),
      utilization: number(-1),
    });
  }
  return devices;
}

/** Hides the banner date, as tests/golden_test.ts does. */
function maskDate(text: string): string {
  return text.replace(/ \t\d\d\/\d\d\/\d\d \t/g, " \tMM/DD/YY \t");
}

Deno.test("parseDiskstats: 14-, 18- and 20-field lines; odd lines are skipped", () => {
  const cases: { name: string; text: string; expected: [string, Partial<DiskCounters>][] }[] = [
    {
      name: "14 fields (2.6.25 to 4.17)",
      text: "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n",
      expected: [["sda", {
        readIos: 1,
        readMerges: 2,
        readSectors: 3,
        readTicks: 4,
        writeIos: 5,
        writeMerges: 6,
        writeSectors: 7,
        writeTicks: 8,
        inFlight: 9,
        ioTicks: 10,
        timeInQueue: 11,
      }]],
    },
    {
      name: "18 fields (4.18+, discards ignored)",
      text: " 259       0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 900 901 902 903\n",
      expected: [["nvme0n1", { readIos: 1, timeInQueue: 11 }]],
    },
    {
      name: "20 fields (5.5+, flushes ignored), a name with a slash",
      text: " 104       0 cciss/c0d0 1 2 3 4 5 6 7 8 9 10 11 0 0 0 0 60602 106555\n",
      expected: [["cciss/c0d0", { readIos: 1, writeSectors: 7 }]],
    },
    {
      name: "7-field partition line of kernels before 2.6.25",
      text: "   3       1 hda1 446216 784926 9550688 4382310\n",
      expected: [],
    },
    {
      name: "empty text and blank lines",
      text: "\n\n   \n",
      expected: [],
    },
    {
      name: "too few fields, non-numeric or negative counters",
      text: "8 0 sda 1 2 3\n8 0 sdb 1 2 x 4 5 6 7 8 9 10 11\n8 0 sdc 1 2 -3 4 5 6 7 8 9 10 11\n",
      expected: [],
    },
    {
      name: "a bad line does not hide the next one; counters above 2^32",
      text: "garbage\n   8      16 sdb 5000000000 0 0 0 1 0 0 0 0 0 0\n",
      expected: [["sdb", { readIos: 5_000_000_000, writeIos: 1 }]],
    },
  ];
  for (const { name, text, expected } of cases) {
    const parsed = parseDiskstats(text);
    assert.deepEqual(
      [...parsed.keys()],
      expected.map(([device]) => device),
      name,
    );
    for (const [device, values] of expected) {
      assert.deepEqual(parsed.get(device), counters({ ...parsed.get(device), ...values }), name);
      for (const [field, value] of Object.entries(values)) {
        assert.equal(parsed.get(device)![field as keyof DiskCounters], value, `${name}: ${field}`);
      }
    }
  }
});

Deno.test("isPartitionName: the kernel's partition naming", () => {
  const cases: [name: string, disk: string, partition: boolean][] = [
    ["sda1", "sda", true],
    ["sda12", "sda", true],
    ["sdaa", "sda", false],
    ["sda", "sda", false],
    ["nvme0n1p1", "nvme0n1", true],
    ["nvme0n10", "nvme0n1", false],
    ["mmcblk0p2", "mmcblk0", true],
    ["mmcblk0boot0", "mmcblk0", false],
    ["cciss/c0d0p1", "cciss/c0d0", true],
    ["md0p1", "md0", true],
    ["loop10", "loop1", false],
    ["dm-10", "dm-1", false],
    ["vdb1", "vda", false],
  ];
  for (const [name, disk, partition] of cases) {
    assert.equal(isPartitionName(name, disk), partition, `${name} of ${disk}`);
  }
});

Deno.test("wholeDisks: /sys/block decides, with ! for /; without /sys partitions are left out", () => {
  const names = [
    "sda",
    "sda1",
    "nvme0n1",
    "nvme0n1p1",
    "dm-0",
    "md0",
    "cciss/c0d0",
    "cciss/c0d0p1",
    "mmcblk0",
    "mmcblk0p1",
    "loop1",
    "loop10",
  ];
  const sysBlock = new Set(["sda", "nvme0n1", "dm-0", "md0", "cciss!c0d0", "mmcblk0", "loop1"]);
  assert.deepEqual(
    [...wholeDisks(names, sysBlock)],
    ["sda", "nvme0n1", "dm-0", "md0", "cciss/c0d0", "mmcblk0", "loop1"],
  );
  assert.deepEqual([...wholeDisks(names, new Set(["cciss/c0d0"]))], [], "the name is not `!`");
  assert.deepEqual(
    [...wholeDisks(names, undefined)],
    ["sda", "nvme0n1", "dm-0", "md0", "cciss/c0d0", "mmcblk0", "loop1", "loop10"],
  );
});

Deno.test("counterDelta: growth, 32-bit wraps, and 64-bit counters that went back", () => {
  const cases: [previous: number, latest: number, delta: number][] = [
    [10, 25, 15],
    [7, 7, 0],
    [2 ** 32 - 10, 5, 15],
    [2 ** 32 + 100, 50, 0],
  ];
  for (const [previous, latest, delta] of cases) {
    assert.equal(counterDelta(previous, latest), delta, `${previous} → ${latest}`);
  }
});

Deno.test("iostatRow: sysstat's definitions over the deltas of an interval", () => {
  const previous = counters({
    readIos: 1000,
    readMerges: 10,
    readSectors: 80_000,
    readTicks: 500,
    writeIos: 2000,
    writeMerges: 40,
    writeSectors: 160_000,
    writeTicks: 3000,
    ioTicks: 10_000,
    timeInQueue: 20_000,
  });
  // Over 2 s: 100 reads (8 merged) of 4,096 sectors taking 300 ms, 300 writes (60 merged) of
  // 12,288 sectors taking 1,500 ms; busy 500 ms, queue-weighted 2,400 ms.
  const latest = counters({
    readIos: 1100,
    readMerges: 18,
    readSectors: 84_096,
    readTicks: 800,
    writeIos: 2300,
    writeMerges: 100,
    writeSectors: 172_288,
    writeTicks: 4500,
    inFlight: 3,
    ioTicks: 10_500,
    timeInQueue: 22_400,
  });
  assert.deepEqual(iostatRow("sda", { previous, latest }, 2), {
    device: "sda",
    readMergesPerSecond: 4,
    writeMergesPerSecond: 30,
    readsPerSecond: 50,
    writesPerSecond: 150,
    readKiBPerSecond: 1024, // 4,096 sectors × 512 B ÷ 1,024 ÷ 2 s
    writeKiBPerSecond: 3072,
    averageRequestSectors: (4096 + 12_288) / 400,
    averageQueueLength: 1.2,
    awaitMs: 1800 / 400,
    readAwaitMs: 3,
    writeAwaitMs: 5,
    serviceMs: 500 / 400,
    utilizationPercent: 25,
  });
});

Deno.test("iostatRow: no I/O, a new device, a zero interval and a saturated disk", () => {
  const idle = counters({ readIos: 5, writeIos: 5, ioTicks: 100 });
  const zeroes = iostatRow("vda", { previous: idle, latest: idle }, 1);
  for (const [field, value] of Object.entries(zeroes)) {
    if (field !== "device") assert.equal(value, 0, `${field} of an idle disk`);
  }
  const fresh = iostatRow("sdb", { previous: undefined, latest: counters({ readIos: 9 }) }, 1);
  assert.equal(fresh.readsPerSecond, 0, "a device without a previous reading has no interval");
  const instant = iostatRow("sdc", {
    previous: counters(),
    latest: counters({ readIos: 4, readTicks: 8, ioTicks: 10 }),
  }, 0);
  assert.equal(instant.readsPerSecond, 0);
  assert.equal(instant.readAwaitMs, 2, "times per I/O need no interval");
  const busy = iostatRow("sdd", {
    previous: counters({ writeIos: 1 }),
    latest: counters({ writeIos: 101, ioTicks: 1008 }),
  }, 1);
  assert.equal(busy.utilizationPercent, 100, "capped at 100");
  assert.equal(busy.serviceMs, 10.08);
});

Deno.test("iostatRows: whole disks with I/O since boot, in /proc/diskstats order", () => {
  const stats: DiskStats = new Map([
    ["sdb", counters({ readIos: 7 })],
    ["sdb1", counters({ readIos: 7 })],
    ["sr0", counters()],
    ["dm-0", counters({ writeIos: 1 })],
    ["sda", counters({ readIos: 1 })],
  ]);
  const interval: Interval<DiskStats> = {
    previous: stats,
    latest: stats,
    seconds: 1,
    takenAt: 0,
  };
  const rows = iostatRows(interval, new Set(["sda", "sdb", "sr0", "dm-0"]));
  assert.deepEqual(rows.map((row) => row.device), ["sdb", "dm-0", "sda"]);
});

Deno.test("formatIostat: sysstat 11.5 widths, header, empty lines; LEPV reads the rows", () => {
  // 100 s of a little I/O: every column is distinct and each needs its own formula.
  const row = iostatRow("sda", {
    previous: counters(),
    latest: counters({
      readIos: 65,
      readMerges: 3,
      readSectors: 2342,
      readTicks: 624,
      writeIos: 9,
      writeMerges: 12,
      writeSectors: 678,
      writeTicks: 2482,
      ioTicks: 440,
      timeInQueue: 3000,
    }),
  }, 100);
  // Expected text from C printf with sysstat 11.5's format.
  assert.equal(
    formatIostatRow(row),
    "sda               0.03     0.12    0.65    0.09    11.71     3.39    40.81     0.03   41.97" +
      "    9.60  275.78   5.95   0.44",
  );
  const long = formatIostatRow({ ...row, device: "dm-123456789012" });
  assert.ok(long.startsWith("dm-123456789012     0.03 "), long);
  const text = formatIostat("Linux 6.1.0 (host) \t01/02/26 \t_x86_64_\t(2 CPU)", [row, {
    ...row,
    device: "nvme0n1",
    writeKiBPerSecond: 123456.789,
    utilizationPercent: 100,
  }]);
  assert.ok(text.endsWith("\n\n") && !text.endsWith("\n\n\n"), JSON.stringify(text.slice(-5)));
  const lines = text.split("\n");
  assert.equal(lines[1], "");
  assert.equal(lines[2], IOSTAT_HEADER);
  assert.equal(
    IOSTAT_HEADER,
    "Device:         rrqm/s   wrqm/s     r/s     w/s    rkB/s    wkB/s avgrq-sz avgqu-sz   " +
      "await r_await w_await  svctm  %util",
  );
  assert.deepEqual(lepvIostat(text), [
    { name: "sda", readKiBPerSecond: 11.71, writeKiBPerSecond: 3.39, utilization: 0.44 },
    { name: "nvme0n1", readKiBPerSecond: 11.71, writeKiBPerSecond: 123456.79, utilization: 100 },
  ]);
  const empty = formatIostat("banner", []);
  assert.equal(empty, `banner\n\n${IOSTAT_HEADER}\n\n`);
  assert.deepEqual(lepvIostat(empty), []);
});

for (const tree of ["x86_64-vm", "disks-mixed"]) {
  Deno.test(`golden: GetCmdIostat of ${tree} equals expected/GetCmdIostat.txt`, async () => {
    const root = new URL(`${tree}/`, FIXTURES).pathname.replace(/\/$/, "");
    const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
    const clock = new VirtualClock();
    const diskstats = diskstatsSource(fs, { intervalMs: 1000, clock });
    const collector = iostatCollector({ diskstats });
    try {
      const pending = collector.collect({ fs, methods: [] });
      await clock.advance(1000);
      const text = await pending;
      const expected = Deno.readTextFileSync(`${root}/expected/GetCmdIostat.txt`);
      assert.equal(maskDate(text), maskDate(expected));
      assert.ok(lepvIostat(text).length > 0, "LEPV finds devices");
    } finally {
      diskstats.stop(); // the source is the test's: collectors never stop one
    }
  });
}

Deno.test("GetCmdIostat: a missing /proc/diskstats is a MethodFailure naming the file", async () => {
  const root = Deno.makeTempDirSync();
  const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
  const collector = iostatCollector({ diskstats: diskstatsSource(fs, { intervalMs: 20 }) });
  try {
    await assert.rejects(
      collector.collect({ fs, methods: [] }),
      (error) => error instanceof MethodFailure && error.message.includes('"/proc/diskstats"'),
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("diskstatsSource: sampled on demand, so I/O between two polls is never missed", async () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd_iostat_" });
  const write = (sectors: number) =>
    Deno.writeTextFileSync(
      `${root}/proc/diskstats`,
      ` 254       0 vda 10 0 80 5 20 0 ${sectors} 9 0 12 14 0 0 0 0 0 0\n`,
    );
  Deno.mkdirSync(`${root}/proc`);
  write(1000);
  const clock = new VirtualClock();
  const diskstats = diskstatsSource(new ProcFs({ root, maxFileBytes: 1 << 20 }), {
    intervalMs: 100,
    clock,
  });
  try {
    const pending = diskstats.interval();
    await clock.advance(100);
    const first = await pending;
    assert.equal(first.latest.get("vda")!.writeSectors, 1000);
    // 1 MiB is written just after the poll; the next poll comes three intervals later. A sampler
    // on a clock would answer from its latest interval, after the write: no I/O at all.
    write(3048);
    await clock.advance(300);
    const next = await diskstats.interval();
    assert.equal(next.previous.get("vda")!.writeSectors, 1000);
    assert.equal(next.latest.get("vda")!.writeSectors, 3048);
    assert.equal(next.seconds, 0.3, "the interval runs from poll to poll");
  } finally {
    diskstats.stop();
    Deno.removeSync(root, { recursive: true });
  }
});

/** `major:minor` of a file's device (glibc's encoding of `st_dev`). */
function deviceNumbers(dev: number): string {
  const value = BigInt(dev);
  const major = ((value >> 8n) & 0xfffn) | ((value >> 32n) & ~0xfffn);
  const minor = (value & 0xffn) | ((value >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * The /proc/diskstats name of the whole disk that holds `directory`, or undefined when it is on
 * no block device (tmpfs, overlay, btrfs subvolumes report anonymous device numbers).
 */
function diskHolding(directory: string): string | undefined {
  let device: string;
  try {
    device = Deno.realPathSync(`/sys/dev/block/${deviceNumbers(Deno.statSync(directory).dev)}`);
  } catch {
    return undefined;
  }
  let partition = false;
  try {
    partition = Deno.statSync(`${device}/partition`).isFile;
  } catch {
    // Not a partition: the device is the whole disk.
  }
  const disk = partition ? device.slice(0, device.lastIndexOf("/")) : device;
  return disk.slice(disk.lastIndexOf("/") + 1).replaceAll("!", "/");
}

/** A new temporary directory on a real disk: the default place, else /var/tmp. */
function tempDirectoryOnDisk(): { directory: string; disk: string } | undefined {
  for (const options of [{}, { dir: "/var/tmp" }]) {
    let directory: string;
    try {
      directory = Deno.makeTempDirSync({ ...options, prefix: "lepd_iostat_" });
    } catch {
      continue;
    }
    const disk = diskHolding(directory);
    if (disk !== undefined) return { directory, disk };
    Deno.removeSync(directory, { recursive: true });
  }
  return undefined;
}

const MIB = 1024 * 1024;

/** Sectors written to `disk` since boot (/proc/diskstats, field 10), now. */
function sectorsWritten(disk: string): number {
  for (const line of Deno.readTextFileSync("/proc/diskstats").split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[2] === disk) return Number(fields[9]);
  }
  throw new Error(`${disk} is not in /proc/diskstats`);
}

/** Whether a temporary directory can be made on a block device (not tmpfs) here. */
const DISK_TEMP = (() => {
  const place = tempDirectoryOnDisk();
  if (place !== undefined) Deno.removeSync(place.directory, { recursive: true });
  return place !== undefined;
})();

Deno.test({
  name: "live: a file written with fsync shows as wkB/s on its disk, as /proc/diskstats counts it",
  ignore: skipUnless(
    Deno.build.os === "linux" && DISK_TEMP,
    "no temporary directory on a block device (TMPDIR and /var/tmp are tmpfs or unwritable)",
    "iostat live",
  ),
  async fn() {
    const place = tempDirectoryOnDisk()!;
    const fs = new ProcFs({ maxFileBytes: 1 << 24 });
    const clock = new VirtualClock();
    const diskstats = diskstatsSource(fs, { intervalMs: 1000, clock });
    const collector = iostatCollector({ diskstats });
    const file = await Deno.open(`${place.directory}/written`, { write: true, create: true });
    const sectors = () => sectorsWritten(place.disk);
    try {
      const first = collector.collect({ fs, methods: [] });
      await clock.advance(1000);
      const before = lepvIostat(await first);
      assert.ok(
        before.some((device) => device.name === place.disk),
        `${place.disk} is listed: ${JSON.stringify(before)}`,
      );
      // The next request takes its snapshot at once, the interval running from the previous
      // one: the test reads the disk's counter around both snapshots and writes in between.
      await clock.advance(1000);
      const before0 = sectors();
      const warm = collector.collect({ fs, methods: [] });
      const after0 = sectors();
      await warm;
      const chunk = crypto.getRandomValues(new Uint8Array(MIB / 16));
      for (let offset = 0; offset < 4 * MIB; offset += chunk.length) await file.write(chunk);
      await file.syncData();
      await clock.advance(1000);
      const before1 = sectors();
      const text = await collector.collect({ fs, methods: [] });
      const after1 = sectors();
      const devices = lepvIostat(text);
      const disk = devices.find((device) => device.name === place.disk);
      assert.ok(disk !== undefined, `${place.disk} is listed`);
      // Over exactly one second, wkB/s is the KiB written: sectors are 512 bytes.
      const low = (before1 - after0) / 2;
      const high = (after1 - before0) / 2;
      assert.ok(
        disk.writeKiBPerSecond >= low - 0.01 && disk.writeKiBPerSecond <= high + 0.01,
        `${place.disk}: ${disk.writeKiBPerSecond} wkB/s, kernel ${low}..${high} KiB`,
      );
      assert.ok(low >= 4096, `the 4 MiB written and synced were counted: ${low} KiB`);
      for (const device of devices) {
        assert.ok(device.utilization >= 0 && device.utilization <= 100, device.name);
      }
    } finally {
      file.close();
      diskstats.stop();
      Deno.removeSync(place.directory, { recursive: true });
    }
  },
});

Deno.test("GetCmdIostat: /sys/block is listed again only when the devices of /proc/diskstats change", async () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd_iostat_" });
  const line = (name: string, minor: number) =>
    ` 254       ${minor} ${name} 10 0 80 5 20 0 160 9 0 12 14 0 0 0 0 0 0`;
  const writeDiskstats = (names: string[]) =>
    Deno.writeTextFileSync(
      `${root}/proc/diskstats`,
      names.map((name, index) => line(name, index * 16)).join("\n") + "\n",
    );
  Deno.mkdirSync(`${root}/proc`);
  Deno.mkdirSync(`${root}/sys/block/vda`, { recursive: true });
  writeDiskstats(["vda", "vdb"]);
  const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
  const clock = new VirtualClock();
  const diskstats = diskstatsSource(fs, { intervalMs: 1000, clock });
  const collector = iostatCollector({ diskstats });
  const devices = async () => {
    const pending = collector.collect({ fs, methods: [] });
    await clock.advance(1000);
    return lepvIostat(await pending).map((row) => row.name);
  };
  try {
    assert.deepEqual(await devices(), ["vda"], "vdb is not in /sys/block: not a whole disk");
    // /sys/block changes without /proc/diskstats changing: the listing is not read again.
    Deno.mkdirSync(`${root}/sys/block/vdb`);
    assert.deepEqual(await devices(), ["vda"]);
    // A disk appears in /proc/diskstats: /sys/block is read again, and tells of both.
    Deno.mkdirSync(`${root}/sys/block/vdc`);
    writeDiskstats(["vda", "vdb", "vdc"]);
    assert.deepEqual(await devices(), ["vda", "vdb", "vdc"]);
  } finally {
    diskstats.stop();
    Deno.removeSync(root, { recursive: true });
  }
});
