/**
 * The ways lepd leaves this repository (docs/ARM.md): the `compile` tasks bake in exactly the
 * start task's flags and embed the worker, and the bundle of `deno task bundle` runs natively
 * from a directory holding nothing but its two files, with an empty Deno cache and
 * `--cached-only` (no module may be fetched). The same bundle under AArch64 emulation is
 * `deno task test:aarch64`.
 *
 * @module
 */

import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { bundle, BUNDLE_FILES, importedSpecifiers } from "../scripts/bundle.ts";
import { RUN_FLAGS, startBundledDaemon } from "../scripts/subprocess.ts";
import { Client, freePort, legacyText, startTaskArgs } from "./helpers/daemon.ts";

const tasks: Record<string, string> = denoConfig.tasks;

Deno.test("bundle: the start task's flags are the ones every bundle run uses", () => {
  // --no-lock and the entry module let a Deno of another version reach the version check: the
  // daemon's graph has nothing to lock, and checks/entry.ts imports nothing before checking.
  // --no-code-cache keeps the source run from mapping Deno's code-cache database (about 2 MiB of
  // RSS); a bundle run maps none.
  assert.deepEqual(startTaskArgs(), [
    "run",
    "--no-lock",
    "--no-code-cache",
    ...RUN_FLAGS,
    "checks/entry.ts",
  ]);
});

Deno.test("bundle: the compile tasks bake in the start task's flags and embed the worker", () => {
  const flags = startTaskArgs().slice(1, -1).filter((flag) =>
    flag !== "--no-lock" && flag !== "--no-code-cache"
  );
  for (
    const [name, target] of [["compile", undefined], [
      "compile:aarch64",
      "aarch64-unknown-linux-gnu",
    ]]
  ) {
    const args = tasks[name!]?.split(/\s+/) ?? [];
    assert.deepEqual(args.slice(0, 2), ["deno", "compile"], name);
    assert.equal(args.at(-1), "main.ts", name);
    for (const flag of flags) assert.ok(args.includes(flag), `${name} has ${flag}`);
    assert.ok(args.join(" ").includes("--include rpc/worker.ts"), `${name} embeds the worker`);
    const targetAt = args.indexOf("--target");
    assert.equal(targetAt < 0 ? undefined : args[targetAt + 1], target, name);
    for (const kind of [/^--(allow|deny|unstable)-/, /^--v8-flags/]) {
      assert.deepEqual(
        args.filter((arg) => kind.test(arg)),
        flags.filter((flag) => kind.test(flag)),
        `${name} has no other permission, unstable or V8 flag`,
      );
    }
  }
});

Deno.test("bundle: imports other than Node built-ins are found", () => {
  const code = `import { a } from "node:util";\nimport * as b from "npm:fast-check";\n` +
    `export { c } from "./c.js";\nimport "jsr:@std/x";\nconst d = await import("https://x/y.js");`;
  assert.deepEqual(importedSpecifiers(code).sort(), [
    "./c.js",
    "https://x/y.js",
    "jsr:@std/x",
    "node:util",
    "npm:fast-check",
  ]);
});

Deno.test("bundle: runs from its two files alone, with an empty Deno cache", async () => {
  const directory = await Deno.makeTempDir({ prefix: "lepd-bundle-test-" });
  try {
    const built = await bundle({ outDir: directory });
    const files = Array.from(Deno.readDirSync(directory), (entry) => entry.name).sort();
    assert.deepEqual(files, Object.values(BUNDLE_FILES).sort());
    assert.ok(built.mainBytes > 0 && built.workerBytes > 0);

    const port = freePort();
    const daemon = await startBundledDaemon({
      program: Deno.execPath(),
      prefixArgs: [],
      extraDenoFlags: ["--cached-only"],
      bundle: built.main,
      daemonArgs: ["--hostname", "127.0.0.1", "--port", String(port)],
      cwd: directory,
      env: { DENO_DIR: `${directory}/deno-dir`, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      startTimeoutMs: 30_000,
    });
    let code: number | null;
    try {
      const client = await Client.connect(port);
      try {
        assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
        const names = legacyText(await client.request({ method: "ListAllMethod" }));
        assert.match(names, /^SayHello ListAllMethod GetProcMeminfo /);
        const version = legacyText(await client.request({ method: "GetProcVersion" }));
        assert.equal(version, await Deno.readTextFile("/proc/version"));
      } finally {
        client.close();
      }
    } finally {
      code = await daemon.stop(10_000);
    }
    assert.equal(code, 0, `exit status; the log:\n${daemon.log()}`);
    assert.match(daemon.log(), /lepd \d+\.\d+\.\d+ listening on 127\.0\.0\.1:/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
