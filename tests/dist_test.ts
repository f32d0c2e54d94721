/**
 * The release path (docs/install.md): the Deno version check of the start path, `lepd --check`
 * and `--require`, and the x86_64 artifact of `deno task dist` from download to a running
 * daemon — unpacked alone into an empty directory, installed by its install.sh into a temporary
 * root (`--destdir`: no user, no systemctl, nothing outside the root), started as the installed
 * unit's ExecStart= runs it, queried over TCP, checked by systemd-analyze where it is installed,
 * upgraded over edited configuration and uninstalled.
 *
 * The AArch64 artifact is installed and run the same way under qemu-user by
 * `deno task test:aarch64`, which also builds both artifacts twice to show they are
 * reproducible.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DENO_VERSION, denoVersionProblem } from "../checks/deno_version.ts";
import { formatCheck, splitCheckFlags } from "../checks/methods.ts";
import { BUNDLE_FILES } from "../scripts/bundle.ts";
import { artifactName, dist, launcher, unpack, VERSION } from "../scripts/dist.ts";
import { RUN_FLAGS, runToEnd, startBundledDaemon } from "../scripts/subprocess.ts";
import { Client, freePort, legacyText, startDaemon } from "./helpers/daemon.ts";
import { onPath } from "./helpers/skip.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURE_ROOT = `${REPO_ROOT}/tests/fixtures/x86_64-vm`;

Deno.test("dist: the Deno version check names the version lepd needs, in one line", () => {
  assert.equal(denoVersionProblem(DENO_VERSION), undefined);
  assert.equal(denoVersionProblem("2.9.7"), undefined, "a later patch release");
  assert.equal(denoVersionProblem("2.9.6", "2.9.6"), undefined);
  for (const version of ["2.4.0", "2.0.0", "2.9.5", "2.10.0", "3.0.0", "1.46.3", "", "nightly"]) {
    const problem = denoVersionProblem(version, "2.9.6");
    assert.ok(problem !== undefined, version);
    assert.ok(!problem.includes("\n"), "one line");
    assert.match(problem, /^lepd needs Deno 2\.9\.6 /);
    assert.ok(problem.includes(`not ${version}:`), problem);
  }
});

Deno.test("dist: the bundle's entry point type-checks (nothing imports it, so deno task check does not see it)", async () => {
  const checked = await runToEnd(Deno.execPath(), {
    args: ["check", "--quiet", `${REPO_ROOT}/checks/entry.ts`],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
  assert.equal(checked.code, 0, checked.stderr + checked.stdout);
});

Deno.test("dist: --check and --require are taken out of the command line", () => {
  assert.deepEqual(splitCheckFlags(["--port", "1"]), {
    check: false,
    require: [],
    rest: ["--port", "1"],
  });
  assert.deepEqual(
    splitCheckFlags(["--check", "--root", "/x", "--require", "A,B", "--require=C"]),
    { check: true, require: ["A", "B", "C"], rest: ["--root", "/x"] },
  );
  assert.deepEqual(splitCheckFlags(["--require", "A"]).check, true, "--require implies --check");
  assert.throws(() => splitCheckFlags(["--check", "--require"]), /argument missing/);
  const report = formatCheck(
    ["SayHello", "GetProcModules"],
    new Map([["GetProcModules", "gone"]]),
    [
      "GetProcModules",
    ],
  );
  assert.equal(
    report,
    "SayHello        available\nGetProcModules  unavailable: gone\n" +
      "2 methods: 1 available, 1 unavailable; required but unavailable: GetProcModules\n",
  );
});

/** `lepd <args>` from the sources; status and output. */
async function lepd(args: string[]) {
  return await runToEnd(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${REPO_ROOT}/main.ts`, ...args],
    cwd: REPO_ROOT,
    timeoutMs: 60_000,
  });
}

/** The unavailable methods and reasons of a `--check` report. */
function unavailableIn(report: string): Map<string, string> {
  return new Map(
    Array.from(report.matchAll(/^(\S+)\s+unavailable: (.*)$/gm), (match) => [match[1]!, match[2]!]),
  );
}

/** The unavailable methods and reasons of the daemon's start-up warnings. */
function warnedIn(log: string): Map<string, string> {
  return new Map(
    Array.from(
      log.matchAll(/ WARN main: (\S+) is unavailable here and will answer with an error: (.*)$/gm),
      (match) => [match[1]!, match[2]!],
    ),
  );
}

Deno.test("dist: --check lists each method with the start-up warnings' reasons; --require sets the status", async () => {
  const checked = await lepd(["--check", "--root", FIXTURE_ROOT]);
  assert.equal(checked.code, 0, checked.stderr);
  const lines = checked.stdout.trimEnd().split("\n");
  const summary = lines.pop()!;
  for (const line of lines) assert.match(line, /^\S+\s+(available|unavailable: \S.*)$/);
  assert.match(lines[0]!, /^SayHello\s+available$/);
  const unavailable = unavailableIn(checked.stdout);
  // perf samples the live machine: off under --root, whatever this machine has.
  assert.match(unavailable.get("GetCmdPerfFlame") ?? "", /--root/);
  assert.match(
    summary,
    new RegExp(
      `^${lines.length} methods: ${
        lines.length - unavailable.size
      } available, ${unavailable.size} unavailable$`,
    ),
  );

  // The same reasons as the daemon's start-up warnings, on the same tree.
  const daemon = await startDaemon(["--root", FIXTURE_ROOT]);
  try {
    assert.deepEqual(warnedIn(daemon.stderr()), unavailable);
  } finally {
    await daemon.stop();
  }

  const required = await lepd(["--root", FIXTURE_ROOT, "--require", "SayHello,GetCmdPerfFlame"]);
  assert.equal(required.code, 1, required.stderr);
  assert.match(required.stdout, /; required but unavailable: GetCmdPerfFlame\n$/);
  const fine = await lepd([
    "--check",
    "--root",
    FIXTURE_ROOT,
    "--require",
    "SayHello",
    "--require=GetProcMeminfo",
  ]);
  assert.equal(fine.code, 0, fine.stderr);
  assert.match(fine.stdout, /; required SayHello, GetProcMeminfo: available\n$/);
  const unknown = await lepd(["--check", "--require", "sayhello"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no method named "sayhello"/);
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Every path under `directory`, relative, sorted. */
async function tree(directory: string, prefix = ""): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(`${directory}${prefix}`)) {
    const path = `${prefix}/${entry.name}`;
    paths.push(path);
    if (entry.isDirectory) paths.push(...await tree(directory, path));
  }
  return paths.sort();
}

/** systemd-analyze's verdicts on the unit installed under `root`; undefined when it is absent. */
async function analyze(root: string): Promise<{ verify: string; exposure: number } | undefined> {
  if (!onPath("systemd-analyze")) {
    console.log("skipped: systemd-analyze verify/security: systemd-analyze is not installed");
    return undefined;
  }
  // verify loads the units lepd.service refers to (multi-user.target, …) from the root.
  const units = "/usr/lib/systemd/system";
  if (!(await exists(`${units}/multi-user.target`))) {
    console.log(`skipped: systemd-analyze verify/security: no ${units}/multi-user.target to copy`);
    return undefined;
  }
  await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
  const copied = await runToEnd("cp", {
    args: ["-a", units, `${root}/usr/lib/systemd/`],
    timeoutMs: 60_000,
  });
  assert.equal(copied.code, 0, copied.stderr);
  const verify = await runToEnd("systemd-analyze", {
    args: ["verify", `--root=${root}`, "lepd.service"],
    timeoutMs: 60_000,
  });
  assert.equal(verify.code, 0, `systemd-analyze verify: ${verify.stderr}${verify.stdout}`);
  const security = await runToEnd("systemd-analyze", {
    args: ["security", "--offline=yes", `--root=${root}`, "--no-pager", "lepd.service"],
    timeoutMs: 60_000,
  });
  const exposure = /Overall exposure level for lepd\.service: (\d+\.\d+)/.exec(security.stdout);
  assert.ok(exposure !== null, `systemd-analyze security: ${security.stderr}${security.stdout}`);
  return { verify: verify.stdout + verify.stderr, exposure: Number(exposure[1]) };
}

Deno.test("dist: the x86_64 artifact installs into an empty root and runs as the unit runs it", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "lepd-dist-test-" });
  try {
    const [artifact] = await dist({ targets: ["x86_64"], outDir: `${work}/out` });
    assert.equal(artifact!.path, `${work}/out/${artifactName("x86_64")}.tar.gz`);
    assert.match(artifactName("x86_64"), new RegExp(`^lepd-${VERSION}-x86_64-linux-gnu$`));

    // Downloaded and unpacked alone.
    await Deno.mkdir(`${work}/download`);
    const unpacked = await unpack(artifact!.path, `${work}/download`);
    assert.deepEqual(
      (await tree(unpacked)).map((path) => path.slice(1)),
      [
        "INSTALL.md",
        "LICENSE",
        "README.md",
        "SHA256SUMS",
        "VERSION",
        ...Object.values(BUNDLE_FILES),
        "deno",
        "install.sh",
        "lepd",
        "lepd.service",
      ].sort(),
    );
    assert.equal(
      await Deno.readTextFile(`${unpacked}/VERSION`),
      `lepd ${VERSION} x86_64-unknown-linux-gnu deno-${DENO_VERSION}\n`,
    );
    assert.equal(await Deno.readTextFile(`${unpacked}/lepd`), launcher());
    const version = await runToEnd(`${unpacked}/deno`, { args: ["--version"], timeoutMs: 60_000 });
    assert.match(version.stdout, new RegExp(`^deno ${DENO_VERSION.replaceAll(".", "\\.")} `));

    const root = `${work}/root`;
    const install = (...args: string[]) =>
      runToEnd(`${unpacked}/install.sh`, {
        args: ["--destdir", root, ...args],
        timeoutMs: 120_000,
      });

    await t.step("install.sh --destdir puts everything under the root", async () => {
      const installed = await install();
      assert.equal(installed.code, 0, installed.stderr + installed.stdout);
      assert.match(installed.stdout, /staged install into .*: no user, no chown, no systemctl/);
      const paths = await tree(root);
      for (
        const path of [
          "/opt/lepd/deno",
          "/opt/lepd/lepd",
          "/opt/lepd/lepd.js",
          "/opt/lepd/install.sh",
          "/opt/lepd/.install-manifest",
          "/etc/systemd/system/lepd.service",
          "/etc/default/lepd",
          "/usr/local/bin/lepd",
        ]
      ) {
        assert.ok(paths.includes(path), `${path} in ${paths.join(" ")}`);
      }
      assert.equal(await Deno.readLink(`${root}/usr/local/bin/lepd`), "/opt/lepd/lepd");
      assert.equal(
        await Deno.readTextFile(`${root}/etc/systemd/system/lepd.service`),
        await Deno.readTextFile(`${REPO_ROOT}/deploy/lepd.service`),
      );
      assert.equal(((await Deno.stat(`${root}/opt/lepd/deno`)).mode ?? 0) & 0o777, 0o755);
      assert.equal(((await Deno.stat(`${root}/opt/lepd/lepd.js`)).mode ?? 0) & 0o777, 0o644);
    });

    await t.step("the installed lepd runs as ExecStart= runs it and answers over TCP", async () => {
      const unit = await Deno.readTextFile(`${root}/etc/systemd/system/lepd.service`);
      const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
      const bundleAt = execStart.indexOf("/opt/lepd/lepd.js");
      assert.deepEqual(execStart.slice(0, 2), ["/opt/lepd/deno", "run"]);
      assert.deepEqual(execStart.slice(2, bundleAt), [...RUN_FLAGS], "the start task's flags");
      assert.deepEqual(execStart.slice(bundleAt + 1), ["--port", "12307", "$LEPD_OPTIONS"]);

      const port = freePort();
      const daemon = await startBundledDaemon({
        program: `${root}/opt/lepd/deno`,
        prefixArgs: [],
        extraDenoFlags: ["--cached-only"],
        bundle: `${root}/opt/lepd/lepd.js`,
        daemonArgs: ["--port", String(port), "--hostname", "127.0.0.1"],
        cwd: `${root}/opt/lepd`,
        env: { DENO_DIR: `${work}/cache`, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        startTimeoutMs: 60_000,
      });
      let code: number | null;
      try {
        const client = await Client.connect(port);
        try {
          assert.equal(legacyText(await client.request({ method: "SayHello" })), "Hello!");
          assert.match(legacyText(await client.request({ method: "ListAllMethod" })), /^SayHello /);
        } finally {
          client.close();
        }
      } finally {
        code = await daemon.stop(10_000);
      }
      assert.equal(code, 0, daemon.log());
      assert.match(daemon.log(), new RegExp(`lepd ${VERSION.replaceAll(".", "\\.")} listening on`));

      // The installed command's --check gives the reasons the daemon warned about.
      const checked = await runToEnd(`${root}/opt/lepd/lepd`, {
        args: ["--check"],
        env: { DENO_DIR: `${work}/cache` },
        timeoutMs: 60_000,
      });
      assert.equal(checked.code, 0, checked.stderr);
      assert.deepEqual(unavailableIn(checked.stdout), warnedIn(daemon.log()));
    });

    await t.step("systemd-analyze: the installed unit verifies, exposure at most 3.1", async () => {
      const verdict = await analyze(root);
      if (verdict === undefined) return;
      assert.equal(verdict.verify.trim(), "", "verify reports nothing");
      assert.ok(verdict.exposure <= 3.1, `exposure ${verdict.exposure}`);
    });

    await t.step("an upgrade keeps edited configuration and says so", async () => {
      const config = `${root}/etc/default/lepd`;
      const unitPath = `${root}/etc/systemd/system/lepd.service`;
      await Deno.writeTextFile(config, 'LEPD_OPTIONS="--hostname 127.0.0.1"\n', { append: true });
      await Deno.writeTextFile(unitPath, "# edited by hand\n", { append: true });
      const [editedConfig, editedUnit] = [
        await Deno.readTextFile(config),
        await Deno.readTextFile(unitPath),
      ];
      const again = await install();
      assert.equal(again.code, 0, again.stderr + again.stdout);
      assert.match(again.stdout, /kept \/etc\/default\/lepd/);
      assert.match(again.stdout, /kept \/etc\/systemd\/system\/lepd\.service: it differs/);
      assert.equal(await Deno.readTextFile(config), editedConfig);
      assert.equal(await Deno.readTextFile(unitPath), editedUnit);
    });

    await t.step("--uninstall removes what it added and keeps what was edited", async () => {
      const before = new Set(await tree(root));
      const removed = await runToEnd(`${root}/opt/lepd/install.sh`, {
        args: ["--uninstall", "--destdir", root],
        timeoutMs: 60_000,
      });
      assert.equal(removed.code, 0, removed.stderr + removed.stdout);
      assert.match(removed.stdout, /kept \/etc\/default\/lepd: it was changed after the install/);
      const left = (await tree(root)).filter((path) => !path.startsWith("/usr/lib/systemd"));
      assert.ok(before.has("/opt/lepd/deno"));
      assert.deepEqual(
        left.filter((path) => !before.has(path)),
        [],
        "nothing new",
      );
      assert.deepEqual(
        left.filter((path) =>
          !([
            "/etc",
            "/etc/default",
            "/etc/systemd",
            "/etc/systemd/system",
            "/opt",
            "/usr",
            "/usr/lib",
            "/usr/local",
            "/usr/local/bin",
          ].includes(path))
        ),
        ["/etc/default/lepd", "/etc/systemd/system/lepd.service"],
      );
      // Unedited, everything goes.
      await Deno.remove(`${root}/etc/default/lepd`);
      await Deno.remove(`${root}/etc/systemd/system/lepd.service`);
      assert.equal((await install()).code, 0);
      const clean = await runToEnd(`${root}/opt/lepd/install.sh`, {
        args: ["--uninstall", "--destdir", root],
        timeoutMs: 60_000,
      });
      assert.equal(clean.code, 0, clean.stderr + clean.stdout);
      for (
        const path of [
          "/opt/lepd",
          "/etc/default/lepd",
          "/etc/systemd/system/lepd.service",
          "/usr/local/bin/lepd",
        ]
      ) {
        assert.ok(!(await exists(`${root}${path}`)), `${path} removed`);
      }
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
