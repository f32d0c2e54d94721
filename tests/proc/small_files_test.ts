/**
 * Tests of the parsers of the one-line and small files: proc/loadavg.ts, proc/uptime.ts and
 * proc/passwd.ts, on empty, truncated and garbage text and on the captured trees.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseLoadavg } from "../../proc/loadavg.ts";
import { parsePasswd } from "../../proc/passwd.ts";
import { parseUptimeSeconds } from "../../proc/uptime.ts";
import { capturedFiles, capturedText, testNotTheFile } from "./fixture.ts";

testNotTheFile("parseLoadavg", parseLoadavg, {
  path: "/proc/loadavg",
  problem: "it does not start with three load averages",
  cases: {
    empty: "",
    "a blank line": "\n",
    garbage: "garbage",
    "cut after two averages": "0.13 0.09",
    "a third that is not a number": "0.13 0.09 x 2/106 3256",
    "a negative load": "-1 0 0 1/1 1",
  },
});

Deno.test("parseLoadavg: the captured files, and a text cut after the third average", () => {
  assert.deepEqual(parseLoadavg(capturedText("x86_64-vm", "proc/loadavg")), [0.13, 0.09, 0.03]);
  assert.deepEqual(parseLoadavg(capturedText("synthetic-processes", "proc/loadavg")), [
    0.5,
    0.4,
    0.3,
  ]);
  assert.deepEqual(parseLoadavg("12.00 7 0.5"), [12, 7, 0.5]);
});

testNotTheFile("parseUptimeSeconds", parseUptimeSeconds, {
  path: "/proc/uptime",
  problem: "it does not start with the seconds since boot",
  cases: {
    empty: "",
    garbage: "garbage",
    "a leading blank": " 12.5 3",
    "a negative number": "-5 1",
  },
});

Deno.test("parseUptimeSeconds: the captured files and a text cut after the first field", () => {
  assert.equal(parseUptimeSeconds(capturedText("x86_64-vm", "proc/uptime")), 1268.44);
  assert.equal(parseUptimeSeconds(capturedText("synthetic-processes", "proc/uptime")), 12345.67);
  assert.equal(parseUptimeSeconds("17"), 17);
});

Deno.test("parsePasswd: empty, garbage and truncated text give the names they have", () => {
  assert.deepEqual([...parsePasswd("")], []);
  assert.deepEqual([...parsePasswd("\u0000garbage\n:x:5:5\nbob:x:notanumber:1\n")], []);
  assert.deepEqual([...parsePasswd("root:x:0:0:root:/root:/bin/bash\nsync:x:4")], [
    [0, "root"],
    [4, "sync"],
  ]);
  assert.deepEqual([...parsePasswd("root:x:0:0::/:\ntoor:x:0:0::/:\n")], [[0, "root"]]);
});

Deno.test("parsePasswd: the captured files", () => {
  const files = capturedFiles("etc/passwd");
  assert.ok(files.length >= 2);
  for (const { tree, text } of files) {
    const names = parsePasswd(text);
    assert.equal(names.get(0), "root", tree);
  }
  assert.equal(parsePasswd(capturedText("x86_64-vm", "etc/passwd")).size, 24);
});
