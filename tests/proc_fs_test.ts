/**
 * Unit tests of `ProcFs`: whole-file reads in a loop, text decoding, error messages, the size
 * limit, the root directory, and reads of the live /proc.
 *
 * @module
 */

import assert from "node:assert/strict";
import { canRead, skipUnless } from "./helpers/skip.ts";
import { descriptorsOn, descriptorTargets } from "./helpers/processes.ts";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import { keptOpen, ProcFs, readChunkBytes, SYSCTL_CHUNK_BYTES } from "../proc/fs.ts";
import type { FileChanges } from "../proc/mounts_watch.ts";
import { MARKER } from "../rpc/protocol.ts";

const SYNTHETIC = fileURLToPath(new URL("./fixtures/synthetic-odd", import.meta.url));
const X86 = fileURLToPath(new URL("./fixtures/x86_64-vm", import.meta.url));
const LARGE = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** The error a read rejects with (fails when it resolves). */
async function failureOf(read: Promise<unknown>): Promise<Error> {
  try {
    await read;
  } catch (error) {
    assert.ok(error instanceof Error, `an Error, got ${error}`);
    return error;
  }
  assert.fail("the read succeeded");
}

/** Reads a file to EOF in small steps, independently of ProcFs. */
async function readInLoop(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const parts: number[] = [];
  const buffer = new Uint8Array(1000);
  while (true) {
    const count = await file.read(buffer);
    if (count === null) break;
    for (let index = 0; index < count; index++) parts.push(buffer[index]!);
  }
  return new Uint8Array(parts);
}

function lineCount(text: string): number {
  return text.split("\n").length;
}

Deno.test("ProcFs reads a file larger than 64 KiB whole, across several reads", async () => {
  const fs = new ProcFs({ root: SYNTHETIC, maxFileBytes: LARGE });
  const expected = await Deno.readFile(`${SYNTHETIC}/proc/meminfo`);
  assert.ok(expected.length > 2 * CHUNK, `fixture is ${expected.length} bytes`);
  const bytes = await fs.readBytes("/proc/meminfo");
  assert.equal(bytes.length, expected.length);
  assert.deepEqual(bytes, expected);
  const text = await fs.readText("/proc/meminfo");
  assert.equal(text, new TextDecoder("utf-8", { fatal: true }).decode(expected));
  // The character whose bytes straddle the first read is decoded whole, not as U+FFFD.
  assert.ok(!text.includes("\uFFFD"));
  assert.match(text, /\nEurox+\u20ac: {2}1 kB\n/);
  assert.ok(text.startsWith("MemTotal:"));
  assert.ok(text.endsWith("FakeLine06000:  1234 kB\n"));
  assert.equal(lineCount(text), 4 + 6000 + 1 + 1);
});

Deno.test("readChunkBytes: 4 KiB a read for a sysctl file, 64 KiB for any other", () => {
  const cases: [string, number][] = [
    ["/proc/sys/kernel/hostname", 4096],
    ["/proc/sys/vm/overcommit_memory", 4096],
    ["/proc/stat", CHUNK],
    ["/proc/sysvipc/shm", CHUNK],
    ["/proc/1/stat", CHUNK],
    ["/sys/kernel/mm/transparent_hugepage/enabled", CHUNK],
    ["/proc/sys", CHUNK],
  ];
  for (const [path, expected] of cases) assert.equal(readChunkBytes(path), expected, path);
  assert.equal(SYSCTL_CHUNK_BYTES, 4096);
});

