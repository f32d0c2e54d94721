/**
 * Tests of proc/pid.ts: the files of one process on empty, truncated and garbage text (what an
 * exited task or a short read gives), and the captured processes of an x86 VM and the
 * synthetic tree of awkward ones (odd names, a 44-field ARM `stat` line).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  parseCmdline,
  parseIoBytes,
  parseStatmSharedPages,
  parseStatusFigures,
  parseStatusUid,
  parseTaskStat,
  PF_KTHREAD,
} from "../../proc/pid.ts";
import { capturedText } from "./fixture.ts";

const NOT_A_STAT_LINE: { name: string; text: string }[] = [
  { name: "empty (the task exited)", text: "" },
  { name: "garbage", text: "\u0000\u0001 garbage\n" },
  { name: "no command name", text: "1 S 0 0 0 0 -1 4194560 47040\n" },
  {
    name: "a pid that is not a number",
    text: "x (init) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 2\n",
  },
  {
    name: "truncated before field 22",
    text: "1 (init) S 0 0 0 0 -1 4194560 47040 11399091 0 46382\n",
  },
];

for (const { name, text } of NOT_A_STAT_LINE) {
  Deno.test(`parseTaskStat: ${name} is undefined`, () => {
    assert.equal(parseTaskStat(text), undefined);
  });
}

Deno.test("parseTaskStat: the x86_64 VM's init", () => {
  const stat = parseTaskStat(capturedText("x86_64-vm", "proc/1/stat"))!;
  assert.deepEqual(
    [stat.pid, stat.comm, stat.state, stat.ppid, stat.utime, stat.stime, stat.priority, stat.nice],
    [1, "process_api", "S", 0, 124, 429, 10, -10],
  );
  assert.deepEqual([stat.numThreads, stat.startTime, stat.vsizeBytes, stat.rssPages], [
    13,
    25,
    38326272,
    2291,
  ]);
  assert.equal((stat.flags ?? 0) & PF_KTHREAD, 0);
});

Deno.test("parseTaskStat: a kernel thread has PF_KTHREAD and no code address", () => {
  const stat = parseTaskStat(capturedText("x86_64-vm", "proc/2/stat"))!;
  assert.equal(stat.comm, "kthreadd");
  assert.notEqual((stat.flags ?? 0) & PF_KTHREAD, 0);
  assert.equal(stat.startCode, 0);
});

Deno.test("parseTaskStat: a name with spaces and parentheses; a 44-field ARM line", () => {
  assert.equal(
    parseTaskStat(capturedText("synthetic-processes", "proc/100/stat"))!.comm,
    "my (odd) name",
  );
  const arm = parseTaskStat(capturedText("synthetic-processes", "proc/700/stat"))!;
  assert.equal(arm.vsizeBytes, 4294963200);
  assert.equal(arm.blkioTicks, 0);
  assert.equal(arm.argStart, 0, "fields 48 and 49 are past its end and read 0");
});

Deno.test("parseCmdline: NUL-separated arguments; empty for kernel threads", () => {
  assert.deepEqual(parseCmdline(""), []);
  assert.deepEqual(parseCmdline("/sbin/init\0splash\0"), ["/sbin/init", "splash"]);
  assert.deepEqual(parseCmdline("a\0\0b\0\0"), ["a", "", "b"]);
  assert.deepEqual(parseCmdline("no terminating NUL"), ["no terminating NUL"]);
});

Deno.test("parseStatusUid and parseStatusFigures: the VM's init, and texts without them", () => {
  const status = capturedText("x86_64-vm", "proc/1/status");
  assert.equal(parseStatusUid(status), 0);
  assert.deepEqual(parseStatusFigures(status), { uid: 0, rssKiB: 9284, sharedKiB: 8 + 6416 });
  const kernelThread = parseStatusFigures(capturedText("x86_64-vm", "proc/2/status"));
  assert.deepEqual(kernelThread, { uid: 0, rssKiB: undefined, sharedKiB: undefined });
  for (const text of ["", "garbage\n", "Uid:\t"]) {
    assert.deepEqual(parseStatusFigures(text), {
      uid: undefined,
      rssKiB: undefined,
      sharedKiB: undefined,
    });
  }
});

const STATM: [text: string, expected: number | undefined][] = [
  ["", undefined],
  ["garbage", undefined],
  ["9357 2321", undefined],
  ["9357 2321 x 1330 0 7511 0\n", undefined],
  ["9357 2321 1606 1330 0 7511 0\n", 1606],
];

for (const [text, expected] of STATM) {
  Deno.test(`parseStatmSharedPages: ${JSON.stringify(text)}`, () => {
    assert.equal(parseStatmSharedPages(text), expected);
  });
}

Deno.test("parseStatmSharedPages: the VM's init", () => {
  assert.equal(parseStatmSharedPages(capturedText("x86_64-vm", "proc/1/statm")), 1606);
});

Deno.test("parseIoBytes: unreadable, empty, truncated and captured io files", () => {
  assert.deepEqual(parseIoBytes(undefined), {});
  assert.deepEqual(parseIoBytes(""), {});
  assert.deepEqual(parseIoBytes("rchar: 1\nread_bytes: 7\nwrite_by"), { read: 7 });
  assert.deepEqual(parseIoBytes(capturedText("synthetic-processes", "proc/300/io")), {
    read: 4096,
    write: 8192,
  });
  assert.deepEqual(parseIoBytes(capturedText("x86_64-vm", "proc/8868/io")), { read: 0, write: 0 });
});
