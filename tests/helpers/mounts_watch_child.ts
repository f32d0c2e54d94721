/**
 * Run by tests/mounts_watch_test.ts inside a mount namespace of its own (`unshare --mount
 * --propagation private`, as root), so its mounts touch nothing else: watches the mount table,
 * mounts a tmpfs at the directory given, unmounts it, and prints what the watch and a reader
 * with it saw at each step, as one JSON line.
 *
 * @module
 */

import { ProcFs } from "../../proc/fs.ts";
import { MOUNTS_PATH } from "../../proc/mounts.ts";
import { watchMounts } from "../../proc/mounts_watch.ts";

const directory = Deno.args[0]!;

function run(args: string[]): void {
  const { success, stderr } = new Deno.Command(args[0]!, { args: args.slice(1), stderr: "piped" })
    .outputSync();
  if (!success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

const probe = watchMounts();
if (probe === undefined) throw new Error("watchMounts() returned undefined on the live system");
const steps: Record<string, boolean> = {};
steps.quietAtFirst = probe.changed();
run(["mount", "-t", "tmpfs", "-o", "size=64k", "lepd-watch-test", directory]);
steps.changedAfterMount = probe.changed();
steps.quietAfterward = probe.changed();

// A reader with its own watch, as the daemon has.
const watch = watchMounts()!;
const fs = new ProcFs({ maxFileBytes: 1 << 24, watches: () => [watch] });
const shown = () => fs.readTextSync(MOUNTS_PATH).includes(`lepd-watch-test ${directory} tmpfs`);
steps.readerSeesMount = shown();
steps.readerStillSeesMount = shown();
run(["umount", directory]);
steps.changedAfterUnmount = probe.changed();
steps.readerSeesUnmount = !shown();
fs.close();
probe.close();
steps.changedAfterClose = probe.changed();
console.log(JSON.stringify(steps));
