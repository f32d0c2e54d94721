import assert from "node:assert/strict";
// Pinned here, not in deno.json, so that the daemon's module graph holds no package.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.11.0";
import { type Frame, JsonFramer } from "../rpc/framer.ts";

const encoder = new TextEncoder();
const LARGE = 1 << 20;

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Feeds the chunks in order, then optionally signals EOF, and returns every frame. */
function feed(chunks: readonly (string | Uint8Array)[], options: {
  maxValueBytes?: number;
  end?: boolean;
} = {}): Frame[] {
  const framer = new JsonFramer({ maxValueBytes: options.maxValueBytes ?? LARGE });
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    frames.push(...framer.push(typeof chunk === "string" ? bytes(chunk) : chunk));
  }
  if (options.end === true) frames.push(...framer.end());
  return frames;
}

function values(frames: readonly Frame[]): unknown[] {
  return frames.map((frame) => {
    assert.equal(frame.kind, "value", `expected only values, got ${JSON.stringify(frame)}`);
    return (frame as { kind: "value"; value: unknown }).value;
  });
}

function kinds(frames: readonly Frame[]): string[] {
  return frames.map((frame) => frame.kind);
}

/** Splits `data` at the given (unsorted, possibly repeated) byte offsets. */
function splitAt(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, data.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  chunks.push(data.subarray(start));
  return chunks;
}

interface ValueCase {
  name: string;
  chunks: (string | Uint8Array)[];
  end?: boolean;
  expected: unknown[];
}

const valueCases: ValueCase[] = [
  {
    name: "single object",
    chunks: ['{"method":"SayHello"}'],
    expected: [{ method: "SayHello" }],
  },
  {
    name: "LEPV spacing, no trailing newline",
    chunks: ['{"method": "GetCmdTop"}'],
    expected: [{ method: "GetCmdTop" }],
  },
  {
    name: "several values with every blank byte between them",
    chunks: [
      ' \t\r\n\v\f{"method":"A"} {"method":"B"}\t{"method":"C"}\r{"method":"D"}' +
      '\n{"method":"E"}\v{"method":"F"}\f{"method":"G"}\r\n',
    ],
    expected: ["A", "B", "C", "D", "E", "F", "G"].map((method) => ({ method })),
  },
  {
    name: "values back to back without any delimiter",
    chunks: ['{"method":"A"}{"method":"B"}[1]"s"'],
    expected: [{ method: "A" }, { method: "B" }, [1], "s"],
  },
  {
    name: "strings holding braces, brackets, escaped quotes and backslashes",
    chunks: [String.raw`{"method":"}]{[\"\\","id":"\\\"}"} {"x":"\\"}`],
    expected: [{ method: '}]{["\\', id: '\\"}' }, { x: "\\" }],
  },
  {
    name: "nested containers",
    chunks: ['{"a":[{"b":[[],{}]},{"c":{"d":[1,[2,[3]]]}}],"e":{}} [[[]]]'],
    expected: [{ a: [{ b: [[], {}] }, { c: { d: [1, [2, [3]]] } }], e: {} }, [[[]]]],
  },
  {
    name: "top-level string",
    chunks: [' "a \\"quoted\\" {string}" '],
    expected: ['a "quoted" {string}'],
  },
  {
    name: "top-level scalars complete once a delimiter follows",
    chunks: ["42 -1.5e3\ttrue\nfalse null{}"],
    expected: [42, -1500, true, false, null, {}],
  },
  {
    name: "top-level scalar completed by end()",
    chunks: ["42"],
    end: true,
    expected: [42],
  },
  {
    name: "top-level scalar split across chunks",
    chunks: ["1", "23", "4 "],
    expected: [1234],
  },
  {
    name: "value split across chunks inside a string escape",
    chunks: ['{"method":"a\\', '"b"}'],
    expected: [{ method: 'a"b' }],
  },
  {
    name: "multibyte UTF-8 character split across chunks",
    chunks: [
      bytes('{"method":"caf').subarray(0),
      new Uint8Array([0xc3]),
      new Uint8Array([0xa9, 0xf0, 0x9f]),
      new Uint8Array([0x98, 0x80]),
      bytes('"}'),
    ],
    expected: [{ method: "café😀" }],
  },
];

for (const testCase of valueCases) {
  Deno.test(`framer yields values: ${testCase.name}`, () => {
    const frames = feed(testCase.chunks, { end: testCase.end ?? false });
    assert.deepEqual(values(frames), testCase.expected);
  });
}

