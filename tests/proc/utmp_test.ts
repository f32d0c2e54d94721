/**
 * Tests of proc/utmp.ts: user sessions among empty, torn and garbage utmp bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { countUserSessions } from "../../proc/utmp.ts";

/** utmp records of the given `ut_type`s, 384 bytes each, little-endian. */
function records(types: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(types.length * 384);
  const view = new DataView(bytes.buffer);
  types.forEach((type, index) => view.setInt16(index * 384, type, true));
  return bytes;
}

const CASES: [name: string, utmp: Uint8Array, expected: number][] = [
  ["empty", new Uint8Array(0), 0],
  ["garbage shorter than a record", new TextEncoder().encode("garbage"), 0],
  ["boot, run level and two user sessions", records([2, 1, 7, 7]), 2],
  ["a dead session is not counted", records([7, 8]), 1],
  ["a torn last record is not counted", records([7, 7]).subarray(0, 384 + 100), 1],
];

for (const [name, utmp, expected] of CASES) {
  Deno.test(`countUserSessions: ${name}`, () => {
    assert.equal(countUserSessions(utmp), expected);
  });
}
