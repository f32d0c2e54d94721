/**
 * Unit tests of libc.ts's helpers, and `pageOut` on a mapping of a file of the test's own.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cString, ERRNO, errno, libc, libcProblem, O_CLOEXEC, O_RDONLY, pageOut } from "../libc.ts";

Deno.test("cString: a path's UTF-8 bytes and one terminating NUL", () => {
  const cases: [string, number[]][] = [
    ["", [0]],
    ["/", [0x2f, 0]],
    ["/mnt/é", [0x2f, 0x6d, 0x6e, 0x74, 0x2f, 0xc3, 0xa9, 0]],
  ];
  for (const [text, bytes] of cases) {
    const encoded = cString(text);
    assert.deepEqual([...encoded], bytes, JSON.stringify(text));
    assert.equal(encoded.byteOffset, 0, "the whole buffer is the string, as FFI passes it");
    assert.equal(encoded.buffer.byteLength, bytes.length);
  }
});

/** Resident KiB of the mapping that starts at `start`, from /proc/self/smaps. */
function residentKib(start: bigint): number {
  const header = `${start.toString(16)}-`;
  const lines = Deno.readTextFileSync("/proc/self/smaps").split("\n");
  const at = lines.findIndex((line) => line.startsWith(header));
  const rss = lines.slice(at + 1).find((line) => line.startsWith("Rss:"));
  if (at < 0 || rss === undefined) throw new Error(`no mapping at ${header} in smaps`);
  return Number(/(\d+) kB/.exec(rss)![1]);
}

Deno.test("pageOut: the kernel reclaims the pages of a file only this process maps", async (t) => {
  const functions = libc();
  if (functions === null) {
    console.log(`skipped: no libc here (${libcProblem()})`);
    return;
  }
  const mmap = Deno.dlopen("libc.so.6", {
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
    munmap: { parameters: ["pointer", "usize"], result: "i32" },
  });
  const PAGES = 64;
  const length = PAGES * 4096;
  const path = await Deno.makeTempFile({ prefix: "lepd-pageout-" });
  try {
    // A file of its own, written and synced, so its pages are clean, on the kernel's lists and
    // mapped by nobody else.
    Deno.writeFileSync(path, new Uint8Array(length).map((_, index) => index % 251 + 1));
    const file = Deno.openSync(path, { write: true });
    file.syncSync();
    file.close();
    const fd = functions.open(cString(path), O_RDONLY | O_CLOEXEC);
    assert.ok(fd >= 0, `open errno ${errno(functions)}`);
    const PROT_READ = 1;
    const MAP_PRIVATE = 2;
    const pointer = mmap.symbols.mmap(null, BigInt(length), PROT_READ, MAP_PRIVATE, fd, 0n);
    functions.close(fd);
    assert.ok(pointer !== null);
    const start = BigInt(Deno.UnsafePointer.value(pointer));
    try {
      const view = new Deno.UnsafePointerView(pointer);
      for (let page = 0; page < PAGES; page++) {
        assert.notEqual(view.getUint8(page * 4096), 0);
      }
      const before = residentKib(start);
      assert.equal(before, length / 1024, "every page touched is resident");
      const result = pageOut(start, BigInt(length));
      if (result === ERRNO.EINVAL) {
        console.log("skipped: this kernel has no MADV_PAGEOUT (Linux 5.4+)");
        return;
      }
      assert.equal(result, 0);
      await t.step("resident memory falls, and the bytes read back the same", () => {
        const after = residentKib(start);
        assert.ok(after < before, `${after} KiB resident after, ${before} before`);
        for (let page = 0; page < PAGES; page++) {
          assert.notEqual(view.getUint8(page * 4096), 0);
        }
      });
    } finally {
      mmap.symbols.munmap(pointer, BigInt(length));
    }
  } finally {
    mmap.close();
    await Deno.remove(path);
  }
});
