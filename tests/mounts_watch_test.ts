/**
 * The mount table's change events (proc/mounts_watch.ts): how a poll's answer is read, and, as
 * root in a mount namespace of the test's own, that a mount and an unmount are reported and read.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { mountsChanges, type PollCalls, POLLERR, POLLNVAL, POLLPRI } from "../proc/mounts_watch.ts";
import { IS_ROOT, onPath, skipUnless } from "./helpers/skip.ts";

/** Poll calls that answer from a list, recording what they were asked. */
function scriptedPolls(answers: number[]) {
  const asked: { fd: number; events: number }[] = [];
  const closed: number[] = [];
  const calls: PollCalls = {
    pollOnce(fd, events) {
      asked.push({ fd, events });
      return answers.shift() ?? 0;
    },
    close(fd) {
      closed.push(fd);
    },
  };
  return { calls, asked, closed };
}

Deno.test("mountsChanges: which answers of poll count as a change", () => {
  const cases: [string, number, boolean][] = [
    ["nothing happened (readable, as a seq file always is)", 0x001, false],
    ["no event at all", 0, false],
    ["the namespace's event count moved", POLLPRI | POLLERR | 0x001, true],
    ["POLLPRI alone", POLLPRI, true],
    ["POLLERR alone", POLLERR, true],
    ["an invalid descriptor", POLLNVAL, true],
    ["the poll failed", -1, true],
  ];
  for (const [name, revents, changed] of cases) {
    const { calls, asked } = scriptedPolls([revents]);
    assert.equal(mountsChanges(7, calls).changed(), changed, name);
    assert.deepEqual(asked, [{ fd: 7, events: POLLPRI }], name);
  }
});

Deno.test("mountsChanges: closed, it closes its descriptor once and reports a change always", () => {
  const { calls, asked, closed } = scriptedPolls([0, 0]);
  const changes = mountsChanges(9, calls);
  assert.equal(changes.changed(), false);
  changes.close();
  changes.close();
  assert.deepEqual(closed, [9]);
  assert.equal(changes.changed(), true);
  assert.equal(asked.length, 1);
});

const HAS_TOOLS = onPath("unshare") && onPath("mount") && onPath("umount");

Deno.test({
  name: "watchMounts reports a mount and an unmount, and a reader with it shows them",
  ignore: skipUnless(
    IS_ROOT && HAS_TOOLS,
    IS_ROOT ? "needs unshare, mount and umount" : "needs root to mount in a namespace of its own",
    "mounts_watch_test",
  ),
  fn: async () => {
    const directory = await Deno.makeTempDir();
    try {
      const child = fileURLToPath(new URL("./helpers/mounts_watch_child.ts", import.meta.url));
      const { success, stdout, stderr } = await new Deno.Command("unshare", {
        args: [
          "--mount",
          "--propagation",
          "private",
          Deno.execPath(),
          "run",
          "-A",
          child,
          directory,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      assert.ok(success, decoder.decode(stderr));
      assert.deepEqual(JSON.parse(decoder.decode(stdout)), {
        quietAtFirst: false,
        changedAfterMount: true,
        quietAfterward: false,
        readerSeesMount: true,
        readerStillSeesMount: true,
        changedAfterUnmount: true,
        readerSeesUnmount: true,
        changedAfterClose: true,
      });
    } finally {
      await Deno.remove(directory);
    }
  },
});
