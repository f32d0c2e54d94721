import assert from "node:assert/strict";
// Pinned here, not in deno.json, so that the daemon's module graph holds no package.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.11.0";
import { encodeBatch, encodeReply, type Reply, sanitizeText } from "../rpc/encoder.ts";
import { CLIENT_CHUNK_BYTES, ErrorCode, ErrorMessage, MARKER } from "../rpc/protocol.ts";
import type { RequestId } from "../rpc/request.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function legacyResult(text: string, id?: RequestId): Reply {
  return id === undefined
    ? { dialect: "legacy", outcome: { result: text } }
    : { dialect: "legacy", outcome: { result: text }, id };
}

function legacyText(text: string, id?: RequestId): string {
  return decoder.decode(encodeReply(legacyResult(text, id)));
}

/** Every byte offset at which `needle` occurs in `haystack`. */
function occurrences(haystack: Uint8Array, needle: string): number[] {
  const pattern = encoder.encode(needle);
  const found: number[] = [];
  outer: for (let start = 0; start + pattern.length <= haystack.length; start++) {
    for (let k = 0; k < pattern.length; k++) {
      if (haystack[start + k] !== pattern[k]) continue outer;
    }
    found.push(start);
  }
  return found;
}

function leadingSpaces(bytes: Uint8Array): number {
  let count = 0;
  while (bytes[count] === 0x20) count++;
  return count;
}

Deno.test("legacy result without id is byte-exact", () => {
  assert.equal(legacyText("Hello!"), '{\n\t"result":\t"Hello!lepdendstring"\n}\n');
});

Deno.test("legacy result of a /proc-like text keeps the newline before the marker", () => {
  assert.equal(
    legacyText("0.18 0.19 0.12 1/77 11132\n"),
    '{\n\t"result":\t"0.18 0.19 0.12 1/77 11132\\nlepdendstring"\n}\n',
  );
});

Deno.test("legacy result of an empty text is the marker alone", () => {
  assert.equal(legacyText(""), '{\n\t"result":\t"lepdendstring"\n}\n');
});

Deno.test("legacy result with numeric id 7 is byte-exact", () => {
  assert.equal(legacyText("Hello!", 7), '{\n\t"result":\t"Hello!lepdendstring",\n\t"id":\t7\n}\n');
});

Deno.test("legacy result with string id is byte-exact", () => {
  assert.equal(
    legacyText("Hello!", "abc"),
    '{\n\t"result":\t"Hello!lepdendstring",\n\t"id":\t"abc"\n}\n',
  );
});

Deno.test("legacy result with empty and escaped string ids", () => {
  assert.equal(legacyText("Hi", ""), '{\n\t"result":\t"Hilepdendstring",\n\t"id":\t""\n}\n');
  assert.equal(
    legacyText("Hi", 'a"b\\c\n'),
    '{\n\t"result":\t"Hilepdendstring",\n\t"id":\t"a\\"b\\\\c\\n"\n}\n',
  );
});

Deno.test("legacy -32601 error with id 3 is byte-exact, carries the marker and parses", () => {
  const bytes = encodeReply({
    dialect: "legacy",
    outcome: {
      error: { code: ErrorCode.METHOD_NOT_FOUND, message: ErrorMessage.METHOD_NOT_FOUND },
    },
    id: 3,
  });
  const text = decoder.decode(bytes);
  assert.equal(
    text,
    '{\n\t"error":\t{\n\t\t"code":\t-32601,\n\t\t"message":\t"Method not found.",\n' +
      '\t\t"data":\t"lepdendstring"\n\t},\n\t"id":\t3\n}\n',
  );
  assert.deepEqual(JSON.parse(text), {
    error: { code: -32601, message: "Method not found.", data: "lepdendstring" },
    id: 3,
  });
  assert.deepEqual(occurrences(bytes, MARKER).length, 1);
});

Deno.test("legacy -32600 and -32700 errors without id are byte-exact", () => {
  const invalid = decoder.decode(encodeReply({
    dialect: "legacy",
    outcome: {
      error: { code: ErrorCode.INVALID_REQUEST, message: ErrorMessage.INVALID_REQUEST },
    },
  }));
  assert.equal(
    invalid,
    '{\n\t"error":\t{\n\t\t"code":\t-32600,\n' +
      '\t\t"message":\t"The JSON sent is not a valid Request object.",\n' +
      '\t\t"data":\t"lepdendstring"\n\t}\n}\n',
  );
  const parse = decoder.decode(encodeReply({
    dialect: "legacy",
    outcome: { error: { code: ErrorCode.PARSE_ERROR, message: ErrorMessage.PARSE_ERROR } },
  }));
  assert.equal(
    parse,
    '{\n\t"error":\t{\n\t\t"code":\t-32700,\n' +
      '\t\t"message":\t"Parse error. Invalid JSON was received by the server.",\n' +
      '\t\t"data":\t"lepdendstring"\n\t}\n}\n',
  );
  assert.equal(JSON.parse(parse).error.code, -32700);
});

