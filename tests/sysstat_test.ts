/**
 * The sysstat banner's facts: what cannot change while the kernel runs is read once per tree,
 * the host name at most once a second, and the CPU list again when a reading names a CPU it
 * lacks.
 */

import assert from "node:assert/strict";
import { cpuNumbers, HOSTNAME_MAX_AGE_MS, readSystemIdentity } from "../methods/sysstat.ts";
import { ProcFs } from "../proc/fs.ts";

Deno.test("readSystemIdentity and cpuNumbers: kernel facts once, host name each second, CPUs when one is new", () => {
  const root = Deno.makeTempDirSync({ prefix: "lepd-sysstat-" });
  try {
    const kernel = `${root}/proc/sys/kernel`;
    Deno.mkdirSync(kernel, { recursive: true });
    for (const cpu of [0, 1]) {
      Deno.mkdirSync(`${root}/sys/devices/system/cpu/cpu${cpu}`, { recursive: true });
    }
    Deno.mkdirSync(`${root}/sys/devices/system/cpu/cpufreq`);
    const write = (name: string, value: string) =>
      Deno.writeTextFileSync(`${kernel}/${name}`, value);
    write("ostype", "Linux\n");
    write("osrelease", "6.1.0-test\n");
    write("hostname", "board-a\n");
    write("arch", "aarch64\n");
    const fs = new ProcFs({ root, maxFileBytes: 1 << 16 });

    assert.deepEqual(readSystemIdentity(fs, 10_000), {
      sysname: "Linux",
      release: "6.1.0-test",
      nodename: "board-a",
      machine: "aarch64",
      cpuCount: 2,
    });
    write("hostname", "board-b\n");
    write("osrelease", "6.2.0-other\n"); // cannot happen without a reboot: not read again
    Deno.mkdirSync(`${root}/sys/devices/system/cpu/cpu2`);
    assert.equal(
      readSystemIdentity(fs, 10_000 + HOSTNAME_MAX_AGE_MS - 1).nodename,
      "board-a",
      "one reading serves the methods of one poll",
    );
    const again = readSystemIdentity(fs, 10_000 + HOSTNAME_MAX_AGE_MS);
    assert.equal(again.nodename, "board-b", "the host name can change and is read again");
    write("hostname", "board-c\n");
    assert.equal(readSystemIdentity(fs, 5_000).nodename, "board-c", "a clock that went back");
    assert.equal(again.release, "6.1.0-test");
    assert.deepEqual(cpuNumbers(fs), [0, 1], "the list is kept while no reading names a new CPU");
    assert.deepEqual(cpuNumbers(fs, [0, 1]), [0, 1]);
    assert.deepEqual(cpuNumbers(fs, [0, 2]), [0, 1, 2], "CPU 2 came online: listed again");
    assert.equal(readSystemIdentity(fs).cpuCount, 3);

    // Another tree has its own facts.
    const other = new ProcFs({ root: `${root}/nonexistent`, maxFileBytes: 1 << 16 });
    assert.equal(readSystemIdentity(other).release, "unknown");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
