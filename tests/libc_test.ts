/**
 * Unit tests of libc.ts's helpers that need no FFI.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cString } from "../libc.ts";

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