Deno.test("ProcFs reads a sysctl value longer than one 4 KiB read whole", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/proc/sys/kernel`, { recursive: true });
    // 10,000 bytes whose euro sign straddles the first read's end (bytes 4095–4097).
    const text = "a".repeat(4095) + "\u20ac" + "b".repeat(10_000 - 4098);
    await Deno.writeTextFile(`${root}/proc/sys/kernel/long`, text);
    const fs = new ProcFs({ root, maxFileBytes: LARGE });
    assert.equal(await fs.readText("/proc/sys/kernel/long"), text);
    assert.equal(fs.tryReadTextSync("/proc/sys/kernel/long"), text);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ProcFs reads a sysctl file 4 KiB a read and any other file 64 KiB a read", () => {
  // read(2) calls of this thread (deno test runs each file on its own thread), from the kernel's
  // task I/O accounting.
  const io = "/proc/thread-self/io";
  if (skipUnless(canRead(io), `${io} cannot be read here (no task I/O accounting)`)) return;
  const readCalls = () => Number(/^syscr: (\d+)$/m.exec(Deno.readTextFileSync(io))?.[1]);
  const root = Deno.makeTempDirSync();
  try {
    const bytes = 40 * SYSCTL_CHUNK_BYTES;
    const text = "x".repeat(bytes);
    Deno.mkdirSync(`${root}/proc/sys/kernel`, { recursive: true });
    Deno.writeTextFileSync(`${root}/proc/sys/kernel/long`, text);
    Deno.writeTextFileSync(`${root}/proc/long`, text);
    const fs = new ProcFs({ root, maxFileBytes: LARGE });
    // The read(2) calls of reading the counter itself, counted between two readings.
    const start = readCalls();
    const overhead = readCalls() - start;
    const callsFor = (path: string) => {
      const before = readCalls();
      assert.equal(fs.tryReadTextSync(path), text, path);
      return readCalls() - before - overhead;
    };
    // 40 reads of 4 KiB, and the one that finds EOF.
    const sysctl = callsFor("/proc/sys/kernel/long");
    assert.ok(sysctl >= 40, `a 160 KiB sysctl value took ${sysctl} reads`);
    // 64 KiB, 64 KiB, 32 KiB, EOF.
    const other = callsFor("/proc/long");
    assert.ok(other <= 4, `a 160 KiB /proc file took ${other} reads`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("ProcFs reads an empty file as zero bytes and empty text", async () => {
  const fs = new ProcFs({ root: SYNTHETIC, maxFileBytes: LARGE });
  assert.equal((await fs.readBytes("/proc/loadavg")).length, 0);
  assert.equal(await fs.readText("/proc/loadavg"), "");
});

Deno.test("ProcFs.readText replaces invalid UTF-8 with U+FFFD and keeps the rest", async () => {
  const fs = new ProcFs({ root: SYNTHETIC, maxFileBytes: LARGE });
  const text = await fs.readText("/proc/version");
  assert.ok(text.startsWith("Linux version 9.9.9-synthetic "));
  assert.ok(text.includes("invalid:\uFFFD\uFFFD latin1:caf\uFFFD "), text);
  assert.ok(text.includes("surrogate:[\uFFFD\uFFFD\uFFFD]"), text);
  assert.ok(text.includes("truncated:[\uFFFD]\n"), text);
  assert.ok(text.includes("utf8:[\u00e9\u20ac\u{1f427}]"), text);
  // ProcFs does not sanitise for the wire: NULs and the marker are the encoder's business.
  assert.ok(text.includes("nul:[\0]"));
  assert.ok(text.includes(`marker:[${MARKER}]`));
  // The result is well-formed: it survives a strict UTF-8 round trip.
  const strict = new TextDecoder("utf-8", { fatal: true });
  assert.equal(strict.decode(new TextEncoder().encode(text)), text);
});

Deno.test("ProcFs reports a missing file as a MethodFailure naming the live path", async () => {
  const fs = new ProcFs({ root: X86, maxFileBytes: LARGE });
  const message = `Cannot read "/proc/modules": no such file (this kernel does not provide it)`;
  for (const read of [() => fs.readBytes("/proc/modules"), () => fs.readText("/proc/modules")]) {
    const error = await failureOf(read());
    assert.ok(error instanceof MethodFailure, `a MethodFailure, got ${error.name}`);
    assert.equal(error.message, message);
    assert.ok(!error.message.includes(X86), "the fixture root stays out of the message");
  }
});

Deno.test("ProcFs refuses a file larger than maxFileBytes, naming the limit and flag", async () => {
  const size = (await Deno.readFile(`${SYNTHETIC}/proc/meminfo`)).length;
  const exact = new ProcFs({ root: SYNTHETIC, maxFileBytes: size });
  assert.equal((await exact.readBytes("/proc/meminfo")).length, size, "a file at the limit");
  for (const limit of [size - 1, CHUNK, 4096]) {
    const fs = new ProcFs({ root: SYNTHETIC, maxFileBytes: limit });
    const error = await failureOf(fs.readBytes("/proc/meminfo"));
    assert.ok(error instanceof MethodFailure, `a MethodFailure, got ${error.name}`);
    assert.ok(error.message.startsWith(`Cannot read "/proc/meminfo": `), error.message);
    assert.ok(error.message.includes(`${limit} bytes`), error.message);
    assert.ok(error.message.includes("--max-response-bytes"), error.message);
  }
  const small = new ProcFs({ root: SYNTHETIC, maxFileBytes: 100 });
  const error = await failureOf(small.readText("/proc/version"));
  assert.ok(error instanceof MethodFailure && error.message.includes("100 bytes"));
});

Deno.test("ProcFs accepts its root with or without trailing slashes", async () => {
  const expected = await Deno.readFile(`${X86}/proc/meminfo`);
  for (const root of [X86, `${X86}/`, `${X86}//`]) {
    const fs = new ProcFs({ root, maxFileBytes: LARGE });
    assert.equal(fs.resolve("/proc/meminfo"), `${X86}/proc/meminfo`, root);
    assert.deepEqual(await fs.readBytes("/proc/meminfo"), expected, root);
  }
  assert.equal(new ProcFs({ root: "/", maxFileBytes: LARGE }).resolve("/proc/stat"), "/proc/stat");
  assert.equal(new ProcFs({ maxFileBytes: LARGE }).resolve("/proc/stat"), "/proc/stat");
});

