/**
 * Tests of proc/mounts.ts: the one unescape of /proc/mounts fields, what is and is not a mount
 * table, and the captured tables of a cgroup v1 and a cgroup v2 machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeMountField, parseMounts, parseMountTable } from "../../proc/mounts.ts";
import { capturedFiles, capturedText, testNotTheFile } from "./fixture.ts";

const DECODE_CASES: [field: string, expected: string][] = [
  ["/plain", "/plain"],
  ["/mnt/a\\040b\\011c\\012d\\134e", "/mnt/a b\tc\nd\\e"],
  ["/plain\\04", "/plain\\04"],
  ["\\0401\\040", " 1 "],
  ["/not\\8octal", "/not\\8octal"],
];

for (const [field, expected] of DECODE_CASES) {
  Deno.test(`decodeMountField: ${JSON.stringify(field)}`, () => {
    assert.equal(decodeMountField(field), expected);
  });
}

const TABLE_CASES: { name: string; text: string; expected: ReturnType<typeof parseMountTable> }[] =
  [
    { name: "empty", text: "", expected: [] },
    { name: "blank lines", text: "\n\n", expected: [] },
    {
      name: "all six fields",
      text: "/dev/vda1 / ext4 rw,relatime 0 0\n",
      expected: [{
        device: "/dev/vda1",
        mountPoint: "/",
        type: "ext4",
        options: ["rw", "relatime"],
      }],
    },
    {
      name: "escapes in device and mount point",
      text: "//srv/My\\040Share /mnt/my\\040share cifs rw 0 0\n",
      expected: [{
        device: "//srv/My Share",
        mountPoint: "/mnt/my share",
        type: "cifs",
        options: ["rw"],
      }],
    },
    {
      name: "a truncated last line keeps what it has",
      text: "proc /proc proc rw 0 0\nsysfs /sys",
      expected: [
        { device: "proc", mountPoint: "/proc", type: "proc", options: ["rw"] },
        { device: "sysfs", mountPoint: "/sys", type: "", options: [] },
      ],
    },
    {
      name: "one-field lines among mounts are skipped",
      text: "lonely\nproc /proc proc rw 0 0\n",
      expected: [{ device: "proc", mountPoint: "/proc", type: "proc", options: ["rw"] }],
    },
  ];

for (const { name, text, expected } of TABLE_CASES) {
  Deno.test(`parseMountTable: ${name}`, () => {
    assert.deepEqual(parseMountTable(text), expected);
  });
}

testNotTheFile("parseMountTable", parseMountTable, {
  path: "/proc/mounts",
  problem: "no line has a device and a mount point",
  cases: {
    garbage: "garbage",
    "control bytes": "\u0000\u0001\u0002",
    "one-field lines": "lonely\nlines\n",
  },
});

Deno.test("parseMounts: device, mount point and type only", () => {
  assert.deepEqual(parseMounts("tmpfs /run tmpfs rw,nosuid 0 0\n"), [
    { device: "tmpfs", mountPoint: "/run", type: "tmpfs" },
  ]);
});

Deno.test("parseMountTable: the captured tables", () => {
  const files = capturedFiles("proc/mounts");
  assert.ok(files.length >= 2);
  for (const { tree, text } of files) {
    const mounts = parseMountTable(text);
    assert.equal(mounts.length, text.trimEnd().split("\n").length, tree);
    for (const mount of mounts) {
      assert.ok(mount.mountPoint.startsWith("/"), `${tree}: ${mount.mountPoint}`);
      assert.ok(mount.options.length > 0, tree);
    }
  }
  const v1 = parseMountTable(capturedText("cgroup-v1", "proc/mounts"));
  assert.deepEqual(v1.find((mount) => mount.mountPoint === "/sys/fs/cgroup/systemd"), {
    device: "cgroup",
    mountPoint: "/sys/fs/cgroup/systemd",
    type: "cgroup",
    options: ["rw", "relatime", "name=systemd"],
  });
});
