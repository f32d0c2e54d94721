/**
 * Golden end-to-end tests: the real daemon runs against every captured /proc tree under
 * `tests/fixtures/<machine>/proc` (`--root`), and every `GetProc*` method must return the
 * fixture file byte for byte — after the wire sanitation of docs/protocol.md 1.6/1.8 (UTF-8 with
 * replacement characters, NULs removed, the marker inside the text rewritten) — in the exact
 * legacy response shape. A file missing from a tree must give the "no such file" error.
 *
 * Responses are read as raw bytes, so the test also sees what a client sees before any
 * decoding: valid UTF-8, the marker exactly once, the marker and the response's closing bytes
 * inside one 2048-byte chunk of LEPV's reader.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PROC_FILE_METHODS } from "../methods/proc_files.ts";
import { CLIENT_CHUNK_BYTES, ErrorCode, MARKER, MARKER_REPLACEMENT } from "../rpc/protocol.ts";
import { Client, legacyText, startDaemon } from "./helpers/daemon.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** Trees whose methods are all called a second time over the same connection. */
const RERUN_TREES = new Set(["x86_64-vm", "synthetic-odd"]);

/** Trees the repository is known to hold; discovery must find at least these. */
const KNOWN_TREES = [
  "aarch64-bubblegum96",
  "aarch64-phytium",
  "aarch64-server-8cpu",
  "armv7-bcm2835",
  "armv7-pcduino",
  "synthetic-odd",
  "x86_64-vm",
];

/**
 * HEAD order of docs/protocol.md section 2, which is the order of `ListAllMethod`. The daemon may
 * not serve all of them yet; the ones it lists must keep this order.
 */
const HEAD_METHODS = (
  "SayHello ListAllMethod GetProcMeminfo GetProcLoadavg GetProcVmstat GetProcZoneinfo " +
  "GetProcBuddyinfo GetProcCpuinfo GetProcSlabinfo GetProcSwaps GetProcInterrupts " +
  "GetProcSoftirqs GetProcDiskstats GetProcVersion GetProcStat GetProcModules " +
  "GetProcVmallocinfo GetCmdIotop GetCmdFree GetCmdProcrank GetCmdIostat GetCmdTop " +
  "GetCmdDmesg GetCmdDf GetCpuInfo GetCmdMpstat GetCmdMpstat-I GetCmdIrqInfo GetCmdCgtop " +
  "GetCmdPerfFaults GetCmdPerfCpuclock GetCmdPerfFlame"
).split(" ");

const RESPONSE_END = new TextEncoder().encode("\n}\n");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

interface Tree {
  name: string;
  /** Absolute directory standing for `/`. */
  root: string;
}