Deno.test("framer waits for more bytes while a value is incomplete", () => {
  const framer = new JsonFramer({ maxValueBytes: LARGE });
  assert.deepEqual(framer.push(bytes('  {"meth')), []);
  assert.equal(framer.inValue, true);
  assert.deepEqual(framer.push(bytes('od":"SayHe')), []);
  assert.deepEqual(values(framer.push(bytes('llo"}\n'))), [{ method: "SayHello" }]);
  assert.equal(framer.inValue, false);
});

Deno.test("framer does not complete a top-level scalar until a delimiter or end()", () => {
  const framer = new JsonFramer({ maxValueBytes: LARGE });
  assert.deepEqual(framer.push(bytes("42")), []);
  assert.equal(framer.inValue, true);
  assert.deepEqual(values(framer.push(bytes(" "))), [42]);
  assert.equal(framer.inValue, false);
});

Deno.test("framer end() between values yields nothing", () => {
  assert.equal(feed([`{"method":"A"}  \n`], { end: true }).length, 1);
  assert.deepEqual(feed([" \n"], { end: true }), []);
});

interface InvalidCase {
  name: string;
  chunks: string[];
  end?: boolean;
  /** Values expected before the invalid frame. */
  before?: unknown[];
}

const invalidCases: InvalidCase[] = [
  { name: "garbage followed by a newline", chunks: ["garbage\n"] },
  { name: "closing brace where a value should start", chunks: ["}"] },
  { name: "colon where a value should start", chunks: [' \n:{"method":"A"}'] },
  { name: "mismatched bracket", chunks: ['{"a":[1}'] },
  { name: "mismatched brace", chunks: ["[{]"] },
  { name: "missing colon", chunks: ['{"method" "x"}'] },
  { name: "trailing comma in an object", chunks: ['{"method":"SayHello",}'] },
  { name: "trailing comma in an array", chunks: ["[1,2,]"] },
  { name: "invalid literal", chunks: ["tru "] },
  { name: "lone minus sign", chunks: ["- "] },
  { name: "end() inside an object", chunks: ['{"method":"Say'], end: true },
  { name: "end() inside a top-level string", chunks: ['"abc'], end: true },
  { name: "end() after an invalid scalar", chunks: ["nul"], end: true },
  {
    name: "invalid value after a valid one in the same chunk",
    chunks: ['{"method":"A"} {"method" "x"}'],
    before: [{ method: "A" }],
  },
];

for (const testCase of invalidCases) {
  Deno.test(`framer reports invalid: ${testCase.name}`, () => {
    const frames = feed(testCase.chunks, { end: testCase.end ?? false });
    const before = testCase.before ?? [];
    assert.deepEqual(kinds(frames), [...before.map(() => "value"), "invalid"]);
    assert.deepEqual(values(frames.slice(0, before.length)), before);
    const last = frames.at(-1)!;
    assert.equal(last.kind, "invalid");
    assert.equal(typeof (last as { reason: string }).reason, "string");
    assert.notEqual((last as { reason: string }).reason, "");
  });
}

Deno.test("framer reports invalid as soon as the first byte cannot start a JSON value", () => {
  // docs/protocol.md 1.4: `garbage` is invalid before the end of the data ("g" cannot start a value),
  // so the client gets -32700 at once instead of waiting for a delimiter that may never come.
  const framer = new JsonFramer({ maxValueBytes: LARGE });
  assert.deepEqual(kinds(framer.push(bytes("garbage"))), ["invalid"]);
});

Deno.test("framer emits nothing after an invalid frame", () => {
  const framer = new JsonFramer({ maxValueBytes: LARGE });
  assert.deepEqual(kinds(framer.push(bytes('{"a":1] {"method":"A"}'))), ["invalid"]);
  assert.deepEqual(framer.push(bytes('{"method":"B"}\n42 ')), []);
  assert.equal(framer.inValue, false);
  assert.deepEqual(framer.end(), []);
});

Deno.test("framer emits nothing after an invalid frame found by JSON.parse", () => {
  const framer = new JsonFramer({ maxValueBytes: LARGE });
  assert.deepEqual(kinds(framer.push(bytes('{"method" "x"} {"method":"A"}'))), ["invalid"]);
  assert.deepEqual(framer.push(bytes('{"method":"B"}')), []);
  assert.deepEqual(framer.end(), []);
});

/** An object of exactly `size` bytes: `{"m":"xxx…"}`. */
function objectOfSize(size: number): string {
  const text = `{"m":"${"x".repeat(size - 8)}"}`;
  assert.equal(text.length, size);
  return text;
}

const LIMIT = 64;

