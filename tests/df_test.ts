// GetCmdDf: /proc/mounts parsing, busybox's size arithmetic and row layout without the wrap,
// LEPV's parsing rule (docs/protocol.md 4.10) applied to the output, a fixture root with mounts that
// must be skipped, and the live system compared with `df -k` where that program exists.

import assert from "node:assert/strict";
import {
  DF_HEADER,
  dfCollector,
  type DfEntry,
  formatDf,
  formatDfRow,
  humanSize,
  usePercent,
} from "../methods/df.ts";
import { decodeMountField, parseMounts } from "../proc/mounts.ts";
import {
  type FsSizes,
  locallyReachable,
  mountedSizes,
  statSizes,
  statSizesSync,
} from "../sampling/filesystems.ts";
import { MethodFailure } from "../failure.ts";
import { ProcFs } from "../proc/fs.ts";

const KIB = 1024n;
const GIB = KIB ** 3n;

function sizes(totalBytes: bigint, usedBytes: bigint, availableBytes: bigint): FsSizes {
  return { totalBytes, usedBytes, availableBytes };
}

/** One `/dev/` row as LEPV's `get_capacity` reads it. */
interface LepvDisk {
  name: string;
  size: string;
  used: string;
  free: string;
}

/**
 * LEPV's df parser (docs/protocol.md 4.10): only lines starting with `/dev/`; name = token 0 without
 * the prefix, size, used, free = tokens 1–3 (a wrapped row would have no token 1).
 */
function lepvDf(text: string): LepvDisk[] {
  return text.trim().split("\n").filter((line) => line.startsWith("/dev/")).map((line) => {
    const tokens = line.split(/\s+/);
    assert.ok(tokens.length >= 4, `row ${JSON.stringify(line)} has its numbers`);
    return {
      name: tokens[0]!.slice("/dev/".length),
      size: tokens[1]!,
      used: tokens[2]!,
      free: tokens[3]!,
    };
  });
}

/** A row of busybox's layout without the wrap: device, three sizes, percentage, mount point. */
const ROW =
  /^\S+ +(0|\d+|\d+\.\d[KMGTPE]) +(0|\d+|\d+\.\d[KMGTPE]) +(0|\d+|\d+\.\d[KMGTPE]) +\d+% /;

Deno.test("humanSize: busybox df -h, including the carry and the unit past E", () => {
  const cases: [bytes: bigint, text: string][] = [
    [0n, "0"],
    [1n, "1"],
    [1023n, "1023"],
    [1024n, "1.0K"],
    [1536n, "1.5K"],
    [2024n, "2.0K"], // 1.977K: the tenth rounds to 10 and carries
    [1_048_552n, "1024.0K"], // carried past 1023 without moving to M, as busybox does
    [4096n, "4.0K"],
    [5n * KIB * KIB, "5.0M"],
    [502_687_334n, "479.4M"],
    [19_971_597_926n, "18.6G"],
    [264_212_084n * KIB, "252.0G"],
    [KIB ** 6n, "1.0E"],
    [2n ** 64n - 1n, "16.0E"],
    [2n ** 70n, "1024.0E"],
  ];
  for (const [bytes, text] of cases) assert.equal(humanSize(bytes), text, String(bytes));
});

Deno.test("usePercent: rounded used ÷ (used + available), 0 for an empty file system", () => {
  const cases: [used: bigint, available: bigint, percent: bigint][] = [
    [0n, 0n, 0n],
    [0n, 10n, 0n],
    [1n, 1n, 50n],
    [1n, 2n, 33n],
    [2n, 1n, 67n],
    [1n, 0n, 100n],
    [1n, 199n, 1n],
    [1n, 200n, 0n],
    [22_785_336n, 83_605_576n, 21n],
  ];
  for (const [used, available, percent] of cases) {
    assert.equal(usePercent(sizes(used + available, used, available)), percent);
  }
});

