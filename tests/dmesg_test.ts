/**
 * Tests of `GetCmdDmesg`: kmsg record parsing (dictionary lines, escaped bytes, multi-line
 * messages, priorities with a facility), the size bound, the golden text of the captured log,
 * incremental reading, failures, and the live kernel log (non-blocking, newest record last,
 * refused without CAP_SYSLOG).
 *
 * @module
 */

import assert from "node:assert/strict";
import { IS_ROOT, skipUnless } from "./helpers/skip.ts";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_DMESG_MAX_BYTES,
  dmesgCollector,
  formatKmsg,
  formatKmsgRecord,
  messageLines,
  recordPrefix,
  RecordTail,
} from "../methods/dmesg.ts";
import { KmsgParser, type KmsgRecord, parseKmsgLine, unescapeKmsg } from "../proc/kmsg.ts";
import { MethodFailure } from "../failure.ts";
import { ProcFs } from "../proc/fs.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function procFs(root: string): ProcFs {
  return new ProcFs({ root, maxFileBytes: 1 << 24 });
}

/** Records as plain values, for deepEqual. */
function plain(record: KmsgRecord | undefined) {
  return record === undefined ? undefined : { ...record, message: decoder.decode(record.message) };
}

Deno.test("parseKmsgLine: headers, and lines that are not records", () => {
  const cases: [name: string, line: string, expected: ReturnType<typeof plain>][] = [
    ["kernel record", "6,339,1349508,-;tokio-rt-worker (69): drop_caches: 3", {
      priority: 6,
      sequence: 339,
      timestampUs: 1349508,
      message: "tokio-rt-worker (69): drop_caches: 3",
    }],
    ["facility user", "14,411,1909919373,-;lepd", {
      priority: 14,
      sequence: 411,
      timestampUs: 1909919373,
      message: "lepd",
    }],
    ["continuation flag and caller field", "4,12,5,c,caller=T42;part", {
      priority: 4,
      sequence: 12,
      timestampUs: 5,
      message: "part",
    }],
    ["empty message", "6,1,0,-;", { priority: 6, sequence: 1, timestampUs: 0, message: "" }],
    ["semicolons in the message", "6,1,0,-;a;b", {
      priority: 6,
      sequence: 1,
      timestampUs: 0,
      message: "a;b",
    }],
    ["dictionary line", " SUBSYSTEM=acpi", undefined],
    ["dictionary line with a semicolon", " DEVICE=+acpi:x;y", undefined],
    ["empty line", "", undefined],
    ["no semicolon", "6,1,0,-", undefined],
    ["priority not a number", "x,1,0,-;m", undefined],
    ["too few fields", "6,1;m", undefined],
    ["negative timestamp", "6,1,-5,-;m", undefined],
  ];
  for (const [name, line, expected] of cases) {
    assert.deepEqual(plain(parseKmsgLine(bytes(line))), expected, name);
  }
});

Deno.test("unescapeKmsg and messageLines: bytes as dmesg shows them", () => {
  const cases: [name: string, escaped: string, expected: string[]][] = [
    ["plain text", "hello world", ["hello world"]],
    ["TAB is kept, as dmesg -r prints it", "rcu: \\x09RCU", ["rcu: \tRCU"]],
    ["bell and DEL stay escaped", "a\\x07b\\x7fc", ["a\\x07b\\x7fc"]],
    ["UTF-8 is decoded", "caf\\xc3\\xa9 \\xe2\\x82\\xac \\xf0\\x9f\\x90\\xa7", ["café € 🐧"]],
    ["upper-case hex digits", "caf\\xC3\\xA9", ["café"]],
    ["backslash", "back\\x5cslash", ["back\\slash"]],
    ["newline splits the record", "a\\x0a b\\x0ac", ["a", " b", "c"]],
    ["trailing newline leaves an empty line", "a\\x0a", ["a", ""]],
    ["invalid UTF-8 stays escaped", "\\xff\\xfe ok", ["\\xff\\xfe ok"]],
    ["truncated sequence stays escaped", "x\\xe2\\x82", ["x\\xe2\\x82"]],
    ["lone continuation byte", "\\x80", ["\\x80"]],
    ["surrogate encoding is invalid", "\\xed\\xa0\\x80", ["\\xed\\xa0\\x80"]],
    ["overlong encoding is invalid", "\\xc0\\xaf", ["\\xc0\\xaf"]],
    ["not an escape: backslash without x", "a\\b", ["a\\b"]],
    ["not an escape: one hex digit at the end", "a\\x4", ["a\\x4"]],
    ["not an escape: no hex digits", "a\\xzz", ["a\\xzz"]],
    ["NUL", "a\\x00b", ["a\\x00b"]],
    ["empty", "", [""]],
  ];
  for (const [name, escaped, expected] of cases) {
    assert.deepEqual(messageLines(unescapeKmsg(bytes(escaped))), expected, name);
  }
});

