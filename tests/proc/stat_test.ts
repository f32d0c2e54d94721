/**
 * Tests of proc/stat.ts: what is and is not /proc/stat, old kernels' shorter `cpu` lines, and
 * the captured files of an x86 VM and ARM boards.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCpuTimes, parseProcStat } from "../../proc/stat.ts";
import { capturedFiles, capturedText, testNotTheFile } from "./fixture.ts";

testNotTheFile("parseProcStat", parseProcStat, {
  path: "/proc/stat",
  problem: 'it has no "cpu" line',
  cases: {
    empty: "",
    garbage: "\u0000\u0001\u0002 what\n",
    "the counters without the cpu lines": "intr 5 0\nctxt 7\nsoftirq 2 0\n",
    "another file (/proc/meminfo)": "MemTotal: 1000 kB\n",
    "only cpuN lines, truncated at the top": "cpu0 1 2 3 4\ncpu1 1 2 3 4\n",
  },
});

Deno.test("parseProcStat: a text cut after the cpu line reads the missing counters as 0", () => {
  const stat = parseProcStat("cpu  10 1 5 100 2 0 0 0 0 0\ncpu0 10 1 5 100 2 0 0 0 0 0\nintr 99");
  assert.equal(stat.cpus.size, 2);
  assert.deepEqual(
    [stat.interrupts, stat.contextSwitches, stat.bootTime, stat.forks, stat.softirqs],
    [99, 0, 0, 0, 0],
  );
});

Deno.test("parseCpuTimes: the four columns of Linux 2.4 and the eight of 2.6.11 read the rest as 0", () => {
  const cpus = parseCpuTimes("cpu  1 2 3 4\ncpu0 1 2 3 4 5 6 7 8\n");
  assert.deepEqual(cpus.get("cpu"), {
    user: 1,
    nice: 2,
    system: 3,
    idle: 4,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
    guest: 0,
    guestNice: 0,
  });
  assert.equal(cpus.get("cpu0")!.steal, 8);
  assert.equal(cpus.get("cpu0")!.guest, 0);
});

Deno.test("parseProcStat: the x86_64 VM", () => {
  const stat = parseProcStat(capturedText("x86_64-vm", "proc/stat"));
  assert.deepEqual([...stat.cpus.keys()], ["cpu", "cpu0", "cpu1"]);
  assert.deepEqual(stat.cpus.get("cpu"), {
    user: 1558,
    nice: 0,
    system: 969,
    idle: 93300,
    iowait: 136,
    irq: 0,
    softirq: 25,
    steal: 6,
    guest: 0,
    guestNice: 0,
  });
  assert.deepEqual(
    {
      interrupts: stat.interrupts,
      softirqs: stat.softirqs,
      contextSwitches: stat.contextSwitches,
      forks: stat.forks,
      procsRunning: stat.procsRunning,
      procsBlocked: stat.procsBlocked,
      bootTime: stat.bootTime,
    },
    {
      interrupts: 105274,
      softirqs: 51542,
      contextSwitches: 242449,
      forks: 3268,
      procsRunning: 2,
      procsBlocked: 0,
      bootTime: 1795802817,
    },
  );
});

Deno.test("parseProcStat: ARM boards, one with an offline CPU (no cpuN line for it)", () => {
  const keystone = parseProcStat(capturedText("armv7-keystone2-gic", "proc/stat"));
  assert.equal(keystone.cpus.size, 5);
  assert.equal(keystone.contextSwitches, 402113);
  assert.equal(keystone.bootTime, 1591369100);
  const offline = parseProcStat(capturedText("aarch64-offline-cpu", "proc/stat"));
  assert.equal(offline.cpus.size, 4);
  assert.equal(offline.cpus.get("cpu")!.guest, 1204411);
  assert.equal(offline.contextSwitches, 98812264117);
});

Deno.test("parseProcStat: every captured /proc/stat has a cpu line and a boot time", () => {
  const files = capturedFiles("proc/stat");
  assert.ok(files.length >= 3);
  for (const { tree, text } of files) {
    const stat = parseProcStat(text);
    assert.ok(stat.cpus.has("cpu"), tree);
    assert.ok(stat.bootTime > 0, tree);
  }
});