Deno.test("legacy error message is JSON-escaped", () => {
  const text = decoder.decode(encodeReply({
    dialect: "legacy",
    outcome: { error: { code: -32000, message: 'Cannot read "/proc/x": gone' } },
    id: "q",
  }));
  assert.equal(
    text,
    '{\n\t"error":\t{\n\t\t"code":\t-32000,\n' +
      '\t\t"message":\t"Cannot read \\"/proc/x\\": gone",\n' +
      '\t\t"data":\t"lepdendstring"\n\t},\n\t"id":\t"q"\n}\n',
  );
});

Deno.test("legacy result escapes like cJSON: quote, backslash, short escapes, \\u00xx", () => {
  const text = 'q"b\\\b\f\n\r\t\x01\x1b\x1f';
  assert.equal(
    legacyText(text),
    '{\n\t"result":\t"q\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001b\\u001flepdendstring"\n}\n',
  );
});

Deno.test("legacy result copies slash, DEL and non-ASCII raw as UTF-8", () => {
  const text = "a/b\x7fé€😀";
  const bytes = encodeReply(legacyResult(text));
  const expected = encoder.encode(`{\n\t"result":\t"a/b\x7fé€😀lepdendstring"\n}\n`);
  assert.deepEqual(bytes, expected);
  assert.ok(!decoder.decode(bytes).includes("\\u"));
});

const idCases: [number, string][] = [
  [7, "7"],
  [0, "0"],
  [1.9, "1"],
  [-1.9, "-1"],
  [-5, "-5"],
  [-0.5, "0"],
  [1e3, "1000"],
  [2147483647, "2147483647"],
  [-2147483648, "-2147483648"],
  [3000000000, "3000000000"],
  [-3000000000.7, "-3000000000"],
  [1e21, "1000000000000000000000"],
];

for (const [id, printed] of idCases) {
  Deno.test(`legacy numeric id ${id} is printed as the integer ${printed}`, () => {
    assert.equal(
      legacyText("x", id),
      `{\n\t"result":\t"xlepdendstring",\n\t"id":\t${printed}\n}\n`,
    );
  });
}

Deno.test("legacy result drops NUL characters", () => {
  assert.equal(legacyText("a\0b\0"), '{\n\t"result":\t"ablepdendstring"\n}\n');
  assert.ok(!legacyText("\0\0\0").includes("\\u0000"));
});

Deno.test("sanitizeText rewrites the marker and drops NULs", () => {
  assert.equal(sanitizeText("plain text\n"), "plain text\n");
  assert.equal(sanitizeText("a\0b"), "ab");
  const rewritten = sanitizeText("x lepdendstring y lepdend\0string z");
  assert.ok(!rewritten.includes(MARKER), rewritten);
  assert.ok(!rewritten.includes("\0"));
  assert.ok(rewritten.startsWith("x "));
  assert.ok(rewritten.endsWith(" z"));
});

function assertSingleFinalMarker(bytes: Uint8Array, tail: string): void {
  const found = occurrences(bytes, MARKER);
  assert.equal(found.length, 1, `marker found at ${found.join(", ")}`);
  const tailBytes = encoder.encode(tail);
  assert.equal(found[0], bytes.length - tailBytes.length - MARKER.length);
  assert.deepEqual(bytes.subarray(bytes.length - tailBytes.length), tailBytes);
}

Deno.test("marker inside the text is neutralised: exactly one marker, right before the quote", () => {
  const texts = [
    "lepdendstring",
    "kernel: lepdendstring\nlepdendstringlepdendstring\n",
    "lepdend\0string",
    "lepdendstrin",
    "epdendstring",
    "lepdendstringg",
    "llepdendstring",
  ];
  for (const text of texts) {
    assertSingleFinalMarker(encodeReply(legacyResult(text)), '"\n}\n');
    assertSingleFinalMarker(encodeReply(legacyResult(text, 12)), '",\n\t"id":\t12\n}\n');
  }
});