Deno.test("recordPrefix: whole priority, seconds padded to 5, microseconds to 6", () => {
  const cases: [priority: number, timestampUs: number, expected: string][] = [
    [6, 0, "<6>[    0.000000] "],
    [5, 1_349_508, "<5>[    1.349508] "],
    [14, 1_909_919_373, "<14>[ 1909.919373] "],
    [31, 99_999_999_999, "<31>[99999.999999] "],
    [0, 123_456_000_001, "<0>[123456.000001] "],
    [191, 7, "<191>[    0.000007] "],
  ];
  for (const [priority, timestampUs, expected] of cases) {
    assert.equal(recordPrefix({ priority, timestampUs }), expected);
  }
});

Deno.test("formatKmsgRecord: every line of a record carries the prefix", () => {
  const record = parseKmsgLine(bytes("4,374,1078214922,-;Mem-Info:\\x0a active:1\\x0a free:2"))!;
  assert.equal(
    formatKmsgRecord(record),
    "<4>[ 1078.214922] Mem-Info:\n<4>[ 1078.214922]  active:1\n<4>[ 1078.214922]  free:2\n",
  );
});

const SAMPLE = "6,1,10,-;first\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00\n" +
  "14,2,2000000,-;user caf\\xc3\\xa9\n4,3,3000001,-;two\\x0alines\n";
const SAMPLE_TEXT = "<6>[    0.000010] first\n<14>[    2.000000] user café\n" +
  "<4>[    3.000001] two\n<4>[    3.000001] lines\n";

Deno.test("formatKmsg: dictionary lines dropped, records in order", () => {
  assert.equal(formatKmsg(bytes(SAMPLE), { maxBytes: 1 << 16 }), SAMPLE_TEXT);
  assert.equal(formatKmsg(new Uint8Array(0), { maxBytes: 1 << 16 }), "");
  // A captured file whose last line has no newline.
  assert.equal(
    formatKmsg(bytes(SAMPLE.trimEnd()), { maxBytes: 1 << 16 }),
    SAMPLE_TEXT,
  );
});

Deno.test("KmsgParser: any split of the bytes gives the same records", () => {
  const whole = bytes(SAMPLE);
  for (const chunkSize of [1, 2, 3, 7, 16, whole.length]) {
    const texts: string[] = [];
    const parser = new KmsgParser((record) => texts.push(formatKmsgRecord(record)));
    for (let offset = 0; offset < whole.length; offset += chunkSize) {
      // A fresh copy per chunk, reused afterwards, as /dev/kmsg reads reuse one buffer.
      const chunk = whole.slice(offset, offset + chunkSize);
      parser.push(chunk);
      chunk.fill(0x21);
    }
    parser.end();
    assert.equal(texts.join(""), SAMPLE_TEXT, `chunks of ${chunkSize}`);
  }
});

Deno.test("RecordTail: the newest records that fit, cut before a record", () => {
  const records = ["<6>[    0.000001] a\n", "<6>[    0.000002] bb\n", "<6>[    0.000003] ccc\n"];
  const sizes = records.map((record) => encoder.encode(record).length);
  const cases: [maxBytes: number, expected: string[]][] = [
    [1 << 20, records],
    [sizes[0]! + sizes[1]! + sizes[2]!, records],
    [sizes[0]! + sizes[1]! + sizes[2]! - 1, records.slice(1)],
    [sizes[1]! + sizes[2]!, records.slice(1)],
    [sizes[2]!, records.slice(2)],
    [sizes[2]! - 1, []],
    [0, []],
  ];
  for (const [maxBytes, expected] of cases) {
    const tail = new RecordTail(maxBytes);
    for (const record of records) tail.push(record);
    assert.equal(tail.text(), expected.join(""), `maxBytes ${maxBytes}`);
    assert.ok(encoder.encode(tail.text()).length <= maxBytes);
  }
});

Deno.test("RecordTail: counts UTF-8 bytes, not characters", () => {
  const tail = new RecordTail(6);
  tail.push("é\n"); // 3 bytes
  tail.push("€\n"); // 4 bytes: only this one fits in 6
  assert.equal(tail.text(), "€\n");
  const emoji = new RecordTail(5);
  emoji.push("🐧\n"); // 5 bytes
  assert.equal(emoji.text(), "🐧\n");
});