interface SizeCase {
  name: string;
  chunks: string[];
  end?: boolean;
  expected: string[];
}

const sizeCases: SizeCase[] = [
  {
    name: "object exactly at the limit in one chunk is accepted",
    chunks: [objectOfSize(LIMIT)],
    expected: ["value"],
  },
  {
    name: "object one byte over the limit in one chunk is rejected",
    chunks: [objectOfSize(LIMIT + 1)],
    expected: ["oversize"],
  },
  {
    name: "object exactly at the limit across chunks is accepted",
    chunks: [objectOfSize(LIMIT).slice(0, 10), objectOfSize(LIMIT).slice(10, 63), "}"],
    expected: ["value"],
  },
  {
    name: "object one byte over the limit across chunks is rejected",
    chunks: [objectOfSize(LIMIT + 1).slice(0, 10), objectOfSize(LIMIT + 1).slice(10, 64), "}"],
    expected: ["oversize"],
  },
  {
    name: "object over the limit is rejected before it completes",
    chunks: [objectOfSize(LIMIT + 20).slice(0, LIMIT + 1)],
    expected: ["oversize"],
  },
  {
    name: "leading and trailing whitespace do not count",
    chunks: [`${" ".repeat(100)}${objectOfSize(LIMIT)}${"\n".repeat(100)}`],
    expected: ["value"],
  },
  {
    name: "each value is measured on its own",
    chunks: [`${objectOfSize(LIMIT)} ${objectOfSize(LIMIT)}`, ` ${objectOfSize(LIMIT)}`],
    expected: ["value", "value", "value"],
  },
  {
    name: "valid values before an oversize one are still yielded",
    chunks: [`${objectOfSize(LIMIT)}${objectOfSize(LIMIT + 1)}`],
    expected: ["value", "oversize"],
  },
  {
    name: "top-level string exactly at the limit is accepted",
    chunks: [`"${"s".repeat(LIMIT - 2)}"`],
    expected: ["value"],
  },
  {
    name: "top-level string one byte over the limit is rejected",
    chunks: [`"${"s".repeat(LIMIT - 1)}"`],
    expected: ["oversize"],
  },
  {
    name: "scalar exactly at the limit completed by a delimiter is accepted",
    chunks: ["1".repeat(LIMIT).slice(0, 30), "1".repeat(LIMIT).slice(30), " "],
    expected: ["value"],
  },
  {
    name: "scalar exactly at the limit completed by end() is accepted",
    chunks: ["1".repeat(LIMIT)],
    end: true,
    expected: ["value"],
  },
  {
    name: "scalar one byte over the limit is rejected",
    chunks: ["1".repeat(LIMIT + 1)],
    expected: ["oversize"],
  },
];

for (const testCase of sizeCases) {
  Deno.test(`framer size limit: ${testCase.name}`, () => {
    const frames = feed(testCase.chunks, { maxValueBytes: LIMIT, end: testCase.end ?? false });
    assert.deepEqual(kinds(frames), testCase.expected);
    for (const frame of frames) {
      if (frame.kind === "oversize") assert.equal(frame.limit, LIMIT);
    }
  });
}

Deno.test("framer counts the limit in bytes, not characters", () => {
  // 28 two-byte characters: 8 + 56 = 64 bytes but only 36 UTF-16 code units.
  const atLimit = `{"m":"${"é".repeat(28)}"}`;
  assert.equal(bytes(atLimit).length, LIMIT);
  assert.deepEqual(kinds(feed([atLimit], { maxValueBytes: LIMIT })), ["value"]);
  const overLimit = `{"m":"${"é".repeat(28)}x"}`;
  assert.deepEqual(kinds(feed([overLimit], { maxValueBytes: LIMIT })), ["oversize"]);
});

Deno.test("framer emits nothing after an oversize frame", () => {
  const framer = new JsonFramer({ maxValueBytes: LIMIT });
  assert.deepEqual(kinds(framer.push(bytes(objectOfSize(LIMIT + 1)))), ["oversize"]);
  assert.deepEqual(framer.push(bytes(`${objectOfSize(10)} ${objectOfSize(10)}`)), []);
  assert.equal(framer.inValue, false);
  assert.deepEqual(framer.end(), []);
});

Deno.test("framer emits nothing after an oversize frame reported mid-value", () => {
  const framer = new JsonFramer({ maxValueBytes: LIMIT });
  const big = objectOfSize(LIMIT * 2);
  assert.deepEqual(kinds(framer.push(bytes(big.slice(0, LIMIT + 5)))), ["oversize"]);
  assert.deepEqual(framer.push(bytes(`${big.slice(LIMIT + 5)} {"method":"A"}`)), []);
  assert.deepEqual(framer.end(), []);
});

