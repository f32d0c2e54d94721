/**
 * Tests of proc/kmsg.ts: record headers on empty, truncated and garbage lines, the `\xNN`
 * unescape, and the stream parser over the captured kernel log of the x86 VM, fed whole and in
 * pieces.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { KmsgParser, type KmsgRecord, parseKmsgLine, unescapeKmsg } from "../../proc/kmsg.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const NOT_A_HEADER: [name: string, line: string][] = [
  ["empty", ""],
  ["a dictionary line", " SUBSYSTEM=pci"],
  ["garbage", "\u0000\u0001 garbage"],
  ["no semicolon (cut inside the prefix)", "6,2,0,-"],
  ["a field that is not a number", "6,x,0,-;message"],
  ["too few fields", "6,2;message"],
];

for (const [name, line] of NOT_A_HEADER) {
  Deno.test(`parseKmsgLine: ${name} is undefined`, () => {
    assert.equal(parseKmsgLine(encoder.encode(line)), undefined);
  });
}

Deno.test("parseKmsgLine: priority, sequence, microseconds and the escaped message", () => {
  const record = parseKmsgLine(encoder.encode("14,411,1909919373,-,caller=T1;a\\x09b"))!;
  assert.deepEqual(
    [record.priority, record.sequence, record.timestampUs, decoder.decode(record.message)],
    [14, 411, 1909919373, "a\\x09b"],
  );
  assert.equal(decoder.decode(parseKmsgLine(encoder.encode("6,2,0,-;"))!.message), "");
});

const UNESCAPE: [escaped: string, raw: number[]][] = [
  ["plain", [...encoder.encode("plain")]],
  ["tab\\x09here", [...encoder.encode("tab\there")]],
  ["caf\\xc3\\xa9", [...encoder.encode("café")]],
  ["back\\x5cslash", [...encoder.encode("back\\slash")]],
  ["cut \\x0", [...encoder.encode("cut \\x0")]],
  ["not hex \\xzz", [...encoder.encode("not hex \\xzz")]],
];

for (const [escaped, raw] of UNESCAPE) {
  Deno.test(`unescapeKmsg: ${JSON.stringify(escaped)}`, () => {
    assert.deepEqual([...unescapeKmsg(encoder.encode(escaped))], raw);
  });
}

function recordsOf(chunks: readonly Uint8Array[]): { sequence: number; message: string }[] {
  const records: { sequence: number; message: string }[] = [];
  const parser = new KmsgParser((record: KmsgRecord) =>
    records.push({ sequence: record.sequence, message: decoder.decode(record.message) })
  );
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return records;
}

const SAMPLE = Deno.readFileSync(
  fileURLToPath(new URL("../fixtures/kmsg-sample/dev/kmsg", import.meta.url)),
);

Deno.test("KmsgParser: the VM's log, dictionary lines dropped, the same in 7-byte pieces", () => {
  const whole = recordsOf([SAMPLE]);
  assert.equal(whole.length, 70);
  assert.deepEqual(whole.at(-1), { sequence: 414, message: "lepd-fixture: daemon facility debug" });
  const pieces: Uint8Array[] = [];
  for (let start = 0; start < SAMPLE.length; start += 7) {
    pieces.push(SAMPLE.slice(start, start + 7));
  }
  assert.deepEqual(recordsOf(pieces), whole);
});

Deno.test("KmsgParser: empty input, garbage, and a last line without its newline", () => {
  assert.deepEqual(recordsOf([]), []);
  assert.deepEqual(recordsOf([encoder.encode("garbage\n\u0000\n")]), []);
  assert.deepEqual(recordsOf([encoder.encode("6,1,0,-;one\n6,2,0,-;tw")]), [
    { sequence: 1, message: "one" },
    { sequence: 2, message: "tw" },
  ]);
});
