// The real client's view: LEPV's socket reader and parsers (docs/protocol.md 1.8 and section 4),
// ported in tests/helpers/lepv.ts, against the real daemon on the live system. A failure here
// is a LEPV polling timer that would die.

import assert from "node:assert/strict";
import { startDaemon } from "./helpers/daemon.ts";
import { type Bracket, bracket, readCpuTicks, shareRange } from "./helpers/kernel_counters.ts";
import {
  lepvRequest,
  parseCpuCount,
  parseDf,
  parseIostat,
  parseIotop,
  parseMeminfo,
  parseMpstat,
  parseMpstatSoftirqs,
  parseProcrank,
  parseTop,
  splitToLines,
} from "./helpers/lepv.ts";

const CPUS = Array.from(Deno.readDirSync("/sys/devices/system/cpu"))
  .filter((entry) => /^cpu\d+$/.test(entry.name)).length;

/** The daemon's /proc/stat interval (docs: "Rates are over the latest interval"), in ms. */
const PROC_STAT_INTERVAL_MS = 1000;

/** Idle and all ticks of /proc/stat's cpu line, as a share's part and total. */
function idleTicks(): { part: number; total: number } {
  const { idle, total } = readCpuTicks();
  return { part: idle, total };
}

Deno.test("LEPV reads every method it parses, on one socket per method, twice", async (t) => {
  const daemon = await startDaemon();
  // LEPV keeps one socket per method name and reuses it for every poll.
  const sockets = new Map<string, Deno.Conn>();
  const poll = async (method: string): Promise<string> => {
    let conn = sockets.get(method);
    if (conn === undefined) {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: daemon.port });
      sockets.set(method, conn);
    }
    const response = await lepvRequest(conn, method);
    assert.equal(typeof response.result, "string", `${method}: ${JSON.stringify(response)}`);
    return response.result!;
  };
  // /proc/stat around the requests that may have taken the daemon's latest /proc/stat
  // snapshot (GetCmdMpstat, GetCmdMpstat-I): the next GetCmdMpstat's interval starts in there.
  let procStatUse: Bracket<{ part: number; total: number }> | undefined;
  const pollProcStat = async (method: string) => {
    const { result, counters } = await bracket(idleTicks, () => poll(method));
    procStatUse = { ...counters, before: procStatUse?.before ?? counters.before };
    procStatUse.beforeMs = Math.min(procStatUse.beforeMs, counters.beforeMs);
    return result;
  };
  /**
   * GetCmdMpstat once the latest /proc/stat snapshot is half an interval old, so the request
   * takes a new one: the interval it answers ends within this request's readings.
   */
  const freshMpstat = async () => {
    const age = performance.now() - procStatUse!.afterMs;
    const half = PROC_STAT_INTERVAL_MS / 2 + 50;
    if (age < half) await new Promise((resolve) => setTimeout(resolve, half - age));
    const polled = await bracket(idleTicks, () => poll("GetCmdMpstat"));
    procStatUse = polled.counters;
    return polled;
  };
  try {
    // First intervals of every source the two mpstat methods read, then one snapshot taken
    // within a short request: the rounds' GetCmdMpstat intervals start there.
    await pollProcStat("GetCmdMpstat-I");
    await freshMpstat();
    for (let round = 1; round <= 2; round++) {
      await t.step(`round ${round}`, async (t) => {
        await t.step("SayHello and ListAllMethod", async () => {
          assert.ok((await poll("SayHello")).startsWith("Hello"));
          const methods = (await poll("ListAllMethod")).trim().split(/\s+/);
          assert.equal(methods.length, 36);
          assert.deepEqual(methods.slice(-5), [
            "GetCmdPerfFlame",
            "GetCmdVmstat",
            "GetCmdTopH",
            "GetCmdSmem",
            "GetCmdPerfFlameFolded",
          ]);
        });

        await t.step("GetProcMeminfo, GetProcLoadavg, GetProcCpuinfo, GetCpuInfo", async () => {
          const meminfo = parseMeminfo(await poll("GetProcMeminfo"));
          assert.ok(meminfo.MemTotal! > meminfo.MemFree!);
          const loads = (await poll("GetProcLoadavg")).split("\n")[0]!.split(" ").slice(0, 3);
          assert.ok(loads.every((value) => Number.isFinite(Number.parseFloat(value))));
          const cpuinfo = splitToLines(await poll("GetProcCpuinfo"));
          assert.equal(cpuinfo.filter((line) => /\W*processor\W*:\W*\d+/.test(line)).length, CPUS);
          assert.equal(parseCpuCount(await poll("GetCpuInfo")), CPUS);
        });

        await t.step("GetCmdMpstat: the `all` row and the CPU gauge", async () => {
          // A request takes a new snapshot when the latest is half an interval old: wait until
          // it is, so the interval answered starts in `start` and ends in this request.
          const start = procStatUse!;
          const { result, counters } = await freshMpstat();
          const rows = parseMpstat(result);
          assert.equal(rows.size, CPUS + 1);
          const all = rows.get("all")!;
          // The gauge is 100 - %idle; the original showed 100 % on an idle board. %idle must be
          // what the kernel's idle counter says over an interval that began within `start` and
          // ended within this request, two decimals of rounding aside.
          const range = shareRange(start, counters);
          assert.ok(range !== undefined, "the interval is bounded by the two readings");
          assert.ok(
            all[9]! >= range.low - 0.01 && all[9]! <= range.high + 0.01,
            `%idle ${all[9]} outside the kernel's ${range.low.toFixed(2)}..${
              range.high.toFixed(2)
            } over the same interval`,
          );
          for (const values of rows.values()) {
            const sum = values.reduce((a, b) => a + b, 0) - values[7]! - values[8]!; // guest in usr
            assert.ok(Math.abs(sum - 100) < 0.1 || sum === 0, `row sums to ${sum}`);
          }
        });

        await t.step("GetCmdMpstat-I: the softirq section", async () => {
          const softirqs = parseMpstatSoftirqs(await pollProcStat("GetCmdMpstat-I"));
          assert.deepEqual(
            [...softirqs.keys()],
            Array.from({ length: CPUS }, (_, cpu) => String(cpu)),
          );
          for (const rates of softirqs.values()) {
            for (const rate of Object.values(rates)) assert.ok(rate >= 0);
          }
        });

        await t.step("GetCmdIostat: devices and %util", async () => {
          const disks = parseIostat(await poll("GetCmdIostat"));
          assert.ok(disks.length > 0, "at least one disk with I/O since boot");
          for (const disk of disks) assert.ok(disk.util >= 0 && disk.util <= 100, disk.name);
        });

        await t.step("GetCmdDf: /dev/ rows", async () => {
          const rows = parseDf(await poll("GetCmdDf"));
          assert.ok(rows.length > 0, "the root file system's device");
          for (const row of rows) assert.match(row.size, /^(0|\d+(\.\d)?[KMGTPE]?)$/);
        });

        await t.step("GetCmdTop: 26 rows under the linux header, busiest first", async () => {
          const { header, rows } = parseTop(await poll("GetCmdTop"));
          assert.deepEqual(header.slice(0, 6), ["PID", "USER", "PRI", "NI", "VSZ", "RSS"]);
          assert.equal(rows.length, 26);
          const cpu = rows.map((row) => Number(row["%CPU"]));
          assert.deepEqual(cpu, [...cpu].sort((a, b) => b - a));
        });

        await t.step("GetCmdIotop: every row matched by the client's expressions", async () => {
          const rows = parseIotop(await poll("GetCmdIotop"));
          assert.ok(
            rows.some((row) => row.TID === String(daemon.process.pid)),
            "lepd's own thread",
          );
          for (const row of rows) assert.match(row.PRIO!, /^(be|rt|id)\/\d$/);
        });

        await t.step("GetCmdProcrank: rows, TOTAL and RAM summary", async () => {
          const procrank = parseProcrank(await poll("GetCmdProcrank"));
          assert.ok(procrank.rows.length > 0);
          const pss = procrank.rows.reduce((sum, row) => sum + row.pss, 0);
          const uss = procrank.rows.reduce((sum, row) => sum + row.uss, 0);
          assert.equal(procrank.totalPss, pss);
          assert.equal(procrank.totalUss, uss);
          assert.deepEqual(Object.keys(procrank.ram), [
            "total",
            "free",
            "buffers",
            "cached",
            "shmem",
            "slab",
          ]);
          const sorted = procrank.rows.map((row) => row.pss);
          assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a));
        });
      });
    }
  } finally {
    for (const conn of sockets.values()) conn.close();
    assert.equal(await daemon.stop(), 0);
  }
});
