/**
 * Tests of proc/maps.ts: the mappings of a real maps text (cat's, on Debian x86_64), the awkward
 * paths the kernel prints, garbage, and the read-only mappings of one file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Mapping, parseMaps, readOnlyMappingsOf } from "../../proc/maps.ts";
import { ProcParseError } from "../../proc/parse_error.ts";

/** Lines of `cat /proc/self/maps`; the anonymous mapping's line ends in a blank, as printed. */
const CAT_MAPS = [
  "562c62b7e000-562c62b80000 r--p 00000000 fe:00 260131                     /usr/bin/cat",
  "562c62b80000-562c62b85000 r-xp 00002000 fe:00 260131                     /usr/bin/cat",
  "562c62b85000-562c62b88000 r--p 00007000 fe:00 260131                     /usr/bin/cat",
  "562c62b88000-562c62b89000 r--p 00009000 fe:00 260131                     /usr/bin/cat",
  "562c62b89000-562c62b8a000 rw-p 0000a000 fe:00 260131                     /usr/bin/cat",
  "562c673e9000-562c6740a000 rw-p 00000000 00:00 0                          [heap]",
  "7fbb9d556000-7fbb9d578000 rw-p 00000000 00:00 0 ",
  "7fbb9d5db000-7fbb9d601000 r--p 00000000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6",
  "7fbb9d601000-7fbb9d757000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6",
  "7fbb9d7be000-7fbb9d7c5000 r--s 00000000 fe:00 338846                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
  "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
  "",
].join("\n");

Deno.test("parseMaps: every field of a real maps text", () => {
  const mappings = parseMaps(CAT_MAPS);
  assert.equal(mappings.length, 11);
  const cases: [index: number, expected: Mapping][] = [
    [1, {
      start: 0x562c62b80000n,
      end: 0x562c62b85000n,
      perms: "r-xp",
      offset: 0x2000n,
      inode: 260131,
      path: "/usr/bin/cat",
    }],
    [5, {
      start: 0x562c673e9000n,
      end: 0x562c6740a000n,
      perms: "rw-p",
      offset: 0n,
      inode: 0,
      path: "[heap]",
    }],
    [6, {
      start: 0x7fbb9d556000n,
      end: 0x7fbb9d578000n,
      perms: "rw-p",
      offset: 0n,
      inode: 0,
      path: "",
    }],
    [9, {
      start: 0x7fbb9d7be000n,
      end: 0x7fbb9d7c5000n,
      perms: "r--s",
      offset: 0n,
      inode: 338846,
      path: "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
    }],
    [10, {
      start: 0xffffffffff600000n,
      end: 0xffffffffff601000n,
      perms: "--xp",
      offset: 0n,
      inode: 0,
      path: "[vsyscall]",
    }],
  ];
  for (const [index, expected] of cases) assert.deepEqual(mappings[index], expected);
});

Deno.test("parseMaps: a path with blanks, a deleted file, a three-digit device", () => {
  const [spaced, deleted] = parseMaps(
    "7f0000000000-7f0000001000 r--p 00000000 103:02 12 /opt/my tools/lepd\n" +
      "7f0000001000-7f0000002000 r-xp 00001000 fe:00 13 /usr/bin/deno (deleted)\n",
  );
  assert.equal(spaced?.path, "/opt/my tools/lepd");
  assert.equal(deleted?.path, "/usr/bin/deno (deleted)");
});

Deno.test("parseMaps: empty text has no mappings; garbage is an error naming the file", () => {
  assert.deepEqual(parseMaps(""), []);
  for (const text of ["garbage\n", "562c62b7e000 r--p 00000000 fe:00 1 /x\n", "\u0000\u0001"]) {
    assert.throws(
      () => parseMaps(text, "/proc/42/maps"),
      (error) => error instanceof ProcParseError && error.path === "/proc/42/maps",
    );
  }
});

Deno.test("readOnlyMappingsOf: the file's mappings the process cannot write, nothing else", () => {
  const mappings = parseMaps(CAT_MAPS);
  assert.deepEqual(
    readOnlyMappingsOf(mappings, "/usr/bin/cat").map(({ start, perms }) => [start, perms]),
    [
      [0x562c62b7e000n, "r--p"],
      [0x562c62b80000n, "r-xp"],
      [0x562c62b85000n, "r--p"],
      [0x562c62b88000n, "r--p"],
    ],
  );
  assert.deepEqual(readOnlyMappingsOf(mappings, "/usr/bin/ca"), []);
});