Deno.test("framer keeps working after many values that needed a grown buffer", () => {
  const framer = new JsonFramer({ maxValueBytes: 100_000 });
  const big = { method: "x".repeat(9000) };
  const text = JSON.stringify(big);
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(framer.push(bytes(text.slice(0, 5000))), []);
    assert.deepEqual(values(framer.push(bytes(`${text.slice(5000)} {"method":"s"}`))), [
      big,
      { method: "s" },
    ]);
  }
});

const methodName = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom("{", "}", "[", "]", '"', "\\", ":", ",", " ", "\n", "é", "😀", "a"),
    maxLength: 12,
  }),
  fc.constantFrom("SayHello", "GetProcMeminfo", "GetCmdMpstat-I", ""),
);

const requestObject = fc.record({
  method: methodName,
  id: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), methodName),
  params: fc.oneof(
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    fc.dictionary(methodName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  ),
}, { requiredKeys: ["method"] });

const blank = fc.string({
  unit: fc.constantFrom(" ", "\t", "\r", "\n", "\v", "\f"),
  maxLength: 4,
});

/** Serialises values with the given separators: blank[0] v0 blank[1] v1 … blank[n]. */
function joinWith(texts: readonly string[], separators: readonly string[]): string {
  let joined = separators[0] ?? "";
  texts.forEach((text, index) => {
    joined += text + (separators[index + 1] ?? "");
  });
  return joined;
}

function normalised(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

Deno.test("framer property: request objects split at arbitrary points come out in order", () => {
  fc.assert(
    fc.property(
      fc.array(requestObject, { minLength: 1, maxLength: 6 }),
      fc.array(blank, { minLength: 7, maxLength: 7 }),
      fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }),
      (requests, separators, cuts) => {
        const stream = bytes(joinWith(requests.map((r) => JSON.stringify(r)), separators));
        const frames = feed(splitAt(stream, cuts), { end: true });
        assert.deepEqual(values(frames), requests.map(normalised));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("framer property: arbitrary JSON values separated by blanks come out in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 1, maxLength: 6 }),
      fc.array(blank.map((b) => ` ${b}`), { minLength: 7, maxLength: 7 }),
      fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }),
      (jsonValues, separators, cuts) => {
        const stream = bytes(joinWith(jsonValues.map((v) => JSON.stringify(v)), separators));
        const frames = feed(splitAt(stream, cuts), { end: true });
        assert.deepEqual(values(frames), jsonValues.map(normalised));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("framer yields the same values for every single split point of a fixed stream", () => {
  const requests = [
    { method: "SayHello" },
    { method: 'br{ac]e"s\\', id: 7, params: [] },
    { method: "Grüße 😀", id: 'a"b', params: { nested: [{ x: "}" }] } },
    { METHOD: "GetProcMeminfo", Id: -1.5 },
  ];
  const stream = bytes(joinWith(requests.map((r) => JSON.stringify(r)), [
    "\n",
    " \t",
    "",
    "\r\n\v\f",
    "\n",
  ]));
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames = feed([stream.subarray(0, cut), stream.subarray(cut)]);
    assert.deepEqual(values(frames), requests, `split at byte ${cut}`);
  }
  for (let first = 0; first <= stream.length; first += 7) {
    for (let second = first; second <= stream.length; second += 5) {
      const frames = feed(splitAt(stream, [first, second]));
      assert.deepEqual(values(frames), requests, `split at bytes ${first} and ${second}`);
    }
  }
});

Deno.test("framer property: feeding byte by byte equals feeding the whole stream", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          requestObject.map((r) => JSON.stringify(r)),
          fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
          fc.constantFrom("garbage", "}", '{"a" 1}', "[1,]", '{"a":[}', "tru", '"open'),
        ),
        { minLength: 1, maxLength: 5 },
      ),
      fc.array(blank, { minLength: 6, maxLength: 6 }),
      fc.boolean(),
      fc.integer({ min: 8, max: 200 }),
      (texts, separators, callEnd, maxValueBytes) => {
        const stream = bytes(joinWith(texts, separators));
        const whole = feed([stream], { end: callEnd, maxValueBytes });
        const oneByOne = feed(
          Array.from(stream, (_, index) => stream.subarray(index, index + 1)),
          { end: callEnd, maxValueBytes },
        );
        assert.deepEqual(oneByOne, whole);
      },
    ),
    { numRuns: 500 },
  );
});