/** Every directory under tests/fixtures that holds a `proc/` directory, by name. */
function discoverTrees(): Tree[] {
  const trees: Tree[] = [];
  for (const entry of Deno.readDirSync(FIXTURES)) {
    if (!entry.isDirectory) continue;
    const root = new URL(`${entry.name}/`, FIXTURES);
    try {
      if (!Deno.statSync(new URL("proc/", root)).isDirectory) continue;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    trees.push({ name: entry.name, root: fileURLToPath(root).replace(/\/$/, "") });
  }
  return trees.sort((a, b) => a.name.localeCompare(b.name));
}

/** The fixture's bytes, or null when the tree does not have the file. */
async function fixtureBytes(tree: Tree, path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(tree.root + path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** What the wire must carry for a file: UTF-8 with U+FFFD, no NUL, no marker (PROTOCOL 1.6). */
function expectedText(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).replaceAll("\0", "").replaceAll(
    MARKER,
    MARKER_REPLACEMENT,
  );
}

function endsWithResponseEnd(bytes: Uint8Array): boolean {
  if (bytes.length < RESPONSE_END.length) return false;
  const tail = bytes.subarray(bytes.length - RESPONSE_END.length);
  return tail.every((byte, index) => byte === RESPONSE_END[index]);
}

/** One legacy response as raw bytes and as text (the bytes decoded strictly). */
interface Exchange {
  bytes: Uint8Array;
  text: string;
  response: Record<string, unknown>;
}

/**
 * Sends `{"method": NAME}` the way LEPV does and reads the raw bytes of one legacy response
 * (it ends with LF `}` LF, which occurs nowhere earlier since strings carry no raw LF).
 */
async function exchange(client: Client, method: string): Promise<Exchange> {
  await client.send(`{"method": ${JSON.stringify(method)}}`);
  let bytes = new Uint8Array(0);
  const timer = setTimeout(() => client.close(), 60_000); // a hang, not a slow machine
  try {
    while (!endsWithResponseEnd(bytes)) {
      const chunk = new Uint8Array(65536);
      const count = await client.conn.read(chunk);
      if (count === null) throw new Error(`Connection ended after ${bytes.length} bytes`);
      const grown = new Uint8Array(bytes.length + count);
      grown.set(bytes);
      grown.set(chunk.subarray(0, count), bytes.length);
      bytes = grown;
    }
  } finally {
    clearTimeout(timer);
  }
  // Throws a TypeError on the first byte sequence that is not UTF-8.
  const text = strictUtf8.decode(bytes);
  return { bytes, text, response: JSON.parse(text) };
}

/** Checks what every legacy response must satisfy on the wire; returns the unpadded text. */
function assertWireInvariants({ bytes, text }: Exchange): string {
  assert.equal(text.split(MARKER).length - 1, 1, "the marker occurs exactly once");
  const padding = /^ */.exec(text)![0].length;
  const markerOffset = new TextEncoder().encode(text.slice(0, text.indexOf(MARKER))).length;
  const afterMarker = bytes.length - markerOffset - MARKER.length;
  assert.ok(
    (markerOffset % CLIENT_CHUNK_BYTES) + MARKER.length + afterMarker <= CLIENT_CHUNK_BYTES,
    `marker at byte ${markerOffset} with ${afterMarker} bytes after it crosses a ` +
      `${CLIENT_CHUNK_BYTES}-byte chunk (padding ${padding})`,
  );
  if (padding > 0) {
    assert.ok(markerOffset % CLIENT_CHUNK_BYTES === 0, "padding is only used when needed");
  }
  return text.slice(padding);
}

/** Calls a method and asserts a success whose text is exactly `expected`. */
async function expectResult(client: Client, method: string, expected: string): Promise<void> {
  const reply = await exchange(client, method);
  const unpadded = assertWireInvariants(reply);
  assert.equal(legacyText(reply.response), expected);
  assert.deepEqual(Object.keys(reply.response), ["result"]);
  assert.equal(unpadded, `{\n\t"result":\t${JSON.stringify(expected + MARKER)}\n}\n`);
}

/** Calls a method and asserts the "no such file" failure for `path`. */
async function expectMissing(client: Client, method: string, path: string): Promise<void> {
  const reply = await exchange(client, method);
  const unpadded = assertWireInvariants(reply);
  const message = `Cannot read "${path}": no such file (this kernel does not provide it)`;
  assert.deepEqual(reply.response, {
    error: { code: ErrorCode.METHOD_FAILED, message, data: MARKER },
  });
  // The wording README documents for a missing file (its example is /proc/modules).
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  assert.ok(
    readme.includes(`"message":\t${JSON.stringify(message.replace(path, "/proc/modules"))}`),
    `README documents the message ${JSON.stringify(message)} for a missing file`,
  );
  assert.equal(
    unpadded,
    `{\n\t"error":\t{\n\t\t"code":\t${ErrorCode.METHOD_FAILED},\n\t\t"message":\t` +
      `${JSON.stringify(message)},\n\t\t"data":\t"${MARKER}"\n\t}\n}\n`,
  );
}

/** Calls one `GetProc*` method and compares it with the tree's file (or its absence). */
async function expectProcFile(
  client: Client,
  tree: Tree,
  method: string,
  path: string,
): Promise<void> {
  const bytes = await fixtureBytes(tree, path);
  if (bytes === null) await expectMissing(client, method, path);
  else await expectResult(client, method, expectedText(bytes));
}

/** Asserts the `ListAllMethod` text: names, one space after each, in HEAD order. */
async function expectMethodList(client: Client): Promise<void> {
  const reply = await exchange(client, "ListAllMethod");
  assertWireInvariants(reply);
  const text = legacyText(reply.response);
  const served = ["SayHello", "ListAllMethod", ...PROC_FILE_METHODS.map(([method]) => method)];
  assert.ok(
    text.startsWith(served.map((name) => `${name} `).join("")),
    `ListAllMethod starts with the methods served here, in order: ${JSON.stringify(text)}`,
  );
  assert.match(text, /^(\S+ )+$/, "every name is followed by exactly one space");
  const names = text.trimEnd().split(" ");
  assert.equal(new Set(names).size, names.length, "no name is listed twice");
  const headListed = names.filter((name) => HEAD_METHODS.includes(name));
  assert.deepEqual(
    headListed,
    HEAD_METHODS.filter((name) => headListed.includes(name)),
    "HEAD methods keep the order of docs/protocol.md section 2",
  );
  assert.deepEqual(
    names.slice(0, headListed.length),
    headListed,
    "optional methods come after the HEAD methods",
  );
}

/**
 * Checked-in outputs of computed methods: `expected/<Method>.txt` beside a tree's `proc/`. A
 * static tree gives the sampler two identical snapshots, so every rate reads zero and the
 * text is deterministic — except wall-clock times and dates, which are masked.
 */
function expectedOutputs(tree: Tree): [method: string, text: string][] {
  const directory = `${tree.root}/expected`;
  let names: string[];
  try {
    names = Array.from(Deno.readDirSync(directory), (entry) => entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  // Method names start with a capital; other files there (metrics.txt, the Prometheus
  // exposition) are other tests' goldens.
  return names.filter((name) => /^[A-Z].*\.txt$/.test(name)).sort().map((name) => [
    name.slice(0, -".txt".length),
    Deno.readTextFileSync(`${directory}/${name}`),
  ]);
}

/**
 * Hides the wall-clock time and date that top, mpstat and iostat print: times that start a line
 * (`top - 18:31:12 …`, mpstat's row labels) and the sysstat banner's date. Times elsewhere, such
 * as ps's cumulative TIME column, stay compared.
 */
function maskClock(text: string): string {
  return text.replace(/^(top - )?\d\d:\d\d:\d\d/gm, "$1HH:MM:SS")
    .replace(/ \t\d\d\/\d\d\/\d\d \t/g, " \tMM/DD/YY \t");
}

const trees = discoverTrees();

Deno.test("golden: the fixture trees are discovered", () => {
  const names = trees.map((tree) => tree.name);
  for (const known of KNOWN_TREES) assert.ok(names.includes(known), `${known} in ${names}`);
  for (const tree of trees) assert.ok(tree.root.startsWith("/"), tree.root);
});

Deno.test("golden: the synthetic tree holds the odd cases its README promises", async () => {
  const root = trees.find((tree) => tree.name === "synthetic-odd")!;
  const version = (await fixtureBytes(root, "/proc/version"))!;
  // One character per byte (TextDecoder's "latin1" is windows-1252, which remaps 0x80-0x9f).
  const raw = Array.from(version, (byte) => String.fromCharCode(byte)).join("");
  for (const needle of ["\xff\xfe", "caf\xe9", "[\0]", MARKER, "lepdend\0string", "[\xe2\x82]"]) {
    assert.ok(raw.includes(needle), `version holds ${JSON.stringify(needle)}`);
  }
  assert.throws(() => strictUtf8.decode(version), TypeError);
  assert.equal((await fixtureBytes(root, "/proc/loadavg"))!.length, 0);
  const meminfo = (await fixtureBytes(root, "/proc/meminfo"))!;
  assert.ok(meminfo.length > 2 * 65536, `meminfo is ${meminfo.length} bytes`);
  // The 3 bytes of U+20AC straddle the 64 KiB boundary of the first read.
  assert.deepEqual([...meminfo.subarray(65535, 65538)], [0xe2, 0x82, 0xac]);
  // swaps puts the marker at byte 2041 of its response: without padding it straddles a chunk.
  const swaps = expectedText((await fixtureBytes(root, "/proc/swaps"))!);
  // The response starts with `{` LF TAB `"result":` TAB, then the JSON string minus its end quote.
  const markerOffset = `{\n\t"result":\t`.length + JSON.stringify(swaps).length - 1;
  assert.equal(markerOffset, 2041);
  assert.ok(markerOffset % CLIENT_CHUNK_BYTES + MARKER.length > CLIENT_CHUNK_BYTES);
  const expected = expectedText(version);
  assert.ok(!expected.includes(MARKER) && !expected.includes("\0"));
  assert.equal(expected.split(MARKER_REPLACEMENT).length - 1, 2);
});

for (const tree of trees) {
  Deno.test(`golden: ${tree.name}`, async (t) => {
    const daemon = await startDaemon(["--root", tree.root]);
    let client: Client | undefined;
    try {
      client = await Client.connect(daemon.port);
      const connection = client;
      await t.step("SayHello", () => expectResult(connection, "SayHello", "Hello!"));
      await t.step("ListAllMethod", () => expectMethodList(connection));
      for (const [method, path] of PROC_FILE_METHODS) {
        await t.step(method, () => expectProcFile(connection, tree, method, path));
      }
      for (const [method, expected] of expectedOutputs(tree)) {
        await t.step(`${method} equals expected/${method}.txt`, async () => {
          const reply = await exchange(connection, method);
          assertWireInvariants(reply);
          assert.equal(maskClock(legacyText(reply.response)), maskClock(expected));
        });
      }
      if (RERUN_TREES.has(tree.name)) {
        for (const [method, path] of PROC_FILE_METHODS) {
          await t.step(
            `${method} again on the same connection`,
            () => expectProcFile(connection, tree, method, path),
          );
        }
        await t.step("SayHello again on the same connection", () => {
          return expectResult(connection, "SayHello", "Hello!");
        });
      }
    } finally {
      client?.close();
      const code = await daemon.stop();
      assert.equal(code, 0, `exit code of the daemon; its log:\n${daemon.stderr()}`);
    }
  });
}