Deno.test("RecordTail: a long log keeps the tail only", () => {
  const tail = new RecordTail(100);
  for (let index = 0; index < 20_000; index++) tail.push(`${String(index).padStart(9)}\n`);
  assert.equal(
    tail.text(),
    Array.from({ length: 10 }, (_, i) => `${19_990 + i}`.padStart(9) + "\n").join(""),
  );
});

Deno.test("formatKmsg: the size bound drops the oldest records", () => {
  const text = formatKmsg(bytes(SAMPLE), { maxBytes: 70 });
  assert.equal(text, "<4>[    3.000001] two\n<4>[    3.000001] lines\n");
});

Deno.test("golden: GetCmdDmesg of kmsg-sample", async () => {
  const root = fileURLToPath(new URL("kmsg-sample", FIXTURES));
  const collector = dmesgCollector({ maxBytes: DEFAULT_DMESG_MAX_BYTES });
  const text = await collector.collect({ fs: procFs(root), methods: [] });
  await collector.close();
  assert.equal(text, await Deno.readTextFile(`${root}/expected/GetCmdDmesg.txt`));
  // What the fixture is there for (README.md).
  const lines = text.split("\n");
  assert.equal(lines.at(-1), "", "ends with a newline");
  assert.ok(lines.slice(0, -1).every((line) => /^<\d+>\[[ \d]{5,}\.\d{6}\] /.test(line)));
  assert.ok(!text.includes("SUBSYSTEM=") && !text.includes("DEVICE="), "dictionary dropped");
  assert.ok(lines.includes("<4>[ 1078.214922]  active_file:68 inactive_file:1961 isolated_file:0"));
  assert.ok(
    lines.includes(
      "<14>[ 1909.919373] lepd-fixture: user message café, tab\there, back\\slash, bell\\x07",
    ),
  );
  assert.ok(lines.includes("<31>[ 1909.919394] lepd-fixture: daemon facility debug"));
  assert.ok(!/Command line|firecracker/.test(text), "the sandbox configuration was left out");
  // The bound cuts it before a record.
  const small = dmesgCollector({ maxBytes: 200 });
  const tail = await small.collect({ fs: procFs(root), methods: [] });
  await small.close();
  assert.equal(
    tail,
    "<12>[ 1909.919387] lepd-fixture: first line\n<12>[ 1909.919389] second line\n" +
      "<31>[ 1909.919394] lepd-fixture: daemon facility debug\n",
  );
});

