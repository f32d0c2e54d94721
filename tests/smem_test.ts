/**
 * Tests of `GetCmdSmem`: the `smem -p -s pss -r` table (table-driven formatter cases and the
 * column alignment), golden outputs of captured trees, and the live /proc of this machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MethodFailure } from "../failure.ts";
import { ProcFs } from "../proc/fs.ts";
import { UserNames } from "../methods/processes.ts";
import { formatSmem, readSmemRows, smemCollector, type SmemRow } from "../methods/smem.ts";

const GOLDEN_TREES = ["x86_64-vm", "synthetic-processes", "synthetic-smaps"];
const HEADER = "  PID User     Command                         Swap      USS      PSS      RSS";
const MEMINFO = new Map([["MemTotal", 1000000], ["SwapTotal", 1000000]]);

function treeRoot(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

function fixtureFs(tree: string): ProcFs {
  return new ProcFs({ root: treeRoot(tree), maxFileBytes: 1 << 24 });
}

function row(
  pid: number,
  user: string,
  command: string,
  kib: { swap?: number; uss: number; pss: number; rss: number },
): SmemRow {
  return {
    pid,
    user,
    command,
    swapKib: kib.swap ?? 0,
    ussKib: kib.uss,
    pssKib: kib.pss,
    rssKib: kib.rss,
  };
}

/**
 * Checks the table: the header, and for every row each value right-aligned under its header
 * (columns counted in code points, as smem's Python does; shifted right by as much as a long
 * pid or user name overflows) and shaped `d.dd%`. Returns pid, user and the four percentages.
 */
function assertTable(text: string): { pid: number; user: string; percents: number[] }[] {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  const [header, ...lines] = text.slice(0, -1).split("\n");
  assert.equal(header, HEADER);
  const headerEnds = ["Swap", "USS", "PSS", "RSS"].map((name) =>
    HEADER.indexOf(name) + name.length
  );
  return lines.map((line) => {
    const start = /^ *(\d+) (\S+) /.exec(line);
    assert.ok(start !== null, `pid and user in ${JSON.stringify(line)}`);
    const [, pidText, user] = start as unknown as [string, string, string];
    // A pid of more than 5 digits or a user name of more than 8 characters pushes the rest.
    const shift = Math.max(0, pidText.length - 5) + Math.max(0, Array.from(user).length - 8);
    const characters = Array.from(line);
    assert.equal(characters.length, HEADER.length + shift, `${JSON.stringify(line)} is as long`);
    const percents = headerEnds.map((end) => {
      const field = characters.slice(end + shift - 8, end + shift).join("");
      // Swap is `N/A` on a machine without swap, as smem prints it.
      assert.match(
        field,
        /^ *(\d+\.\d\d%|N\/A)$/,
        `${JSON.stringify(field)} in ${JSON.stringify(line)}`,
      );
      return Number(field.trim().slice(0, -1));
    });
    return { pid: Number(pidText), user, percents };
  });
}

const FORMAT_CASES: {
  name: string;
  rows: SmemRow[];
  meminfo?: Map<string, number>;
  expected: string[];
}[] = [
  {
    name: "sorted by PSS descending, equal PSS by pid",
    rows: [
      row(30, "root", "/sbin/init splash", { uss: 3000, pss: 4000, rss: 9000 }),
      row(7, "alice", "/usr/bin/worker --threads 3", { uss: 18000, pss: 20000, rss: 30000 }),
      row(12, "root", "tie-b", { uss: 1, pss: 4000, rss: 5 }),
    ],
    expected: [
      HEADER,
      "    7 alice    /usr/bin/worker --threads 3    0.00%    1.80%    2.00%    3.00%",
      "   12 root     tie-b                          0.00%    0.00%    0.40%    0.00%",
      "   30 root     /sbin/init splash              0.00%    0.30%    0.40%    0.90%",
    ],
  },
  {
    name: "a command longer than 27 characters is cut; a long user name pushes right",
    rows: [
      row(200, "averyverylongusername", "/usr/lib/firefox/firefox -contentproc -childID 1", {
        swap: 2500,
        uss: 123456,
        pss: 234567,
        rss: 345678,
      }),
    ],
    expected: [
      HEADER,
      "  200 averyverylongusername /usr/lib/firefox/firefox -c    0.25%   12.35%   23.46%   34.57%",
    ],
  },
  {
    name: "characters outside the BMP count as one, as in Python",
    rows: [row(5, "4242", "/opt/\u{1F418}b\u00e4d --greeting=h\u00e9llo w\u00f6rld", {
      uss: 5,
      pss: 5,
      rss: 5,
    })],
    expected: [
      HEADER,
      "    5 4242     /opt/\u{1F418}b\u00e4d --greeting=h\u00e9llo     0.00%    0.00%    0.00%    0.00%",
    ],
  },
  {
    name: "percentages of MemTotal with two decimals, 100% and more in full",
    rows: [row(1, "root", "x", { swap: 1, uss: 3333, pss: 1000000, rss: 2000000 })],
    meminfo: new Map([["MemTotal", 1000000], ["SwapTotal", 1000000]]),
    expected: [
      HEADER,
      "    1 root     x                              0.00%    0.33%  100.00%  200.00%",
    ],
  },
  { name: "no process", rows: [], expected: [HEADER] },
];

