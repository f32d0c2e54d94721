/**
 * Tests of `GetCmdProcrank` and of the per-process memory reader it shares with smem: the
 * smaps parser and the procrank formatter (table-driven, and read back with the parsing rules
 * of LEPV, docs/protocol.md 4.13), golden outputs of captured trees — including the smaps fallback
 * of kernels before 4.14 — and the live /proc of this machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import { byPssDescending, readMemoryUsage } from "../methods/memory_usage.ts";
import { type MemoryUsage, parseSmapsUsage } from "../proc/smaps.ts";
import { ProcFs } from "../proc/fs.ts";
import {
  formatProcrank,
  procrankCollector,
  procrankCommand,
  type ProcrankRow,
  readProcrankRows,
} from "../methods/procrank.ts";

const GOLDEN_TREES = ["x86_64-vm", "synthetic-processes", "synthetic-smaps"];
const SEPARATOR = " ".repeat(27) + "------   ------  ------";
const SEPARATOR_WITH_SWAP = " ".repeat(27) + "------   ------   ------  ------";

function treeRoot(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

function fixtureFs(tree: string): ProcFs {
  return new ProcFs({ root: treeRoot(tree), maxFileBytes: 1 << 24 });
}

/** What LEPV's `getProcrank` extracts from a result (docs/protocol.md 4.13). */
interface LepvProcrank {
  rows: { pid: number; vss: number; rss: number; pss: number; uss: number; cmdline: string }[];
  /** Token −3 and −2 of the third line from the end, without their unit. */
  total: { pss: number; uss: number };
  /** `sum[name]` and `sum[name + 'Unit']` of the `RAM:` line. */
  ram: Map<string, string>;
}

/** A Python `int()` of a token: throws on anything but an optionally signed decimal. */
function pythonInt(token: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(token)) throw new Error(`ValueError: int(${JSON.stringify(token)})`);
  return Number(token);
}

/**
 * Parses a procrank text the way LEPV does, throwing where LEPV would raise, and returning an
 * empty summary where LEPV silently would:
 *
 * * `split_to_lines`: strip, then split on newlines and on the two characters `\n`;
 * * line 0 is the header; rows until a line matching `\W+-+\W+-+\W-+` (searched anywhere,
 *   the stricter reading): token 0 the pid, tokens 1–4 VSS RSS PSS USS with their last
 *   character (`K`) chopped, the rest joined by spaces the cmdline;
 * * the summary: the last line must start with `RAM:` and splits on `", "` into
 *   `<number><unit> <name>`; the third line from the end must end with `TOTAL`.
 */
function parseLikeLepv(result: string): LepvProcrank {
  const lines = result.trim().split(/\\n|\n/);
  const rows: LepvProcrank["rows"] = [];
  let index = 1;
  for (; index < lines.length; index++) {
    const line = lines[index]!;
    if (/\W+-+\W+-+\W-+/.test(line)) break;
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 5) throw new Error(`IndexError in row ${JSON.stringify(line)}`);
    const [vss, rss, pss, uss] = tokens.slice(1, 5).map((token) => {
      assert.ok(token.endsWith("K"), `${token} ends with K in ${JSON.stringify(line)}`);
      return pythonInt(token.slice(0, -1));
    });
    rows.push({
      pid: pythonInt(tokens[0]!),
      vss: vss!,
      rss: rss!,
      pss: pss!,
      uss: uss!,
      cmdline: tokens.slice(5).join(" "),
    });
  }
  assert.ok(index < lines.length, "a separator line follows the rows");
  const ram = new Map<string, string>();
  const last = lines[lines.length - 1]!;
  assert.ok(last.startsWith("RAM:"), `the last line starts with RAM: ${JSON.stringify(last)}`);
  for (const part of last.slice("RAM:".length).split(", ")) {
    const [value, name, ...rest] = part.trim().split(" ");
    assert.ok(value !== undefined && name !== undefined && rest.length === 0, part);
    ram.set(name, String(pythonInt(value.slice(0, -1))));
    ram.set(`${name}Unit`, value.slice(-1));
  }
  const totalLine = lines[lines.length - 3]!;
  assert.ok(totalLine.endsWith("TOTAL"), `third line from the end: ${JSON.stringify(totalLine)}`);
  const totalTokens = totalLine.trim().split(/\s+/);
  const pssTotal = totalTokens[totalTokens.length - 3]!;
  const ussTotal = totalTokens[totalTokens.length - 2]!;
  assert.ok(pssTotal.endsWith("K") && ussTotal.endsWith("K"), totalLine);
  return {
    rows,
    total: { pss: pythonInt(pssTotal.slice(0, -1)), uss: pythonInt(ussTotal.slice(0, -1)) },
    ram,
  };
}