Deno.test("ProcFs reads the live /proc/self/status under root /", async () => {
  const fs = new ProcFs({ root: "/", maxFileBytes: LARGE });
  const text = await fs.readText("/proc/self/status");
  assert.ok(text.length > 0);
  assert.ok(text.startsWith("Name:"), text.slice(0, 40));
  assert.match(text, new RegExp(`\\nPid:\\t${Deno.pid}\\n`));
});

Deno.test({
  name: "ProcFs reads the live /proc/slabinfo whole, past the kernel's 4 KiB records (as root)",
  ignore: skipUnless(
    Deno.build.os === "linux" && canRead("/proc/slabinfo"),
    "/proc/slabinfo is readable by root only",
    "ProcFs slabinfo",
  ),
  async fn() {
    const fs = new ProcFs({ root: "/", maxFileBytes: LARGE });
    const bytes = await fs.readBytes("/proc/slabinfo");
    const looped = await readInLoop("/proc/slabinfo");
    assert.ok(bytes.length > 8192, `ProcFs read ${bytes.length} bytes`);
    assert.ok(looped.length > 8192, `the loop read ${looped.length} bytes`);
    const decoder = new TextDecoder();
    const text = decoder.decode(bytes);
    const reference = decoder.decode(looped);
    // The counters change between reads; the set of caches (one per line) does not.
    assert.equal(lineCount(text), lineCount(reference));
    assert.equal(text.split("\n", 2).join("\n"), reference.split("\n", 2).join("\n"));
    assert.ok(text.endsWith("\n"));
  },
});