for (const { name, rows, meminfo, expected } of FORMAT_CASES) {
  Deno.test(`formatSmem: ${name}`, () => {
    const text = formatSmem(rows, meminfo ?? MEMINFO);
    assert.equal(text, expected.join("\n") + "\n");
    const table = assertTable(text);
    assert.deepEqual(
      table.map((each) => each.pid),
      expected.slice(1).map((line) => Number(line.slice(0, 5))),
    );
  });
}

Deno.test("formatSmem: the header's columns are smem's (% 5s, %-8s, %-27.27s, 4 × % 8s)", () => {
  assert.equal(
    HEADER,
    ["  PID", "User    ", "Command".padEnd(27), "    Swap", "     USS", "     PSS", "     RSS"]
      .join(" "),
  );
  assert.equal(formatSmem([], MEMINFO), HEADER + "\n");
});

const FAILURE_CASES: { name: string; meminfo: Map<string, number>; message: string }[] = [
  {
    name: "no MemTotal",
    meminfo: new Map([["MemFree", 5]]),
    message: 'Cannot parse "/proc/meminfo": it has no "MemTotal" line',
  },
  {
    name: "MemTotal 0",
    meminfo: new Map([["MemTotal", 0]]),
    message: 'Cannot compute smem percentages: MemTotal of "/proc/meminfo" is "0"',
  },
];

for (const { name, meminfo, message } of FAILURE_CASES) {
  Deno.test(`formatSmem: ${name} is a failure`, () => {
    assert.throws(
      () => formatSmem([row(1, "root", "x", { uss: 1, pss: 1, rss: 1 })], meminfo),
      (error: unknown) => error instanceof MethodFailure && error.message === message,
    );
  });
}

Deno.test("readSmemRows: synthetic-smaps — no empty command lines, unreadable skipped", () => {
  const fs = fixtureFs("synthetic-smaps");
  const rows = readSmemRows(fs, new UserNames(fs));
  assert.deepEqual(rows.map((each) => each.pid), [1, 10, 40, 50, 51, 80]);
  assert.deepEqual(
    rows[0],
    row(1, "root", "/usr/sbin/oldd --daemon", {
      swap: 300,
      uss: 1100,
      pss: 1212,
      rss: 1424,
    }),
  );
  assert.equal(rows[1]!.user, "alice");
  assert.equal(rows[2]!.command, "/opt/\u{1F418}b\u00e4d?n\u00e4me?x?n.sh --greeting=h\u00e9llo");
});

Deno.test("readSmemRows: synthetic-processes — unknown uid shown as a number", () => {
  const fs = fixtureFs("synthetic-processes");
  const rows = readSmemRows(fs, new UserNames(fs));
  assert.deepEqual(
    rows.map((each) => [each.pid, each.user, each.command]),
    [
      [1, "root", "/sbin/init splash"],
      [100, "alice", "./odd prog --flag=a b"],
      [300, "4242", "/opt/tool/bin/tool"],
      [600, "alice", "/usr/bin/worker --threads 3"],
      [700, "root", "/usr/bin/armapp"],
    ],
  );
});

Deno.test("smemCollector: an unreadable /proc is a failure naming it", async () => {
  const root = await Deno.makeTempDir({ prefix: "lepd-smem-" });
  try {
    const fs = new ProcFs({ root, maxFileBytes: 1 << 24 });
    await assert.rejects(
      smemCollector(new UserNames(fs)).collect({ fs, methods: [] }),
      (error: unknown) =>
        error instanceof MethodFailure && error.message.startsWith('Cannot list "/proc"'),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

for (const tree of GOLDEN_TREES) {
  Deno.test(`smemCollector: golden output of ${tree}`, async () => {
    const fs = fixtureFs(tree);
    const text = await smemCollector(new UserNames(fs)).collect({ fs, methods: [] });
    assert.equal(text, await Deno.readTextFile(`${treeRoot(tree)}/expected/GetCmdSmem.txt`));
    assertTable(text);
  });
}

Deno.test("smemCollector: live /proc — aligned, sorted by PSS, lepd listed", async () => {
  const fs = new ProcFs({ maxFileBytes: 1 << 24 });
  const text = await smemCollector(new UserNames(fs)).collect({ fs, methods: [] });
  const table = assertTable(text);
  assert.ok(table.some((each) => each.pid === Deno.pid), `pid ${Deno.pid} in\n${text}`);
  for (let index = 1; index < table.length; index++) {
    assert.ok(table[index - 1]!.percents[2]! >= table[index]!.percents[2]!, "sorted by PSS");
  }
  const self = table.find((each) => each.pid === Deno.pid)!;
  assert.equal(self.user, Deno.uid() === 0 ? "root" : self.user);
  assert.ok(self.percents[3]! >= self.percents[2]!, "RSS ≥ PSS");
});