/** Checks what every procrank text must satisfy for LEPV and for the TOTAL line. */
function assertLepvReadable(text: string): LepvProcrank {
  assert.ok(text.endsWith("\n") && !text.endsWith("\n\n"), "ends with the RAM line's newline");
  const parsed = parseLikeLepv(text);
  const lines = text.split("\n");
  assert.equal(lines[lines.length - 3], "", "one empty line before the RAM line");
  assert.equal(parsed.total.pss, parsed.rows.reduce((sum, row) => sum + row.pss, 0));
  assert.equal(parsed.total.uss, parsed.rows.reduce((sum, row) => sum + row.uss, 0));
  assert.deepEqual(
    [...parsed.ram.keys()],
    ["total", "totalUnit", "free", "freeUnit", "buffers", "buffersUnit", "cached", "cachedUnit"]
      .concat(["shmem", "shmemUnit", "slab", "slabUnit"]),
  );
  for (let index = 1; index < parsed.rows.length; index++) {
    const [before, after] = [parsed.rows[index - 1]!, parsed.rows[index]!];
    assert.ok(
      before.pss > after.pss || (before.pss === after.pss && before.pid < after.pid),
      `sorted by PSS, then pid: ${before.pid} before ${after.pid}`,
    );
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// The smaps parser, the order shared with smem, and the cmdline column.

const ROLLUP = `55d5c0a00000-7ffe43bc0000 ---p 00000000 00:00 0                          [rollup]
Rss:                1772 kB
Pss:                 549 kB
Pss_Dirty:           108 kB
Shared_Clean:       1620 kB
Private_Clean:        44 kB
Private_Dirty:       108 kB
Private_Hugetlb:    2048 kB
Swap:                 12 kB
SwapPss:               6 kB
`;

const SMAPS = `00400000-00464000 r-xp 00000000 08:01 1046       /usr/sbin/oldd
Size:                400 kB
Rss:                 400 kB
Pss:                 200 kB
Private_Clean:       100 kB
Private_Dirty:         0 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me dw
01e4c000-01f4c000 rw-p 00000000 00:00 0          [heap]
Rss:                1000 kB
Pss:                1000 kB
Private_Clean:         0 kB
Private_Dirty:      1000 kB
Swap:                300 kB
SwapPss:             300 kB
7f1c2a000000-7f1c2a006000 r--p 00000000 08:01 2291   /opt/x/Rss: 999 kB
Rss:                  24 kB
Pss:                  12 kB
`;

const SMAPS_CASES: { name: string; text: string; expected: MemoryUsage | undefined }[] = [
  { name: "empty (kernel thread, zombie)", text: "", expected: undefined },
  { name: "no Rss line", text: "Pss: 5 kB\nSwap: 3 kB\n", expected: undefined },
  { name: "not smaps", text: "hello world\n", expected: undefined },
  {
    name: "smaps_rollup; SwapPss, Private_Hugetlb and Pss_Dirty do not count",
    text: ROLLUP,
    expected: { rssKib: 1772, pssKib: 549, ussKib: 152, swapKib: 12 },
  },
  {
    name: "smaps: mappings summed; a file named `Rss: 999 kB` does not count",
    text: SMAPS,
    expected: { rssKib: 1424, pssKib: 1212, ussKib: 1100, swapKib: 300 },
  },
  {
    name: "an address space with nothing resident",
    text: "Rss: 0 kB\nPss: 0 kB\n",
    expected: { rssKib: 0, pssKib: 0, ussKib: 0, swapKib: 0 },
  },
  {
    name: "no trailing newline",
    text: "Rss:\t7 kB\nPrivate_Dirty:\t3 kB",
    expected: { rssKib: 7, pssKib: 0, ussKib: 3, swapKib: 0 },
  },
];

for (const { name, text, expected } of SMAPS_CASES) {
  Deno.test(`parseSmapsUsage: ${name}`, () => {
    assert.deepEqual(parseSmapsUsage(text), expected);
  });
}

Deno.test("readMemoryUsage: smaps_rollup first, smaps when it is missing, else undefined", () => {
  const fs = fixtureFs("synthetic-smaps");
  assert.deepEqual(readMemoryUsage(fs, 1), {
    rssKib: 1424,
    pssKib: 1212,
    ussKib: 1100,
    swapKib: 300,
  });
  assert.deepEqual(readMemoryUsage(fs, 10), {
    rssKib: 5000,
    pssKib: 2500,
    ussKib: 2000,
    swapKib: 0,
  });
  assert.equal(readMemoryUsage(fs, 20), undefined, "neither file");
  assert.equal(readMemoryUsage(fs, 70), undefined, "an empty smaps_rollup");
  assert.equal(readMemoryUsage(fs, 99999), undefined, "no such process");
});

Deno.test("byPssDescending: largest PSS first, equal PSS by pid", () => {
  const rows = [
    { pid: 9, pssKib: 5 },
    { pid: 3, pssKib: 7 },
    { pid: 8, pssKib: 5 },
    { pid: 1, pssKib: 0 },
    { pid: 2, pssKib: 5 },
  ];
  assert.deepEqual(rows.sort(byPssDescending).map((row) => row.pid), [3, 2, 8, 9, 1]);
});

const COMMAND_CASES: { name: string; cmdline: string; expected: string }[] = [
  { name: "argv[0] only", cmdline: "/sbin/init\0splash\0", expected: "/sbin/init" },
  { name: "argv[0] with a space", cmdline: "./odd prog\0--flag\0", expected: "./odd prog" },
  {
    name: "a title rewritten without NULs",
    cmdline: "postgres: checkpointer   ",
    expected: "postgres: checkpointer   ",
  },
  { name: "empty", cmdline: "", expected: "<unknown>" },
  { name: "empty argv[0]", cmdline: "\0--flag\0", expected: "<unknown>" },
  { name: "control characters", cmdline: "a\nb\tc\rd\x7f\0", expected: "a?b?c?d?" },
  { name: "a literal backslash-n (LEPV splits on it)", cmdline: "a\\nb\0", expected: "a?nb" },
  { name: "other backslashes stay", cmdline: "C:\\x\\y\0", expected: "C:\\x\\y" },
];

for (const { name, cmdline, expected } of COMMAND_CASES) {
  Deno.test(`procrankCommand: ${name}`, () => {
    assert.equal(procrankCommand(cmdline), expected);
  });
}

// ---------------------------------------------------------------------------------------------
// The formatter.

function row(
  pid: number,
  vssKib: number,
  rssKib: number,
  pssKib: number,
  ussKib: number,
  cmdline: string,
  swapKib = 0,
): ProcrankRow {
  return { pid, vssKib, rssKib, pssKib, ussKib, swapKib, cmdline };
}

const RAM = new Map(Object.entries({
  MemTotal: 896940,
  MemFree: 714840,
  Buffers: 7876,
  Cached: 83700,
  Shmem: 5412,
  Slab: 15844,
  SwapTotal: 0,
}));
const RAM_LINE =
  "RAM: 896940K total, 714840K free, 7876K buffers, 83700K cached, 5412K shmem, 15844K slab";

const FORMAT_CASES: {
  name: string;
  rows: ProcrankRow[];
  meminfo: Map<string, number>;
  expected: string[];
}[] = [
  {
    name: "rows of docs/protocol.md 3.9, given in the wrong order",
    rows: [
      row(429, 3836, 708, 135, 116, "/sbin/getty"),
      row(6938, 812580, 171020, 161687, 159068, "/usr/lib/firefox/firefox"),
    ],
    meminfo: RAM,
    expected: [
      "  PID       Vss      Rss      Pss      Uss  cmdline",
      " 6938   812580K  171020K  161687K  159068K  /usr/lib/firefox/firefox",
      "  429     3836K     708K     135K     116K  /sbin/getty",
      SEPARATOR,
      "                          161822K  159184K  TOTAL",
      "",
      RAM_LINE,
    ],
  },
  {
    name: "a Swap column when any process has swap, blank in TOTAL (LEPV reads PSS, USS there)",
    rows: [
      row(1, 166015, 9000, 4000, 3000, "/sbin/init"),
      row(300, 19531, 1000, 800, 700, "/opt/tool/bin/tool", 256),
      row(301, 19531, 1000, 800, 700, "/opt/tool/bin/tool", 1024),
    ],
    meminfo: RAM,
    expected: [
      "  PID       Vss      Rss      Pss      Uss     Swap  cmdline",
      "    1   166015K    9000K    4000K    3000K       0K  /sbin/init",
      "  300    19531K    1000K     800K     700K     256K  /opt/tool/bin/tool",
      "  301    19531K    1000K     800K     700K    1024K  /opt/tool/bin/tool",
      SEPARATOR_WITH_SWAP,
      "                            5600K    4400K           TOTAL",
      "",
      RAM_LINE,
    ],
  },
  {
    name: "no process (e.g. none readable)",
    rows: [],
    meminfo: RAM,
    expected: [
      "  PID       Vss      Rss      Pss      Uss  cmdline",
      SEPARATOR,
      "                               0K       0K  TOTAL",
      "",
      RAM_LINE,
    ],
  },
  {
    name: "equal PSS by pid; more than 51 rows are all printed",
    rows: Array.from({ length: 60 }, (_, index) => row(200 - index, 10, 9, 8, 7, "x")),
    meminfo: RAM,
    expected: [
      "  PID       Vss      Rss      Pss      Uss  cmdline",
      ...Array.from(
        { length: 60 },
        (_, index) => `${String(141 + index).padStart(5)}       10K       9K       8K       7K  x`,
      ),
      SEPARATOR,
      "                             480K     420K  TOTAL",
      "",
      RAM_LINE,
    ],
  },
  {
    name: "values wider than their columns push the line right; missing meminfo keys read 0",
    rows: [row(4194304, 18154480, 12345678, 1234567, 7, "big")],
    meminfo: new Map([["MemTotal", 100]]),
    expected: [
      "  PID       Vss      Rss      Pss      Uss  cmdline",
      "4194304  18154480K  12345678K  1234567K       7K  big",
      SEPARATOR,
      "                          1234567K       7K  TOTAL",
      "",
      "RAM: 100K total, 0K free, 0K buffers, 0K cached, 0K shmem, 0K slab",
    ],
  },
];

for (const { name, rows, meminfo, expected } of FORMAT_CASES) {
  Deno.test(`formatProcrank: ${name}`, () => {
    const text = formatProcrank(rows, meminfo);
    assert.equal(text, expected.join("\n") + "\n");
    const parsed = assertLepvReadable(text);
    const sorted = [...rows].sort(byPssDescending);
    assert.deepEqual(
      parsed.rows,
      sorted.map(({ pid, vssKib, rssKib, pssKib, ussKib, swapKib, cmdline }) => ({
        pid,
        vss: vssKib,
        rss: rssKib,
        pss: pssKib,
        uss: ussKib,
        // With the Swap column, LEPV reads the swap value as the first word of the cmdline.
        cmdline: sorted.some((other) => other.swapKib > 0) ? `${swapKib}K ${cmdline}` : cmdline,
      })),
    );
    assert.equal(parsed.ram.get("total"), String(meminfo.get("MemTotal")));
    assert.equal(parsed.ram.get("slabUnit"), "K");
  });
}

Deno.test("formatProcrank: does not reorder the rows it is given", () => {
  const rows = [row(1, 1, 1, 1, 1, "a"), row(2, 2, 2, 2, 2, "b")];
  formatProcrank(rows, RAM);
  assert.deepEqual(rows.map((each) => each.pid), [1, 2]);
});

// LEPV emulation self-checks: texts LEPV cannot read must fail here too, or passing proves little.
const UNREADABLE_CASES: { name: string; text: string }[] = [
  {
    name: "no separator",
    text: [
      "  PID  Vss  Rss  Pss  Uss  cmdline",
      "1  1K  1K  1K  1K  a",
      "  1K  1K  TOTAL",
      "",
      RAM_LINE,
    ]
      .join("\n"),
  },
  {
    name: "a row cut short",
    text: [
      "  PID  Vss  Rss  Pss  Uss  cmdline",
      "1  1K  1K",
      SEPARATOR,
      "  1K  1K  TOTAL",
      "",
      RAM_LINE,
    ]
      .join("\n"),
  },
  {
    name: "a row split by a literal backslash-n",
    text: formatProcrank([row(1, 1, 1, 1, 1, "a\\nb")], RAM),
  },
  {
    name: "text after the RAM line",
    text: formatProcrank([row(1, 1, 1, 1, 1, "a")], RAM) + "more\n",
  },
  {
    name: "no empty line before the RAM line",
    text: formatProcrank([row(1, 1, 1, 1, 1, "a")], RAM).replace("\n\nRAM", "\nRAM"),
  },
];

for (const { name, text } of UNREADABLE_CASES) {
  Deno.test(`LEPV emulation rejects: ${name}`, () => {
    assert.throws(() => assertLepvReadable(text));
  });
}

// ---------------------------------------------------------------------------------------------
// Reading processes, golden outputs and the live system.

Deno.test("readProcrankRows: synthetic-smaps — fallback, skips and <unknown>", () => {
  const rows = readProcrankRows(fixtureFs("synthetic-smaps"));
  assert.deepEqual(rows.map((each) => each.pid), [1, 10, 30, 40, 50, 51]);
  assert.deepEqual(rows[0], row(1, 12288, 1424, 1212, 1100, "/usr/sbin/oldd", 300));
  assert.equal(rows[2]!.cmdline, "<unknown>");
  assert.equal(rows[3]!.cmdline, "/opt/\u{1F418}b\u00e4d?n\u00e4me?x?n.sh");
});

Deno.test("readProcrankRows: synthetic-processes — kernel threads, zombies and vanished skipped", () => {
  const rows = readProcrankRows(fixtureFs("synthetic-processes"));
  assert.deepEqual(rows.map((each) => each.pid), [1, 100, 300, 600, 700]);
  assert.deepEqual(rows.find((each) => each.pid === 700)!.vssKib, 4194300, "4 GiB - 4 KiB");
  assert.equal(rows.find((each) => each.pid === 300)!.swapKib, 256);
});

Deno.test("procrankCollector: failures name what could not be read", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-procrank-" });
  try {
    const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
    await assert.rejects(
      procrankCollector.collect({ fs, methods: [] }),
      (error: unknown) =>
        error instanceof MethodFailure && error.message.startsWith('Cannot list "/proc"'),
    );
    await Deno.mkdir(`${root}/proc`);
    await assert.rejects(
      procrankCollector.collect({ fs, methods: [] }),
      (error: unknown) =>
        error instanceof MethodFailure &&
        error.message.startsWith('Cannot read "/proc/meminfo": no such file'),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

for (const tree of GOLDEN_TREES) {
  Deno.test(`procrankCollector: golden output of ${tree}`, async () => {
    const text = await procrankCollector.collect({ fs: fixtureFs(tree), methods: [] });
    assert.equal(
      text,
      await Deno.readTextFile(`${treeRoot(tree)}/expected/GetCmdProcrank.txt`),
    );
    assertLepvReadable(text);
  });
}

Deno.test("procrankCollector: live /proc — LEPV reads it, sorted, totals add up, lepd listed", async () => {
  const fs = new ProcFs({ maxFileBytes: 1 << 24 });
  const text = await procrankCollector.collect({ fs, methods: [] });
  const parsed = assertLepvReadable(text);
  const self = parsed.rows.find((each) => each.pid === Deno.pid);
  assert.ok(self !== undefined, `pid ${Deno.pid} in\n${text}`);
  assert.ok(self.pss > 0 && self.rss >= self.pss && self.pss >= self.uss, JSON.stringify(self));
  assert.ok(self.vss >= self.rss, JSON.stringify(self));
  for (const each of parsed.rows) {
    assert.ok(each.vss > 0 && each.cmdline !== "", JSON.stringify(each));
  }
  const memTotal = /^MemTotal:\s+(\d+) kB/m.exec(await Deno.readTextFile("/proc/meminfo"))![1];
  assert.equal(parsed.ram.get("total"), memTotal);
});
