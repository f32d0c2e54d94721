/**
 * Tests of `GetCmdCgtop`: finding the cgroup layout (v2, v1, hybrid, co-mounted controllers,
 * none), the parsers of the v1 and v2 counter files, the bounded walk, rates and the row layout
 * of docs/protocol.md 3.12, golden texts of the v1 and v2 fixture trees, cgroups that vanish, and the
 * live machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  CGTOP_HEADER,
  cgtopCollector,
  cgtopRows,
  formatCgtop,
  formatCgtopRow,
} from "../methods/cgtop.ts";
import {
  type CgroupSnapshot,
  cgroupSource,
  type CgroupUsage,
  compareCgroupPaths,
  detectCgroupLayout,
  layoutFromMounts,
  readCgroupSnapshot,
  walkCgroupPaths,
} from "../sampling/cgroups.ts";
import {
  countProcesses,
  parseBlkioServiceBytes,
  parseCgroupMounts,
  parseCpuStatUsec,
  parseIoStat,
  parseSingleNumber,
} from "../proc/cgroup.ts";
import { MethodFailure } from "../failure.ts";
import { ProcFs } from "../proc/fs.ts";
import { VirtualClock } from "./helpers/virtual_clock.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
/** The eight spaces 3.12 puts before the input and the output column. */
const GAP = " ".repeat(8);

function procFs(root: string): ProcFs {
  return new ProcFs({ root, maxFileBytes: 1 << 24 });
}

function treeRoot(name: string): string {
  return fileURLToPath(new URL(`${name}/`, FIXTURES)).replace(/\/$/, "");
}

/** Writes files (path → text) under a new temporary root; returns the root. */
async function tempTree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "lepd-cgtop-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}${path}`, text);
  }
  return root;
}

/** Runs the collector over a tree on a virtual clock: one interval of exactly one second. */
async function collect(root: string): Promise<string> {
  const fs = procFs(root);
  const clock = new VirtualClock();
  const cgroups = cgroupSource(fs, { intervalMs: 1000, clock });
  const collector = cgtopCollector({ cgroups });
  try {
    const text = collector.collect({ fs, methods: [] });
    text.catch(() => {}); // awaited below
    await clock.advance(1000);
    return await text;
  } finally {
    cgroups.stop(); // the source is the test's: collectors never stop one
  }
}