Deno.test("parseMounts and decodeMountField: escapes undone, odd lines skipped", () => {
  assert.equal(decodeMountField("/mnt/a\\040b\\011c\\012d\\134e"), "/mnt/a b\tc\nd\\e");
  assert.equal(decodeMountField("/plain\\04"), "/plain\\04", "an incomplete escape stays");
  assert.deepEqual(
    parseMounts(
      "rootfs / rootfs rw 0 0\n/dev/vda / ext4 rw 0 0\n\n/dev/sdb1 /media/My\\040Disk vfat rw 0 0\n" +
        "lonely\n",
    ),
    [
      { device: "rootfs", mountPoint: "/", type: "rootfs" },
      { device: "/dev/vda", mountPoint: "/", type: "ext4" },
      { device: "/dev/sdb1", mountPoint: "/media/My Disk", type: "vfat" },
    ],
  );
});

Deno.test("formatDfRow: busybox widths; long names are never wrapped; whitespace stays safe", () => {
  const root = sizes(252n * GIB, 22_785_336n * KIB, 83_605_576n * KIB);
  const cases: [entry: DfEntry, row: string][] = [
    [
      { device: "/dev/vda", mountPoint: "/", sizes: root },
      "/dev/vda                252.0G     21.7G     79.7G  21% /",
    ],
    [
      {
        device: "devtmpfs",
        mountPoint: "/dev",
        sizes: sizes(12_334_460n * KIB, 0n, 12_334_460n * KIB),
      },
      "devtmpfs                 11.8G         0     11.8G   0% /dev",
    ],
    [
      { device: "/dev/twenty-chars-xx", mountPoint: "/x", sizes: sizes(4096n, 4096n, 0n) },
      "/dev/twenty-chars-xx      4.0K      4.0K         0 100% /x",
    ],
    [
      {
        device: "/dev/disk/by-uuid/94630df9-14e5-4af3-bb7e-47b4a88b5c6f",
        mountPoint: "/",
        sizes: sizes(20_000_000_000n, 4_724_464_025n, 14_173_392_076n),
      },
      "/dev/disk/by-uuid/94630df9-14e5-4af3-bb7e-47b4a88b5c6f     18.6G      4.4G     13.2G  25% /",
    ],
    [
      { device: "/dev/my disk", mountPoint: "/media/My Disk", sizes: sizes(1000n, 10n, 990n) },
      "/dev/my\\040disk           1000        10       990   1% /media/My Disk",
    ],
    [
      { device: "tmpfs", mountPoint: "/odd\nname", sizes: sizes(1024n, 0n, 1024n) },
      "tmpfs                     1.0K         0      1.0K   0% /odd\\012name",
    ],
  ];
  for (const [entry, row] of cases) {
    assert.equal(formatDfRow(entry), row);
    assert.match(row, ROW);
  }
});

Deno.test("formatDf: header, one line per row; LEPV reads every /dev/ row", () => {
  const entries: DfEntry[] = [
    { device: "devtmpfs", mountPoint: "/dev", sizes: sizes(GIB, 0n, GIB) },
    {
      device: "/dev/mapper/vg_system-lv_root_long",
      mountPoint: "/",
      sizes: sizes(100n * GIB, 40n * GIB, 60n * GIB),
    },
    { device: "/dev/sda1", mountPoint: "/boot", sizes: sizes(512n * KIB * KIB, 0n, 0n) },
  ];
  const text = formatDf(entries);
  const lines = text.split("\n");
  assert.equal(lines[0], DF_HEADER);
  assert.equal(DF_HEADER, "Filesystem                Size      Used Available Use% Mounted on");
  assert.equal(lines.length, entries.length + 2, "each line ends with a newline, no wrap");
  assert.equal(lines.at(-1), "");
  assert.deepEqual(lepvDf(text), [
    { name: "mapper/vg_system-lv_root_long", size: "100.0G", used: "40.0G", free: "60.0G" },
    { name: "sda1", size: "512.0M", used: "0", free: "0" },
  ]);
  assert.equal(formatDf([]), DF_HEADER + "\n");
});