Deno.test("dmesgCollector: keeps the log open and reads only what was added", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-dmesg-" });
  try {
    await Deno.mkdir(`${root}/dev`);
    const kmsg = `${root}/dev/kmsg`;
    await Deno.writeTextFile(kmsg, "6,1,1000000,-;one\n");
    const collector = dmesgCollector({ maxBytes: 1 << 16 });
    const context = { fs: procFs(root), methods: [] };
    assert.equal(await collector.collect(context), "<6>[    1.000000] one\n");
    assert.equal(await collector.collect(context), "<6>[    1.000000] one\n", "nothing new");
    await Deno.writeTextFile(kmsg, "6,2,2000000,-;two\n SUBSYSTEM=x\n", { append: true });
    assert.equal(
      await collector.collect(context),
      "<6>[    1.000000] one\n<6>[    2.000000] two\n",
    );
    // After close() the next request reads the log from its start again.
    await collector.close();
    await Deno.writeTextFile(kmsg, "6,7,7000000,-;rewritten\n");
    assert.equal(await collector.collect(context), "<6>[    7.000000] rewritten\n");
    await collector.close();
    await collector.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dmesgCollector: a missing log is a one-line failure naming /dev/kmsg", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-dmesg-" });
  try {
    const collector = dmesgCollector({ maxBytes: 1 << 16 });
    const context = { fs: procFs(root), methods: [] };
    await assert.rejects(collector.collect(context), (error: unknown) => {
      assert.ok(error instanceof MethodFailure);
      assert.equal(
        error.message,
        `Cannot read "/dev/kmsg": no such file (this kernel or container has no kernel log device)`,
      );
      return true;
    });
    assert.match((await collector.probe!(context))!, /^Cannot read "\/dev\/kmsg": no such file/);
    // A directory where the log should be: open works, read fails.
    await Deno.mkdir(`${root}/dev/kmsg`, { recursive: true });
    await assert.rejects(collector.collect(context), MethodFailure);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// The live kernel log. Reads run in a child process with a deadline: a read that blocked would
// hang this process for good, a child can be killed.

const DMESG_MODULE = new URL("../methods/dmesg.ts", import.meta.url).href;
const PROC_FS_MODULE = new URL("../proc/fs.ts", import.meta.url).href;
const isRoot = IS_ROOT;

/** Runs `script` (with `dmesgCollector` and `ProcFs` in scope) in a child; its output. */
async function runChild(
  script: string,
  options: { prefix?: string[] } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = `import { dmesgCollector } from ${JSON.stringify(DMESG_MODULE)};
import { ProcFs } from ${JSON.stringify(PROC_FS_MODULE)};
${script}`;
  const [program, ...args] = [...(options.prefix ?? []), Deno.execPath(), "eval", "--ext=ts", code];
  const output = await new Deno.Command(program!, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name: "live: the newest kernel record is read, without blocking, last in the text",
  ignore: skipUnless(isRoot, "writing to /dev/kmsg needs root", "dmesg live"),
  async fn() {
    const marker = `lepd-dmesg-test ${crypto.randomUUID()}`;
    const second = `${marker} again`;
    const result = await runChild(`
      const fs = new ProcFs({ maxFileBytes: 1 << 24 });
      const collector = dmesgCollector({ maxBytes: 65536 });
      const kmsg = await Deno.open("/dev/kmsg", { write: true });
      await kmsg.write(new TextEncoder().encode(${JSON.stringify(`<13>${marker}\n`)}));
      const first = await collector.collect({ fs, methods: [] });
      await kmsg.write(new TextEncoder().encode(${JSON.stringify(`<13>${second}\n`)}));
      kmsg.close();
      const started = performance.now();
      const next = await collector.collect({ fs, methods: [] });
      const ms = performance.now() - started;
      await collector.close();
      console.log(JSON.stringify({ first, next, ms }));
    `);
    assert.equal(result.code, 0, result.stderr);
    const { first, next, ms }: { first: string; next: string; ms: number } = JSON.parse(
      result.stdout,
    );
    const checks: [text: string, newest: string][] = [[first, marker], [next, second]];
    for (const [text, newest] of checks) {
      assert.ok(text.length > 0 && text.length <= 65536);
      assert.ok(text.endsWith("\n"));
      const lines = text.slice(0, -1).split("\n");
      const index = lines.findIndex((line) => line.endsWith(`] ${newest}`));
      assert.ok(index >= 0, `the record "${newest}" is in the text`);
      assert.match(lines[index]!, /^<13>\[[ \d]{5,}\.\d{6}\] /, "priority with the user facility");
      // Only records logged after it may follow (a busy kernel may log meanwhile).
      const stamp = (line: string) => Number(/^<\d+>\[ *(\d+\.\d+)\]/.exec(line)?.[1]);
      for (const later of lines.slice(index + 1)) assert.ok(stamp(later) >= stamp(lines[index]!));
    }
    assert.ok(next.includes(`] ${marker}\n`), "the earlier record is still in the tail");
    // A read that blocked would wait for the child's 20 s timeout; any load stays far below.
    assert.ok(ms < 10_000, `the second request did not block (${ms} ms)`);
  },
});

Deno.test({
  name: "live: without CAP_SYSLOG under dmesg_restrict the failure says what to grant",
  ignore: skipUnless(isRoot, "dropping CAP_SYSLOG with setpriv needs root", "dmesg restrict") ||
    skipUnless(
      Deno.readTextFileSync("/proc/sys/kernel/dmesg_restrict").trim() === "1",
      "kernel.dmesg_restrict is not 1",
      "dmesg restrict",
    ) ||
    skipUnless(
      ["/usr/bin/setpriv", "/bin/setpriv"].some((path) => {
        try {
          return Deno.statSync(path).isFile;
        } catch {
          return false;
        }
      }),
      "setpriv (util-linux) is not installed",
      "dmesg restrict",
    ),
  async fn() {
    const result = await runChild(
      `
      const fs = new ProcFs({ maxFileBytes: 1 << 24 });
      const collector = dmesgCollector({ maxBytes: 65536 });
      const reason = await collector.probe({ fs, methods: [] });
      try {
        await collector.collect({ fs, methods: [] });
        console.log(JSON.stringify({ reason, message: null }));
      } catch (error) {
        console.log(JSON.stringify({ reason, name: error.name, message: error.message }));
      }
    `,
      { prefix: ["setpriv", "--bounding-set", "-syslog"] },
    );
    assert.equal(result.code, 0, result.stderr);
    const { reason, name, message } = JSON.parse(result.stdout);
    assert.equal(name, "MethodFailure");
    assert.equal(
      message,
      `Cannot read "/dev/kmsg": the kernel log is restricted (kernel.dmesg_restrict = 1) and ` +
        `lepd (uid 0) lacks CAP_SYSLOG; grant it CAP_SYSLOG (AmbientCapabilities=CAP_SYSLOG ` +
        `in its systemd unit)`,
    );
    assert.equal(reason, message, "the start-up probe reports the same reason");
  },
});