// The development VM's mounts: v1 controllers, a controller-less cgroup2 beside them.
const HYBRID_MOUNTS = `proc /proc proc rw,relatime 0 0
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;

Deno.test("parseCgroupMounts: cgroup and cgroup2 lines, octal escapes undone", () => {
  assert.deepEqual(
    parseCgroupMounts(
      "sysfs /sys sysfs rw 0 0\n" +
        "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n" +
        "cgroup /my\\040cgroups/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n" +
        "short line\n\n",
    ),
    [
      { mountPoint: "/sys/fs/cgroup", type: "cgroup2", options: ["rw", "nsdelegate"] },
      { mountPoint: "/my cgroups/cpu,cpuacct", type: "cgroup", options: ["rw", "cpu", "cpuacct"] },
    ],
  );
  assert.deepEqual(parseCgroupMounts(""), []);
});

Deno.test("layoutFromMounts: v2, v1, hybrid, co-mounted, systemd only, none", () => {
  const cases: [name: string, mounts: string, expected: ReturnType<typeof layoutFromMounts>][] = [
    ["unified hierarchy", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", {
      version: 2,
      tasks: ["/sys/fs/cgroup"],
      cpu: "/sys/fs/cgroup",
      memory: "/sys/fs/cgroup",
      io: "/sys/fs/cgroup",
    }],
    ["hybrid: the v1 controllers win", HYBRID_MOUNTS, {
      version: 1,
      tasks: [
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup/cpuacct",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/blkio",
      ],
      cpu: "/sys/fs/cgroup/cpuacct",
      memory: "/sys/fs/cgroup/memory",
      io: "/sys/fs/cgroup/blkio",
    }],
    [
      "cpu and cpuacct co-mounted, no memory controller (Raspberry Pi OS)",
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n" +
      "cgroup /sys/fs/cgroup/blkio cgroup rw,blkio 0 0\n",
      {
        version: 1,
        tasks: ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/blkio"],
        cpu: "/sys/fs/cgroup/cpu,cpuacct",
        memory: undefined,
        io: "/sys/fs/cgroup/blkio",
      },
    ],
    [
      "systemd's legacy tracking beside a unified hierarchy: v2",
      "cgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n" +
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n",
      {
        version: 2,
        tasks: ["/sys/fs/cgroup/unified"],
        cpu: "/sys/fs/cgroup/unified",
        memory: "/sys/fs/cgroup/unified",
        io: "/sys/fs/cgroup/unified",
      },
    ],
    ["name=systemd alone: processes, no figures", "cgroup /cg cgroup rw,name=systemd 0 0\n", {
      version: 1,
      tasks: ["/cg"],
      cpu: undefined,
      memory: undefined,
      io: undefined,
    }],
    [
      "the first mount of a controller wins",
      "cgroup /a cgroup rw,memory 0 0\ncgroup /b cgroup rw,memory 0 0\n",
      {
        version: 1,
        tasks: ["/a"],
        cpu: undefined,
        memory: "/a",
        io: undefined,
      },
    ],
    ["v1 hierarchies lepd does not read", "cgroup /p cgroup rw,pids 0 0\n", undefined],
    ["no cgroup mounts", "proc /proc proc rw 0 0\n", undefined],
  ];
  for (const [name, mounts, expected] of cases) {
    assert.deepEqual(layoutFromMounts(parseCgroupMounts(mounts)), expected, name);
  }
});

Deno.test("counter parsers: v2 cpu.stat, io.stat, v1 blkio, single numbers, cgroup.procs", () => {
  assert.equal(parseCpuStatUsec("usage_usec 1175273024\nuser_usec 404185992\n"), 1175273024);
  assert.equal(parseCpuStatUsec("user_usec 1\nusage_usec 5\n"), 5);
  assert.equal(parseCpuStatUsec("nr_periods 0\n"), undefined);
  assert.equal(parseCpuStatUsec(""), undefined);

  assert.deepEqual(
    parseIoStat(
      "8:0 rbytes=1048576 wbytes=0 rios=256 wios=0 dbytes=0 dios=0\n" +
        "259:0 rbytes=4915212288 wbytes=21473579008 rios=1 wios=2 dbytes=3 dios=4\n",
    ),
    { read: 4916260864, write: 21473579008 },
  );
  assert.deepEqual(parseIoStat(""), { read: 0, write: 0 }, "no I/O yet");
  assert.deepEqual(
    parseIoStat("253:0 rbytes=5 wbytes=7 rios=1 wios=1 dbytes=0 dios=0 cost.usage=0\n"),
    { read: 5, write: 7 },
    "extra keys of io.cost ignored",
  );

  assert.deepEqual(
    parseBlkioServiceBytes(
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n" +
        "8:0 Total 12288\n8:16 Read 1\n8:16 Write 2\n8:16 Total 3\nTotal 12291\n",
    ),
    { read: 4097, write: 8194 },
  );
  assert.deepEqual(parseBlkioServiceBytes("Total 0\n"), { read: 0, write: 0 });

  assert.equal(parseSingleNumber("774819840\n"), 774819840);
  assert.equal(parseSingleNumber("1115434221724"), 1115434221724);
  assert.equal(parseSingleNumber("max\n"), undefined);
  assert.equal(parseSingleNumber(""), undefined);
  assert.equal(parseSingleNumber("-1\n"), undefined);

  assert.equal(countProcesses(""), 0);
  assert.equal(countProcesses("1\n"), 1);
  assert.equal(countProcesses("1\n2\n3\n"), 3);
  assert.equal(countProcesses("1\n\n2"), 2);
});

Deno.test("compareCgroupPaths: a cgroup before its children, siblings by name", () => {
  const paths = ["/a/b", "/a-b", "/", "/b", "/a", "/a/a", "/a/b/c"];
  assert.deepEqual(paths.sort(compareCgroupPaths), [
    "/",
    "/a",
    "/a/a",
    "/a/b",
    "/a/b/c",
    "/a-b",
    "/b",
  ]);
});

/** A tree of child names for walkCgroupPaths. */
const TREE: Record<string, string[]> = {
  "/": ["b", "a"],
  "/a": ["x"],
  "/a/x": ["y"],
  "/a/x/y": ["z"],
  "/a/x/y/z": [],
  "/b": ["k", "j"],
};

Deno.test("walkCgroupPaths: depth and count bounds, shallow cgroups first, tree order", () => {
  const children = (path: string) => TREE[path] ?? [];
  assert.deepEqual(
    walkCgroupPaths(children, { maxDepth: 3, maxCgroups: 100 }),
    ["/", "/a", "/a/x", "/a/x/y", "/b", "/b/j", "/b/k"],
    "level 4 (/a/x/y/z) is beyond the depth bound",
  );
  assert.deepEqual(walkCgroupPaths(children, { maxDepth: 0, maxCgroups: 100 }), ["/"]);
  assert.deepEqual(
    walkCgroupPaths(children, { maxDepth: 10, maxCgroups: 4 }),
    ["/", "/a", "/a/x", "/b"],
    "a count bound keeps whole levels first",
  );
  assert.deepEqual(
    walkCgroupPaths(children, { maxDepth: 10, maxCgroups: 5 }),
    ["/", "/a", "/a/x", "/b", "/b/j"],
  );
  // Names found in several hierarchies count once.
  assert.deepEqual(
    walkCgroupPaths((path) => path === "/" ? ["m", "m", "n"] : [], { maxDepth: 3, maxCgroups: 9 }),
    ["/", "/m", "/n"],
  );
});

function usage(values: Partial<CgroupUsage>): CgroupUsage {
  return {
    tasks: 1,
    cpuUsec: undefined,
    memoryBytes: undefined,
    readBytes: undefined,
    writeBytes: undefined,
    ...values,
  };
}

Deno.test("cgtopRows: CPU share and byte rates over the interval; `-` where unknown", () => {
  const previous: CgroupSnapshot = new Map([
    ["/", usage({ tasks: 9, cpuUsec: 1_000_000, readBytes: 0, writeBytes: 1000 })],
    ["/busy", usage({ cpuUsec: 5_000_000, memoryBytes: 1, readBytes: 10, writeBytes: 10 })],
    ["/restarted", usage({ cpuUsec: 9_000_000, readBytes: 100, writeBytes: 100 })],
  ]);
  const latest: CgroupSnapshot = new Map([
    ["/", usage({ tasks: 9, cpuUsec: 4_000_000, readBytes: 4096, writeBytes: 1000 })],
    [
      "/busy",
      usage({ cpuUsec: 6_500_000, memoryBytes: 3 << 20, readBytes: 2058, writeBytes: 10 }),
    ],
    ["/restarted", usage({ cpuUsec: 5, readBytes: 0, writeBytes: 100 })],
    ["/new", usage({ tasks: 0, cpuUsec: 7, memoryBytes: 0, readBytes: 0, writeBytes: 0 })],
  ]);
  assert.deepEqual(cgtopRows({ previous, latest, seconds: 2, takenAt: 0 }), [
    {
      path: "/",
      tasks: 9,
      cpuPercent: 150,
      memoryBytes: undefined,
      readBytesPerSecond: 2048,
      writeBytesPerSecond: 0,
    },
    {
      path: "/busy",
      tasks: 1,
      cpuPercent: 75,
      memoryBytes: 3 << 20,
      readBytesPerSecond: 1024,
      writeBytesPerSecond: 0,
    },
    {
      path: "/restarted",
      tasks: 1,
      cpuPercent: undefined,
      memoryBytes: undefined,
      readBytesPerSecond: undefined,
      writeBytesPerSecond: 0,
    },
    {
      path: "/new",
      tasks: 0,
      cpuPercent: undefined,
      memoryBytes: 0,
      readBytesPerSecond: undefined,
      writeBytesPerSecond: undefined,
    },
  ]);
});

Deno.test("formatCgtopRow: the widths of 3.12, TABs and eight-space gaps", () => {
  const cases: [row: Parameters<typeof formatCgtopRow>[0], expected: string][] = [
    [
      {
        path: "/system.slice",
        tasks: 12,
        cpuPercent: 1.5,
        memoryBytes: 612 * 1048576 + 1048575,
        readBytesPerSecond: 1024.9,
        writeBytesPerSecond: 0,
      },
      "/system.slice" + " ".repeat(37) + "\t  12\t     1.50\t  612" + GAP + " 1024" + GAP + "    0",
    ],
    [
      {
        path: "/",
        tasks: 2081,
        cpuPercent: undefined,
        memoryBytes: undefined,
        readBytesPerSecond: undefined,
        writeBytesPerSecond: undefined,
      },
      "/" + " ".repeat(49) + "\t2081\t       -\t       -" + GAP + "       -" + GAP + "       -",
    ],
    [
      {
        path: "/" + "x".repeat(60),
        tasks: 0,
        cpuPercent: 1234.567,
        memoryBytes: 123456 * 1048576,
        readBytesPerSecond: 9876543,
        writeBytesPerSecond: 12,
      },
      "/" + "x".repeat(60) + "\t   0\t  1234.57\t123456" + GAP + "9876543" + GAP + "   12",
    ],
    [
      {
        path: "/odd\nname\tx",
        tasks: 1,
        cpuPercent: 0,
        memoryBytes: 0,
        readBytesPerSecond: 0,
        writeBytesPerSecond: 0,
      },
      "/odd?name?x" + " ".repeat(39) + "\t   1\t     0.00\t    0" + GAP + "    0" + GAP + "    0",
    ],
  ];
  for (const [row, expected] of cases) assert.equal(formatCgtopRow(row), expected);
  assert.equal(CGTOP_HEADER.split("\t").length, 6);
  assert.equal(CGTOP_HEADER.split("\t")[0], "-".repeat(23) + "path" + "-".repeat(22));
  assert.equal(formatCgtop([]), `${CGTOP_HEADER}\n`);
});

/** The trees with an expected GetCmdCgtop text, and what each must show. */
const CGROUP_TREES: [tree: string, rows: number, absent: string[]][] = [
  ["cgroup-v1", 8, []],
  ["cgroup-v2", 13, [
    "/system.slice/gone.service",
    "/user.slice/user-1000.slice/user@1000.service/init.scope",
    "/user.slice/user-1000.slice/user@1000.service/app.slice",
  ]],
];

for (const [tree, rowCount, absent] of CGROUP_TREES) {
  Deno.test(`golden: GetCmdCgtop of ${tree}`, async () => {
    const root = treeRoot(tree);
    const text = await collect(root);
    assert.equal(text, await Deno.readTextFile(`${root}/expected/GetCmdCgtop.txt`));
    const lines = text.split("\n");
    assert.equal(lines[0], CGTOP_HEADER);
    assert.equal(lines.at(-1), "");
    const rows = lines.slice(1, -1);
    assert.equal(rows.length, rowCount);
    const paths = rows.map((row) => row.slice(0, row.indexOf("\t")).trimEnd());
    for (const path of absent) assert.ok(!paths.includes(path), `${path} is not shown`);
    assert.equal(paths[0], "/");
    for (const row of rows) assert.match(row.split("\t")[1]!, /^ *(\d+|-)$/);
  });
}

Deno.test("golden: the v1 tree is read as v1, the v2 tree as v2", () => {
  assert.equal(detectCgroupLayout(procFs(treeRoot("cgroup-v1"))).version, 1);
  assert.equal(detectCgroupLayout(procFs(treeRoot("cgroup-v2"))).version, 2);
});

Deno.test("readCgroupSnapshot: v1 figures each from their own hierarchy", () => {
  const snapshot = readCgroupSnapshot(procFs(treeRoot("cgroup-v1")), {
    maxDepth: 3,
    maxCgroups: 100,
  });
  assert.deepEqual(snapshot.get("/"), {
    tasks: 2081,
    cpuUsec: 1188560500.258,
    memoryBytes: 1031540736,
    readBytes: 0,
    writeBytes: 0,
  });
  const container = snapshot.get("/process_api/c005b3d6ff425a5f47d2d2c2a2c527a4");
  // Tasks are counted in name=systemd only, which lacks this path: its processes are counted
  // there under their systemd paths, not a second time here (systemd-cgtop shows `-`).
  assert.equal(container?.tasks, undefined, "no task count from another hierarchy");
  assert.equal(container?.cpuUsec, undefined, "no such cgroup in cpuacct");
  assert.equal(container?.readBytes, undefined, "no such cgroup in blkio");
});

Deno.test("v1 with co-mounted cpu,cpuacct and the non-recursive blkio file", async () => {
  const root = await tempTree({
    "/proc/mounts": "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n" +
      "cgroup /sys/fs/cgroup/blkio cgroup rw,blkio 0 0\n",
    "/sys/fs/cgroup/cpu,cpuacct/cgroup.procs": "1\n2\n",
    "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage": "3000000000\n",
    "/sys/fs/cgroup/cpu,cpuacct/docker/cgroup.procs": "77\n",
    "/sys/fs/cgroup/cpu,cpuacct/docker/cpuacct.usage": "1500000\n",
    "/sys/fs/cgroup/blkio/cgroup.procs": "1\n2\n",
    "/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes":
      "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n",
    "/sys/fs/cgroup/blkio/docker/cgroup.procs": "77\n",
    "/sys/fs/cgroup/blkio/docker/blkio.throttle.io_service_bytes_recursive":
      "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
    "/sys/fs/cgroup/blkio/docker/blkio.throttle.io_service_bytes": "8:0 Read 100\nTotal 100\n",
  });
  try {
    const snapshot = readCgroupSnapshot(procFs(root), { maxDepth: 3, maxCgroups: 100 });
    assert.deepEqual([...snapshot], [
      ["/", {
        tasks: 2,
        cpuUsec: 3000000,
        memoryBytes: undefined,
        readBytes: 4096,
        writeBytes: 512,
      }],
      ["/docker", { tasks: 1, cpuUsec: 1500, memoryBytes: undefined, readBytes: 1, writeBytes: 2 }],
    ]);
    assert.equal(
      await collect(root),
      `${CGTOP_HEADER}\n` +
        "/".padEnd(50) + "\t   2\t     0.00\t       -" + GAP + "    0" + GAP + "    0\n" +
        "/docker".padEnd(50) + "\t   1\t     0.00\t       -" + GAP + "    0" + GAP + "    0\n",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("v2 found by its files when /proc/mounts is missing", async () => {
  const root = await tempTree({
    "/sys/fs/cgroup/cgroup.controllers": "cpu io memory\n",
    "/sys/fs/cgroup/cgroup.procs": "1\n",
    "/sys/fs/cgroup/cpu.stat": "usage_usec 10\n",
    "/sys/fs/cgroup/a.service/cgroup.procs": "5\n",
    "/sys/fs/cgroup/a.service/memory.current": "2097152\n",
  });
  try {
    assert.equal(detectCgroupLayout(procFs(root)).version, 2);
    assert.deepEqual([...readCgroupSnapshot(procFs(root), { maxDepth: 3, maxCgroups: 9 })], [
      ["/", {
        tasks: 1,
        cpuUsec: 10,
        memoryBytes: undefined,
        readBytes: undefined,
        writeBytes: undefined,
      }],
      ["/a.service", {
        tasks: 1,
        cpuUsec: undefined,
        memoryBytes: 2097152,
        readBytes: undefined,
        writeBytes: undefined,
      }],
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("v1 found by its files when /proc/mounts names no cgroup", async () => {
  const root = await tempTree({
    "/proc/mounts": "proc /proc proc rw 0 0\n",
    "/sys/fs/cgroup/memory/cgroup.procs": "1\n",
    "/sys/fs/cgroup/memory/memory.usage_in_bytes": "1048576\n",
  });
  try {
    assert.deepEqual(detectCgroupLayout(procFs(root)), {
      version: 1,
      tasks: ["/sys/fs/cgroup/memory"],
      cpu: undefined,
      memory: "/sys/fs/cgroup/memory",
      io: undefined,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("rates between two snapshots of a changing tree", async () => {
  const root = await tempTree({
    "/proc/mounts": "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
    "/sys/fs/cgroup/cgroup.procs": "",
    "/sys/fs/cgroup/job.scope/cgroup.procs": "42\n",
    "/sys/fs/cgroup/job.scope/cpu.stat": "usage_usec 1000000\n",
    "/sys/fs/cgroup/job.scope/memory.current": "104857600\n",
    "/sys/fs/cgroup/job.scope/io.stat": "8:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n",
  });
  try {
    const bounds = { maxDepth: 3, maxCgroups: 9 };
    const previous = readCgroupSnapshot(procFs(root), bounds);
    await Deno.writeTextFile(`${root}/sys/fs/cgroup/job.scope/cpu.stat`, "usage_usec 1250000\n");
    await Deno.writeTextFile(
      `${root}/sys/fs/cgroup/job.scope/io.stat`,
      "8:0 rbytes=8192 wbytes=1048576 rios=2 wios=1 dbytes=0 dios=0\n",
    );
    const latest = readCgroupSnapshot(procFs(root), bounds);
    const text = formatCgtop(cgtopRows({ previous, latest, seconds: 0.5, takenAt: 0 }));
    assert.equal(
      text.split("\n")[2],
      "/job.scope".padEnd(50) + "\t   1\t    50.00\t  100" + GAP + "16384" + GAP + "2097152",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("no control groups at all: a one-line failure, and the probe says why", async () => {
  const root = await tempTree({ "/proc/mounts": "proc /proc proc rw 0 0\n" });
  try {
    const fs = procFs(root);
    const message = `Cannot find control groups: "/proc/mounts" lists no cgroup or cgroup2 mount ` +
      `and "/sys/fs/cgroup" holds no hierarchy`;
    await assert.rejects(collect(root), (error: unknown) => {
      assert.ok(error instanceof MethodFailure);
      assert.equal(error.message, message);
      return true;
    });
    const collector = cgtopCollector({ cgroups: cgroupSource(fs) });
    assert.equal(await collector.probe!({ fs, methods: [] }), message);
    assert.equal(
      await cgtopCollector({ cgroups: cgroupSource(fs) }).probe!({
        fs: procFs(treeRoot("cgroup-v2")),
        methods: [],
      }),
      undefined,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a cgroup removed between listing and reading is skipped", async () => {
  const root = await tempTree({
    "/proc/mounts": "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
    "/sys/fs/cgroup/cgroup.procs": "1\n",
    "/sys/fs/cgroup/stays.service/cgroup.procs": "2\n",
    "/sys/fs/cgroup/goes.service/cgroup.procs": "3\n",
  });
  try {
    const fs = procFs(root);
    const clock = new VirtualClock();
    const source = cgroupSource(fs, { intervalMs: 1000, clock });
    const collector = cgtopCollector({ cgroups: source });
    try {
      const pending = collector.collect({ fs, methods: [] });
      await clock.advance(1000);
      const first = await pending;
      assert.match(first, /^\/goes\.service /m);
      await Deno.remove(`${root}/sys/fs/cgroup/goes.service`, { recursive: true });
      await clock.advance(1000);
      const second = await collector.collect({ fs, methods: [] });
      assert.doesNotMatch(second, /goes\.service/);
      assert.match(second, /^\/stays\.service +\t {3}1\t/m);
    } finally {
      source.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("live: this machine's control groups", async () => {
  const text = await collect("/");
  const lines = text.split("\n");
  assert.equal(lines[0], CGTOP_HEADER);
  const rows = lines.slice(1, -1);
  assert.ok(rows.length >= 1, text);
  const root = rows.find((row) => row.startsWith("/ ") || row.startsWith("/\t"));
  assert.ok(root !== undefined, "the root cgroup has a row");
  for (const row of rows) {
    const fields = row.split("\t");
    assert.equal(fields.length, 4, row);
    const tasks = fields[1]!.trim();
    assert.ok(
      tasks === "-" || Number.isInteger(Number(tasks)),
      `task count of ${JSON.stringify(row)}`,
    );
  }
  const procs = `${detectCgroupLayout(procFs("/")).tasks[0]}/cgroup.procs`;
  // The root's task count is the length of its cgroup.procs (processes come and go meanwhile).
  const listed = countProcesses(await Deno.readTextFile(procs));
  const shown = Number(root.split("\t")[1]);
  assert.ok(Math.abs(listed - shown) <= Math.max(20, listed / 10), `${shown} vs ${listed}`);
});