Deno.test("ProcFs keeps a leading byte-order mark: nothing is removed from a file", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-bom-" });
  try {
    await Deno.mkdir(`${root}/proc`);
    await Deno.writeFile(`${root}/proc/version`, new Uint8Array([0xef, 0xbb, 0xbf, 0x61]));
    const fs = new ProcFs({ root, maxFileBytes: 1024 });
    assert.equal(await fs.readText("/proc/version"), "\uFEFFa");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("keptOpen: system-wide /proc files only, never a process's or anything outside /proc", () => {
  const cases: [string, boolean][] = [
    ["/proc/stat", true],
    ["/proc/interrupts", true],
    ["/proc/sys/kernel/hostname", true],
    ["/proc/net/dev", true],
    ["/proc/1/stat", false],
    ["/proc/4242/task/4243/stat", false],
    ["/proc/self/smaps", false],
    ["/proc/thread-self/status", false],
    ["/proc", false],
    ["/sys/block/sda/stat", false],
    ["/sys/fs/cgroup/cpu.stat", false],
    ["/etc/passwd", false],
  ];
  for (const [path, expected] of cases) assert.equal(keptOpen(path), expected, path);
});

Deno.test("ProcFs with keepOpen keeps a /proc file read twice, and reads it afresh from its start", async () => {
  const uuid = "/proc/sys/kernel/random/uuid";
  if (skipUnless(canRead(uuid), `${uuid} cannot be read here`)) return;
  const fs = new ProcFs({ maxFileBytes: LARGE, keepOpen: 4 });
  try {
    // The kernel makes a new UUID at every read from offset 0: reads through one kept
    // descriptor give new UUIDs; without the seek back they would be empty.
    const first = fs.readTextSync(uuid);
    assert.equal(descriptorsOn(uuid), 0, "a file read once is not kept");
    const second = fs.readTextSync(uuid);
    assert.equal(descriptorsOn(uuid), 1, "kept from the second read on");
    const third = fs.readTextSync(uuid);
    const fourth = await fs.readText(uuid);
    assert.equal(descriptorsOn(uuid), 1, "the same descriptor, not one per read");
    for (const text of [first, second, third, fourth]) assert.match(text, /^[0-9a-f-]{36}\n$/);
    assert.equal(new Set([first, second, third, fourth]).size, 4);
  } finally {
    fs.close();
  }
  assert.equal(descriptorsOn(uuid), 0, "close() closes the kept files");
});

Deno.test("ProcFs keeps no more files than keepOpen, and no process's file", () => {
  const fs = new ProcFs({ maxFileBytes: LARGE, keepOpen: 1 });
  try {
    for (let read = 0; read < 2; read++) {
      fs.readTextSync("/proc/loadavg");
      fs.readTextSync("/proc/uptime");
      fs.readTextSync("/proc/self/status");
    }
    assert.equal(descriptorsOn("/proc/loadavg"), 1);
    assert.equal(descriptorsOn("/proc/uptime"), 0, "over the limit: opened and closed");
    assert.equal(descriptorsOn(`/proc/${Deno.pid}/status`), 0);
    // Still read in full each time.
    assert.match(fs.readTextSync("/proc/loadavg"), /^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+\n$/);
    assert.match(fs.readTextSync("/proc/uptime"), /^\d+\.\d+ \d+\.\d+\n$/);
  } finally {
    fs.close();
  }
  assert.equal(descriptorsOn("/proc/loadavg"), 0);
});

Deno.test("ProcFs keeps nothing open under another root, even with keepOpen", () => {
  const fs = new ProcFs({ root: X86, maxFileBytes: LARGE, keepOpen: 4 });
  try {
    fs.readTextSync("/proc/loadavg");
    fs.readTextSync("/proc/loadavg");
    assert.equal(descriptorsOn(`${X86}/proc/loadavg`), 0);
  } finally {
    fs.close();
  }
});

Deno.test("ProcFs without keepOpen (the default) keeps nothing open", () => {
  const fs = new ProcFs({ maxFileBytes: LARGE });
  fs.readTextSync("/proc/loadavg");
  fs.readTextSync("/proc/loadavg");
  assert.equal(descriptorsOn("/proc/loadavg"), 0);
});

Deno.test("ProcFs: a child process inherits none of the kept files (close-on-exec)", async () => {
  const fs = new ProcFs({ maxFileBytes: LARGE, keepOpen: 4 });
  try {
    fs.readTextSync("/proc/loadavg");
    fs.readTextSync("/proc/loadavg");
    assert.equal(descriptorsOn("/proc/loadavg"), 1);
    let listing: string;
    try {
      const { stdout } = await new Deno.Command("ls", { args: ["-l", "/proc/self/fd/"] }).output();
      listing = new TextDecoder().decode(stdout);
    } catch (error) {
      skipUnless(false, `ls cannot be run: ${(error as Error).message}`);
      return;
    }
    assert.match(listing, /->/, "the child listed its own descriptors");
    assert.doesNotMatch(listing, /\/proc\/loadavg/);
  } finally {
    fs.close();
  }
});

Deno.test("ProcFs: a kept file whose read fails is closed and read from a fresh open", () => {
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", { dup2: { parameters: ["i32", "i32"], result: "i32" } });
  } catch (error) {
    skipUnless(
      false,
      `dup2 from glibc is needed to break the kept file: ${(error as Error).message}`,
    );
    return;
  }
  const fs = new ProcFs({ maxFileBytes: LARGE, keepOpen: 4 });
  const directory = Deno.makeTempDirSync();
  try {
    fs.readTextSync("/proc/loadavg");
    fs.readTextSync("/proc/loadavg");
    const kept = descriptorTargets().find(({ target }) => target === "/proc/loadavg");
    assert.ok(kept !== undefined, "kept open after the second read");
    // The kept descriptor now refers to a directory: seeking works, reading fails (EISDIR).
    using opened = Deno.openSync(directory);
    const other = descriptorTargets().find(({ target }) => target === directory);
    assert.ok(other !== undefined);
    assert.equal(libc.symbols.dup2(other.fd, kept.fd), kept.fd);
    assert.match(fs.readTextSync("/proc/loadavg"), /^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+\n$/);
    assert.equal(descriptorsOn(directory), 1, "the failed descriptor was closed");
    assert.equal(opened.statSync().isDirectory, true);
  } finally {
    fs.close();
    libc.close();
    Deno.removeSync(directory);
  }
  assert.equal(descriptorsOn("/proc/loadavg"), 0);
});

/** A stand-in watch whose answer the test sets, counting its questions and closes. */
function fakeChanges(path: string) {
  const state = { next: false, asked: 0, closed: 0 };
  const changes: FileChanges = {
    path,
    changed: () => {
      state.asked++;
      return state.next;
    },
    close: () => {
      state.closed++;
    },
  };
  return { state, changes };
}

Deno.test("ProcFs keeps a watched file's text until its watch reports a change", async () => {
  const file = await Deno.makeTempFile();
  const other = await Deno.makeTempFile();
  const { state, changes } = fakeChanges(file);
  const fs = new ProcFs({ maxFileBytes: LARGE, watches: () => [changes] });
  try {
    await Deno.writeTextFile(file, "first\n");
    await Deno.writeTextFile(other, "one\n");
    assert.equal(fs.readTextSync(file), "first\n");
    await Deno.writeTextFile(file, "second\n");
    // No change reported: the text read before, not the file's.
    assert.equal(fs.readTextSync(file), "first\n");
    assert.equal(fs.tryReadTextSync(file), "first\n");
    assert.equal(await fs.readText(file), "first\n");
    state.next = true;
    assert.equal(fs.readTextSync(file), "second\n");
    state.next = false;
    await Deno.writeTextFile(file, "third\n");
    assert.equal(fs.readTextSync(file), "second\n");
    // The watch is asked at every read of its file, and of no other file.
    await Deno.writeTextFile(other, "two\n");
    assert.equal(fs.readTextSync(other), "two\n");
    assert.equal(state.asked, 6);
    // A file that could not be read leaves nothing kept: the next read tries again.
    await Deno.remove(file);
    state.next = true;
    assert.equal(fs.tryReadTextSync(file), undefined);
    state.next = false;
    await Deno.writeTextFile(file, "back\n");
    assert.equal(fs.readTextSync(file), "back\n");
  } finally {
    fs.close();
    await Deno.remove(file).catch(() => {});
    await Deno.remove(other);
  }
  // close() closes the watch once, and from then on every read reads the file.
  assert.equal(state.closed, 1);
});

Deno.test("ProcFs reads a watched file afresh after close(), and closes its watch once", async () => {
  const file = await Deno.makeTempFile();
  const { state, changes } = fakeChanges(file);
  const fs = new ProcFs({ maxFileBytes: LARGE, watches: () => [changes] });
  try {
    await Deno.writeTextFile(file, "first\n");
    assert.equal(fs.readTextSync(file), "first\n");
    fs.close();
    await Deno.writeTextFile(file, "second\n");
    assert.equal(fs.readTextSync(file), "second\n");
    fs.close();
    assert.equal(state.closed, 1);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("ProcFs under another root opens no watch and asks none", () => {
  const { state, changes } = fakeChanges("/proc/loadavg");
  let opened = 0;
  const fs = new ProcFs({
    root: X86,
    maxFileBytes: LARGE,
    watches: () => {
      opened++;
      return [changes];
    },
  });
  try {
    assert.equal(opened, 0);
    assert.equal(fs.readTextSync("/proc/loadavg"), Deno.readTextFileSync(`${X86}/proc/loadavg`));
    assert.equal(state.asked, 0);
  } finally {
    fs.close();
  }
  assert.equal(state.closed, 0);
});
