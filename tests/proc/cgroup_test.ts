/**
 * Tests of proc/cgroup.ts: the cgroup mounts of /proc/mounts and the v1 and v2 files cgtop
 * reads, on empty, truncated and garbage text and on the captured cgroup trees.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  countProcesses,
  parseBlkioServiceBytes,
  parseCgroupMounts,
  parseCpuStatUsec,
  parseIoStat,
  parseSingleNumber,
} from "../../proc/cgroup.ts";
import { capturedText } from "./fixture.ts";

Deno.test("parseCgroupMounts: the v1 hierarchies and the unified mount of a hybrid machine", () => {
  const mounts = parseCgroupMounts(capturedText("cgroup-v1", "proc/mounts"));
  assert.equal(mounts.length, 10);
  assert.deepEqual(mounts.at(-1), {
    mountPoint: "/sys/fs/cgroup/unified",
    type: "cgroup2",
    options: ["rw", "relatime"],
  });
  assert.ok(mounts.some((mount) => mount.options.includes("cpuacct")));
});

Deno.test("parseCgroupMounts: the v2 machine has one cgroup2 mount", () => {
  const mounts = parseCgroupMounts(capturedText("cgroup-v2", "proc/mounts"));
  assert.deepEqual(mounts.map((mount) => [mount.type, mount.mountPoint]), [
    ["cgroup2", "/sys/fs/cgroup"],
  ]);
});

Deno.test("parseCgroupMounts: empty text and a cgroup line without options", () => {
  assert.deepEqual(parseCgroupMounts(""), []);
  assert.deepEqual(parseCgroupMounts("cgroup /sys/fs/cgroup/cpu cgroup\n"), []);
});

const SINGLE_NUMBER: [text: string, expected: number | undefined][] = [
  ["", undefined],
  ["max\n", undefined],
  ["12a\n", undefined],
  ["-1\n", undefined],
  ["0\n", 0],
  ["1188560500258\n", 1188560500258],
];

for (const [text, expected] of SINGLE_NUMBER) {
  Deno.test(`parseSingleNumber: ${JSON.stringify(text)}`, () => {
    assert.equal(parseSingleNumber(text), expected);
  });
}

Deno.test("countProcesses: one pid a line, blank lines not counted", () => {
  assert.equal(countProcesses(""), 0);
  assert.equal(countProcesses("1\n22\n\n333"), 3);
  assert.equal(countProcesses(capturedText("cgroup-v2", "sys/fs/cgroup/cgroup.procs")), 8);
});

Deno.test("parseCpuStatUsec: usage_usec, undefined on empty, truncated and garbage text", () => {
  assert.equal(parseCpuStatUsec(capturedText("cgroup-v2", "sys/fs/cgroup/cpu.stat")), 93512604117);
  assert.equal(parseCpuStatUsec(""), undefined);
  assert.equal(parseCpuStatUsec("usage_usec"), undefined);
  assert.equal(parseCpuStatUsec("user_usec 5\nsystem_usec 6\n"), undefined);
});

const IO_CASES: {
  name: string;
  parse: (text: string) => unknown;
  text: string;
  expected: unknown;
}[] = [
  { name: "io.stat empty", parse: parseIoStat, text: "", expected: { read: 0, write: 0 } },
  {
    name: "io.stat garbage",
    parse: parseIoStat,
    text: "no bytes here\n",
    expected: { read: 0, write: 0 },
  },
  {
    name: "io.stat of the v2 root, two devices summed",
    parse: parseIoStat,
    text: capturedText("cgroup-v2", "sys/fs/cgroup/io.stat"),
    expected: { read: 4915212288 + 1048576, write: 21473579008 },
  },
  {
    name: "blkio empty",
    parse: parseBlkioServiceBytes,
    text: "",
    expected: { read: 0, write: 0 },
  },
  {
    name: "blkio of the v1 root: only `Total 0`",
    parse: parseBlkioServiceBytes,
    text: capturedText(
      "cgroup-v1",
      "sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes_recursive",
    ),
    expected: { read: 0, write: 0 },
  },
  {
    name: "blkio per device, a truncated line skipped",
    parse: parseBlkioServiceBytes,
    text: "8:0 Read 4096\n8:0 Write 512\n8:16 Read 100\n8:16 Wri",
    expected: { read: 4196, write: 512 },
  },
];

for (const { name, parse, text, expected } of IO_CASES) {
  Deno.test(`cgroup I/O: ${name}`, () => {
    assert.deepEqual(parse(text), expected);
  });
}