Deno.test("marker property: any text made of marker fragments yields one final marker", () => {
  const fragment = fc.constantFrom(
    "l",
    "lepd",
    "lepdend",
    "string",
    "endstring",
    MARKER,
    "\0",
    "\n",
    "_",
    "\\",
    '"',
    "\t",
  );
  fc.assert(
    fc.property(fc.array(fragment, { maxLength: 20 }), (parts) => {
      const text = parts.join("");
      const bytes = encodeReply(legacyResult(text));
      assertSingleFinalMarker(bytes, '"\n}\n');
      const parsed = JSON.parse(decoder.decode(bytes)) as { result: string };
      assert.ok(parsed.result.endsWith(MARKER));
      assert.ok(!parsed.result.slice(0, -MARKER.length).includes(MARKER));
      assert.ok(!parsed.result.includes("\0"));
    }),
    { numRuns: 500 },
  );
});

/** The unpadded legacy success response, built by hand from docs/protocol.md 1.6. */
function expectedLegacy(text: string, idJson?: string): { bytes: Uint8Array; tail: string } {
  const tail = idJson === undefined ? '"\n}\n' : `",\n\t"id":\t${idJson}\n}\n`;
  const head = `{\n\t"result":\t${JSON.stringify(text).slice(0, -1)}${MARKER}`;
  return { bytes: encoder.encode(head + tail), tail };
}

/**
 * Checks one padded response against docs/protocol.md 1.8: the marker and the closing bytes lie in
 * one 2048-byte chunk; padding is spaces only, added only when the unpadded form would
 * violate that, and exactly `2048 − (m mod 2048)` long.
 */
function assertPaddingRule(text: string, id?: RequestId, idJson?: string): void {
  const bytes = encodeReply(legacyResult(text, id));
  const unpadded = expectedLegacy(text, idJson);
  const tailBytes = encoder.encode(unpadded.tail).length;
  const padding = leadingSpaces(bytes);
  assert.deepEqual(bytes.subarray(padding), unpadded.bytes, `text of ${text.length} chars`);

  const m = bytes.length - tailBytes - MARKER.length;
  assert.deepEqual(occurrences(bytes, MARKER), [m]);
  assert.ok(
    (m % CLIENT_CHUNK_BYTES) + MARKER.length + tailBytes <= CLIENT_CHUNK_BYTES,
    `marker at ${m} with ${tailBytes} bytes after it crosses a chunk boundary (padding ${padding})`,
  );

  const unpaddedM = unpadded.bytes.length - tailBytes - MARKER.length;
  const needed = (unpaddedM % CLIENT_CHUNK_BYTES) + MARKER.length + tailBytes > CLIENT_CHUNK_BYTES;
  assert.equal(padding, needed ? CLIENT_CHUNK_BYTES - (unpaddedM % CLIENT_CHUNK_BYTES) : 0);
  if (unpadded.bytes.length < CLIENT_CHUNK_BYTES) assert.equal(padding, 0);
}

Deno.test("padding rule holds for ASCII texts of 1900 to 4300 characters", () => {
  let paddedCount = 0;
  for (let length = 1900; length <= 4300; length++) {
    const text = "x".repeat(length);
    assertPaddingRule(text);
    assertPaddingRule(text, 42, "42");
    assertPaddingRule(text, "request-1", '"request-1"');
    if (leadingSpaces(encodeReply(legacyResult(text))) > 0) paddedCount++;
  }
  // Some lengths must need padding, or this loop proved nothing.
  assert.ok(paddedCount > 0);
});

Deno.test("padding rule holds for multibyte texts around chunk boundaries", () => {
  for (let length = 600; length <= 2200; length++) {
    assertPaddingRule("é".repeat(length));
    assertPaddingRule(`${"€".repeat(length)}\n`, 7, "7");
    assertPaddingRule(`${"a\tb".repeat(length)}`);
  }
});

Deno.test("padding rule holds with a non-ASCII string id", () => {
  for (let length = 1900; length <= 4300; length++) {
    assertPaddingRule("x".repeat(length), "é", '"é"');
    assertPaddingRule("x".repeat(length), "日本語", '"日本語"');
  }
});