Deno.test("statSizes: a real file system, a pseudo one without blocks, a missing path", async () => {
  const root = await statSizes("/");
  assert.ok(root !== undefined && root.totalBytes > 0n, "the root file system has blocks");
  assert.ok(root.usedBytes + root.availableBytes <= root.totalBytes);
  assert.equal(await statSizes("/proc"), undefined, "procfs reports no blocks");
  assert.equal(await statSizes("/nonexistent/lepd/mount"), undefined);
});

Deno.test("GetCmdDf under a root: rootfs, block-less types and unreachable mounts are skipped", async () => {
  const root = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${root}/proc`);
    Deno.mkdirSync(`${root}/with space`);
    Deno.mkdirSync(`${root}/cg`);
    Deno.writeTextFileSync(
      `${root}/proc/mounts`,
      [
        "rootfs / rootfs rw 0 0",
        "/dev/mapper/very-long-volume-group-root / ext4 rw,relatime 0 0",
        "/dev/gone /missing ext4 rw 0 0",
        // Directories of the tree, which statfs would report with blocks: skipped by their type.
        "proc /proc proc rw 0 0",
        "cgroup /cg cgroup rw,cpu 0 0",
        "/dev/sdb1 /with\\040space vfat rw 0 0",
        "",
      ].join("\n"),
    );
    const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
    const text = await dfCollector.collect({ fs, methods: [] });
    const lines = text.trimEnd().split("\n");
    assert.equal(lines.length, 3, text);
    assert.ok(lines[1]!.startsWith("/dev/mapper/very-long-volume-group-root "), lines[1]);
    assert.ok(lines[1]!.endsWith("% /"), lines[1]);
    assert.ok(lines[2]!.startsWith("/dev/sdb1 ") && lines[2]!.endsWith("% /with space"));
    for (const line of lines.slice(1)) assert.match(line, ROW);
    assert.deepEqual(lepvDf(text).map((disk) => disk.name), [
      "mapper/very-long-volume-group-root",
      "sdb1",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("GetCmdDf: a missing /proc/mounts is a MethodFailure naming it", async () => {
  const root = Deno.makeTempDirSync();
  try {
    const fs = new ProcFs({ root, maxFileBytes: 1 << 20 });
    await assert.rejects(
      dfCollector.collect({ fs, methods: [] }),
      (error) => error instanceof MethodFailure && error.message.includes('"/proc/mounts"'),
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

/** `df -k` of one mount point: its 1K-blocks, or undefined where `df` is not installed. */
function dfKiloBlocks(mountPoint: string): bigint | undefined {
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command("df", { args: ["-k", mountPoint], env: { LC_ALL: "C" } })
      .outputSync();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  // The last line holds the numbers; a long device name may sit alone on the line before.
  const tokens = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!.split(/\s+/);
  return BigInt(tokens.at(-5)!);
}

Deno.test({
  name: "live: unwrapped rows, /dev/ rows LEPV can read, the root file system as df -k sees it",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const fs = new ProcFs({ maxFileBytes: 1 << 24 });
    const text = await dfCollector.collect({ fs, methods: [] });
    const lines = text.split("\n");
    assert.equal(lines[0], DF_HEADER);
    assert.equal(lines.at(-1), "", "the text ends with a newline");
    const rows = lines.slice(1, -1);
    for (const row of rows) assert.match(row, ROW, "no row is wrapped");
    for (const disk of lepvDf(text)) {
      for (const size of [disk.size, disk.used, disk.free]) {
        assert.match(size, /^(0|\d+|\d+\.\d[KMGTPE])$/, `${disk.name}: ${size}`);
      }
    }
    const mountPoints = rows.map((row) => row.slice(row.indexOf("% ") + 2));
    assert.ok(mountPoints.includes("/"), `the root file system is listed:\n${text}`);
    assert.ok(!mountPoints.includes("/proc"), "procfs has no blocks and is left out");
    const rootRow = rows.find((row) => row.endsWith("% /"))!;
    const kiloBlocks = dfKiloBlocks("/");
    if (kiloBlocks === undefined) {
      console.warn("skipped: the comparison with df -k: df is not installed");
    } else {
      assert.equal(rootRow.split(/\s+/).at(-5), humanSize(kiloBlocks * KIB), rootRow);
    }
  },
});

Deno.test("locallyReachable: local types under local types only", () => {
  const mount = (mountPoint: string, type: string) => ({ device: "d", mountPoint, type });
  const root = mount("/", "ext4");
  const nfs = mount("/srv/nfs", "nfs4");
  const cases: [string, ReturnType<typeof mount>, ReturnType<typeof mount>[], boolean][] = [
    ["ext4 root", root, [root], true],
    ["ext4 root over rootfs", root, [mount("/", "rootfs"), root], true],
    ["tmpfs under sysfs", mount("/sys/fs/cgroup", "tmpfs"), [root, mount("/sys", "sysfs")], true],
    ["tmpfs under ext4", mount("/run", "tmpfs"), [root, mount("/run", "tmpfs")], true],
    ["nfs itself", nfs, [root, nfs], false],
    [
      "ext4 under nfs",
      mount("/srv/nfs/disk", "ext4"),
      [root, nfs, mount("/srv/nfs/disk", "ext4")],
      false,
    ],
    [
      "ext4 beside nfs",
      mount("/srv/nfsdisk", "ext4"),
      [root, nfs, mount("/srv/nfsdisk", "ext4")],
      true,
    ],
    [
      "under an overlay root",
      mount("/data", "xfs"),
      [mount("/", "overlay"), mount("/data", "xfs")],
      false,
    ],
    ["fuse", mount("/mnt/s3", "fuse.s3fs"), [root, mount("/mnt/s3", "fuse.s3fs")], false],
    ["zfs (a pool may be suspended)", mount("/tank", "zfs"), [root, mount("/tank", "zfs")], false],
    ["under autofs", mount("/net/a", "ext4"), [
      root,
      mount("/net", "autofs"),
      mount("/net/a", "ext4"),
    ], false],
  ];
  for (const [name, subject, mounts, expected] of cases) {
    assert.equal(locallyReachable(mounts)(subject), expected, name);
  }
});

Deno.test("mountedSizes: local mounts stat'ed at once, equal to statfs; an injected statfs is used for all", async () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd-df-" });
  try {
    const mounts = [
      { device: "rootfs", mountPoint: "/", type: "rootfs" },
      { device: "/dev/a", mountPoint: "/", type: "ext4" },
      { device: "proc", mountPoint: "/proc", type: "proc" },
      { device: "server:/x", mountPoint: "/", type: "nfs" },
    ];
    const resolve = (path: string) => `${root}${path}`;
    const local = await mountedSizes(mounts.slice(0, 3), resolve);
    assert.deepEqual(local.map(({ mount }) => mount.device), ["/dev/a"]);
    const expected = await statSizes(root);
    assert.ok(expected !== undefined);
    // Blocks in use may move between the two calls; the size may not.
    assert.equal(local[0]!.sizes.totalBytes, expected.totalBytes);
    assert.deepEqual(statSizesSync(`${root}/nonexistent`), undefined);

    const asked: string[] = [];
    const injected = await mountedSizes(mounts, resolve, (path) => {
      asked.push(path);
      return Promise.resolve(FAKE);
    });
    assert.deepEqual(asked, [`${root}/`, `${root}/`], "ext4 and nfs, not rootfs or proc");
    assert.deepEqual(injected.map(({ mount }) => mount.type), ["ext4", "nfs"]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

const FAKE = { totalBytes: 4096n, usedBytes: 1024n, availableBytes: 3072n };