Deno.test("padding property: arbitrary texts and ids keep the marker in one chunk", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "grapheme", minLength: 0, maxLength: 3000 }),
      fc.nat({ max: 5000 }),
      fc.option(fc.oneof(fc.integer(), fc.string({ unit: "grapheme", maxLength: 8 })), {
        nil: undefined,
      }),
      (graphemes, filler, id) => {
        const text = `${"y".repeat(filler)}${graphemes}`.replaceAll(MARKER, "").replaceAll(
          "\0",
          "",
        );
        const idJson = id === undefined ? undefined : JSON.stringify(id);
        assertPaddingRule(text, id, idJson);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("small legacy responses are never padded", () => {
  for (let length = 0; length < 2000; length++) {
    const bytes = encodeReply(legacyResult("z".repeat(length), length));
    if (bytes.length >= CLIENT_CHUNK_BYTES) break;
    assert.equal(bytes[0], 0x7b, `response for ${length} chars starts with a space`);
  }
});

Deno.test("padding lands the marker exactly at a chunk start", () => {
  // The head `{⏎⇥"result":⇥"` is 14 bytes, so 2019 "x" put the marker at byte 2033, and
  // 2033 + 13 + 4 > 2048.
  const text = "x".repeat(2019);
  const bytes = encodeReply(legacyResult(text));
  const padding = leadingSpaces(bytes);
  assert.ok(padding > 0, "this text length must need padding");
  const m = bytes.length - 4 - MARKER.length;
  assert.equal(m % CLIENT_CHUNK_BYTES, 0);
  assert.ok(bytes.subarray(0, padding).every((byte) => byte === 0x20));
  assert.equal(bytes[padding], 0x7b);
});

Deno.test("JSON-RPC 2.0 result is compact, one line, jsonrpc/result/id order, no marker", () => {
  const text = decoder.decode(encodeReply({
    dialect: "2.0",
    outcome: { result: "Hello!" },
    id: 1,
  }));
  assert.equal(text, '{"jsonrpc":"2.0","result":"Hello!","id":1}\n');
  assert.equal(
    decoder.decode(encodeReply({ dialect: "2.0", outcome: { result: "a\nb" }, id: "x" })),
    '{"jsonrpc":"2.0","result":"a\\nb","id":"x"}\n',
  );
});

Deno.test("JSON-RPC 2.0 keeps a non-integer id as sent and echoes null", () => {
  assert.equal(
    decoder.decode(encodeReply({ dialect: "2.0", outcome: { result: "" }, id: 1.5 })),
    '{"jsonrpc":"2.0","result":"","id":1.5}\n',
  );
  assert.equal(
    decoder.decode(encodeReply({ dialect: "2.0", outcome: { result: "" }, id: null })),
    '{"jsonrpc":"2.0","result":"","id":null}\n',
  );
});

Deno.test("JSON-RPC 2.0 error without id carries id null and no marker", () => {
  const text = decoder.decode(encodeReply({
    dialect: "2.0",
    outcome: {
      error: { code: ErrorCode.INVALID_REQUEST, message: ErrorMessage.INVALID_REQUEST },
    },
  }));
  assert.equal(
    text,
    '{"jsonrpc":"2.0","error":{"code":-32600,' +
      '"message":"The JSON sent is not a valid Request object."},"id":null}\n',
  );
  assert.ok(!text.includes(MARKER));
});

Deno.test("JSON-RPC 2.0 result is sanitised but carries no marker", () => {
  const text = decoder.decode(encodeReply({
    dialect: "2.0",
    outcome: { result: "a\0 lepdendstring b" },
    id: 4,
  }));
  assert.ok(!text.includes(MARKER), text);
  assert.ok(!text.includes("\\u0000"), text);
  assert.equal(text.split("\n").length, 2);
  assert.equal(JSON.parse(text).result, sanitizeText("a\0 lepdendstring b"));
});

Deno.test("JSON-RPC 2.0 responses are never padded, even when large", () => {
  for (const length of [2030, 2040, 4090, 6000]) {
    const bytes = encodeReply({ dialect: "2.0", outcome: { result: "x".repeat(length) }, id: 1 });
    assert.equal(bytes[0], 0x7b);
  }
});

Deno.test("encodeBatch is one compact JSON array on one line", () => {
  const bytes = encodeBatch([
    { dialect: "2.0", outcome: { result: "Hello!" }, id: 1 },
    {
      dialect: "2.0",
      outcome: {
        error: { code: ErrorCode.METHOD_NOT_FOUND, message: ErrorMessage.METHOD_NOT_FOUND },
      },
      id: "b",
    },
    {
      dialect: "2.0",
      outcome: {
        error: { code: ErrorCode.INVALID_REQUEST, message: ErrorMessage.INVALID_REQUEST },
      },
    },
  ]);
  assert.equal(
    decoder.decode(bytes),
    '[{"jsonrpc":"2.0","result":"Hello!","id":1},' +
      '{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found."},"id":"b"},' +
      '{"jsonrpc":"2.0","error":{"code":-32600,' +
      '"message":"The JSON sent is not a valid Request object."},"id":null}]\n',
  );
});

Deno.test("encodeBatch of one reply is still an array", () => {
  assert.equal(
    decoder.decode(encodeBatch([{ dialect: "2.0", outcome: { result: "x" }, id: 0 }])),
    '[{"jsonrpc":"2.0","result":"x","id":0}]\n',
  );
});
