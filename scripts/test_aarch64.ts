/**
 * `deno task test:aarch64`: the release artifacts and the AArch64 smoke test. It builds both
 * artifacts of `deno task dist` twice and checks that they are the same bytes (reproducible),
 * unpacks the AArch64 one alone into an empty directory, installs it with its install.sh into a
 * temporary root (`--destdir`), and runs the installed bundle with the installed AArch64 Deno
 * (pinned, from npm) under qemu-user emulating a Cortex-A53, as the installed unit's ExecStart=
 * runs it — with an empty DENO_DIR and `--cached-only`, so nothing but the installed files can
 * be loaded. Then, over TCP on a free loopback port, it calls every method the daemon lists
 * except the perf ones (perf is a host program that samples the host, not something the
 * emulated CPU runs) and checks each answer, and `lepd --check` under emulation must give the
 * reasons of the daemon's start-up warnings.
 *
 * Under qemu-user the guest sees the host's kernel: /proc, /sys and /dev/kmsg are this
 * machine's. A method may answer with an error (legacy layout, marker in `data`) only when the
 * same bundle run natively answers with an error too — its source is missing on this machine,
 * whatever the CPU (e.g. /proc/modules on a kernel without loadable modules). SayHello,
 * ListAllMethod, GetProcMeminfo and GetProcCpuinfo must always succeed.
 *
 * Every wait is bounded; the daemons are stopped (and killed if need be) on every path, also on
 * SIGINT/SIGTERM and when the overall deadline passes. Ends with a PASS/FAIL summary; the exit
 * status is 1 on failure.
 *
 * @module
 */

import { Client, legacyText } from "../tests/helpers/daemon.ts";
import { MARKER } from "../rpc/protocol.ts";
import {
  AARCH64_PACKAGE,
  aarch64Deno,
  DENO_VERSION,
  EMULATED_CPU,
  type Emulator,
  emulator,
} from "./aarch64_deno.ts";
import { BUNDLE_FILES, REPO_ROOT } from "./bundle.ts";
import { type Artifact, dist, unpack } from "./dist.ts";
import { type BundledDaemon, RUN_FLAGS, runToEnd, startBundledDaemon } from "./subprocess.ts";

/** The whole run, fetch and bundle included, ends by then. */
const DEADLINE_MS = 20 * 60_000;
/** Start-up under emulation takes a few seconds; allow for a slow, busy CI machine. */
const START_TIMEOUT_MS = 180_000;
/** One answer; the sampled methods need about a second natively. */
const RESPONSE_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

/** Methods that must succeed under emulation whatever the machine. */
const REQUIRED = ["SayHello", "ListAllMethod", "GetProcMeminfo", "GetProcCpuinfo"];

/**
 * What each method's text must look like (its layout in docs/protocol.md); a method missing here only
 * needs a non-empty text.
 */
const LAYOUTS: Record<string, RegExp> = {
  SayHello: /^Hello!$/,
  GetProcMeminfo: /^MemTotal:\s+\d+ kB$/m,
  GetProcLoadavg: /^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n$/,
  GetProcVmstat: /^nr_free_pages \d+$/m,
  GetProcZoneinfo: /^Node \d+, zone /m,
  GetProcBuddyinfo: /^Node \d+, zone /m,
  GetProcCpuinfo: /^processor\s*: 0$/m,
  GetProcSlabinfo: /^slabinfo - version: /,
  GetProcSwaps: /^Filename\s+Type\s+Size/,
  GetProcInterrupts: /^\s+CPU0 /,
  GetProcSoftirqs: /^\s+CPU0 .*\n\s+HI:/,
  GetProcDiskstats: /^\s*\d+\s+\d+ \S+ \d+ /m,
  GetProcVersion: /^Linux version /,
  GetProcStat: /^cpu {2}\d+ .*\ncpu0 \d+ /,
  GetProcModules: /^\S+ \d+ \d+ /m,
  GetProcVmallocinfo: /^0x[0-9a-f]+-0x[0-9a-f]+\s+\d+ /m,
  GetCmdIotop: /^Total DISK READ:/,
  GetCmdFree: /^Mem:\s+\d+\s+\d+/m,
  GetCmdProcrank: /^\s*PID\s+Vss\s+Rss\s+Pss\s+Uss\s+cmdline$/m,
  GetCmdIostat: /^Device:/m,
  GetCmdTop: /^\s*PID USER /,
  GetCmdDmesg: /^<\d+>\[\s*\d+\.\d{6}\] /m,
  GetCmdDf: /^Filesystem\s+Size\s+Used/,
  GetCpuInfo: /^cpunr: [1-9]\d*\ncpu_name: /,
  GetCmdMpstat: /\bCPU\s+%usr\s/,
  "GetCmdMpstat-I": /\bCPU\s+intr\/s$/m,
  GetCmdIrqInfo: /^irq:\d+\/s softirq:\d+\/s/,
  GetCmdCgtop: /-task-/,
  GetCmdVmstat: /^procs -+memory/,
  GetCmdTopH: /^top - /,
  GetCmdSmem: /^\s*PID User\s+Command/,
};

/** Methods that need perf (a host program sampling the host) and are not called. */
function needsPerf(method: string): boolean {
  return method.startsWith("GetCmdPerf");
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const checks: Check[] = [];
const daemons: BundledDaemon[] = [];
const temporaryDirectories: string[] = [];

/** Set once the run is being torn down (signal, deadline): later results are not recorded. */
let stopping = false;

function record(name: string, ok: boolean, detail = ""): void {
  if (stopping) return;
  checks.push({ name, ok, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail === "" ? "" : `: ${detail}`}`);
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 240 ? `${text.slice(0, 240)}…` : text);
}

async function cleanUp(): Promise<void> {
  await Promise.all(daemons.map((daemon) => daemon.stop(5_000)));
  for (const directory of temporaryDirectories) {
    await Deno.remove(directory, { recursive: true }).catch(() => {});
  }
}

function summary(header: string): boolean {
  const failed = checks.filter((check) => !check.ok);
  const passed = checks.length - failed.length;
  const ok = failed.length === 0 && checks.length > 0;
  console.log(`\n${header}`);
  for (const check of failed) console.log(`  failed: ${check.name}: ${check.detail}`);
  console.log(
    `aarch64 smoke test: ${
      ok ? "PASS" : "FAIL"
    } (${passed} checks passed, ${failed.length} failed)`,
  );
  return ok;
}

/** One legacy-style request; the parsed response. */
async function call(client: Client, method: string): Promise<Record<string, unknown>> {
  await client.send(`{"method":${JSON.stringify(method)}}`);
  return await client.readJson(RESPONSE_TIMEOUT_MS);
}

/** An error in the legacy layout: one-line message, the marker as `data`. */
function legacyError(response: Record<string, unknown>): string | undefined {
  const error = response.error as Record<string, unknown> | undefined;
  if (
    Object.keys(response).length === 1 && typeof error === "object" && error !== null &&
    typeof error.code === "number" && typeof error.message === "string" &&
    error.message !== "" && !error.message.includes("\n") && error.data === MARKER
  ) {
    return `${error.code} ${error.message}`;
  }
  return undefined;
}

/** Checks one method's answer; returns the error text when it answered with an error. */
function checkAnswer(method: string, response: Record<string, unknown>): string | undefined {
  const error = legacyError(response);
  if (error !== undefined) return error;
  const text = legacyText(response);
  if (Object.keys(response).length !== 1) {
    throw new Error(`extra members: ${excerpt(JSON.stringify(response))}`);
  }
  const layout = LAYOUTS[method];
  if (layout === undefined ? text === "" : !layout.test(text)) {
    throw new Error(`unexpected text ${excerpt(text)}`);
  }
  return undefined;
}

/** The bundle run natively, for the methods that failed under emulation. */
async function nativeErrors(
  bundlePath: string,
  directory: string,
  methods: string[],
): Promise<Map<string, string | undefined>> {
  const port = freePort();
  const daemon = await startBundledDaemon({
    program: Deno.execPath(),
    prefixArgs: [],
    bundle: bundlePath,
    daemonArgs: ["--hostname", "127.0.0.1", "--port", String(port)],
    cwd: directory,
    env: baseEnv(`${directory}/deno-dir-native`),
    startTimeoutMs: 60_000,
  });
  daemons.push(daemon);
  const client = await Client.connect(port);
  const outcomes = new Map<string, string | undefined>();
  try {
    for (const method of methods) {
      try {
        outcomes.set(method, checkAnswer(method, await call(client, method)));
      } catch {
        outcomes.set(method, undefined);
      }
    }
  } finally {
    client.close();
    await daemon.stop(STOP_GRACE_MS);
  }
  return outcomes;
}

/** A digest of every source an artifact is made from (the bundle's, the copied files). */
async function sourceFingerprint(): Promise<string> {
  const paths = ["README.md", "LICENSE", "deno.json", "main.ts", "log.ts", "docs/install.md"];
  const walk = async (directory: string) => {
    for await (const entry of Deno.readDir(`${REPO_ROOT}/${directory}`)) {
      const path = `${directory}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) paths.push(path);
    }
  };
  for (
    const directory of [
      "deploy",
      "checks",
      "rpc",
      "registry",
      "methods",
      "sampling",
      "proc",
      "perf",
      "metrics",
    ]
  ) await walk(directory);
  const parts: string[] = [];
  for (const path of paths.sort()) {
    const bytes = await Deno.readFile(`${REPO_ROOT}/${path}`).catch(() => new Uint8Array());
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    parts.push(`${path} ${btoa(String.fromCharCode(...new Uint8Array(digest)))}`);
  }
  return parts.join("\n");
}

/**
 * Which files differ between two builds, from the SHA256SUMS inside each archive: a changed
 * source file (edited between the builds) shows as its own name, a non-reproducible step as
 * the bundle's files or none (then the archiving itself differs).
 */
async function differingMembers(first: Artifact[], second: Artifact[]): Promise<string> {
  const sums = async (artifact: Artifact) => {
    const top = artifact.path.split("/").at(-1)!.replace(/\.tar\.gz$/, "");
    const listed = await runToEnd("tar", {
      args: ["-xzOf", artifact.path, `${top}/SHA256SUMS`],
      timeoutMs: 120_000,
    });
    return new Set(listed.stdout.split("\n").filter((line) => line !== ""));
  };
  const differences: string[] = [];
  for (const [index, artifact] of first.entries()) {
    const other = second[index];
    if (other === undefined || other.sha256 === artifact.sha256) continue;
    const [a, b] = [await sums(artifact), await sums(other)];
    const files = [...a].filter((line) => !b.has(line)).map((line) => line.split("  ")[1]);
    differences.push(
      `${artifact.target}: ${
        files.length === 0 ? "same files, archive differs" : files.join(", ")
      }`,
    );
  }
  return `differing files: ${differences.join("; ")}`;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A minimal environment: nothing of this machine's Deno set-up leaks into the run. */
function baseEnv(denoDir: string): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: denoDir,
    DENO_DIR: denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  };
}

async function run(): Promise<void> {
  // 1. The pieces.
  let denoPath: string;
  let qemu: Emulator;
  try {
    denoPath = await aarch64Deno();
    record(`fetch ${AARCH64_PACKAGE}@${DENO_VERSION} (integrity pinned)`, true, denoPath);
    qemu = emulator();
  } catch (error) {
    record("the AArch64 Deno and qemu-user are at hand", false, (error as Error).message);
    return;
  }
  const version = await runToEnd(qemu.program, {
    args: [...qemu.args, denoPath, "--version"],
    timeoutMs: 120_000,
  });
  const expected = `deno ${DENO_VERSION} (stable, release, aarch64-unknown-linux-gnu)`;
  record(
    `${qemu.program.split("/").at(-1)} -cpu ${EMULATED_CPU} runs the AArch64 Deno`,
    version.code === 0 && version.stdout.includes(expected),
    version.code === 0 ? version.stdout.split("\n")[0]! : version.stderr.trim(),
  );
  if (!checks.at(-1)!.ok) return;

  // 2. The artifacts, twice: the same sources must give the same bytes. A source edited while
  // they are built (a working tree shared with others) makes a pair that proves nothing: that
  // pair is built again, up to three times.
  const work = await Deno.makeTempDir({ prefix: "lepd-aarch64-" });
  temporaryDirectories.push(work);
  let builds: Artifact[][] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    builds = [];
    const before = await sourceFingerprint();
    for (const run of ["first", "second"]) {
      const started = performance.now();
      await Deno.remove(`${work}/dist-${run}`, { recursive: true }).catch(() => {});
      builds.push(await dist({ outDir: `${work}/dist-${run}` }));
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      console.log(
        `     deno task dist (${run} build): ` + builds.at(-1)!.map((artifact) =>
          `${artifact.path.split("/").at(-1)} ${(artifact.bytes / 1024 / 1024).toFixed(1)} MiB`
        ).join(", ") + `, ${seconds} s`,
      );
    }
    if (await sourceFingerprint() === before) break;
    console.log("     the sources changed while the artifacts were built: building both again");
  }
  record("deno task dist builds both artifacts", builds.length === 2);
  const [first, second] = builds as [Artifact[], Artifact[]];
  const reproducible = first.length === second.length &&
    first.every((artifact, index) => artifact.sha256 === second[index]?.sha256);
  record(
    "the artifacts are reproducible (same bytes twice)",
    reproducible,
    first.map((artifact, index) =>
      `${artifact.target} ${artifact.sha256.slice(0, 16)}… / ${second[index]?.sha256.slice(0, 16)}…`
    ).join(", ") + (reproducible ? "" : `; ${await differingMembers(first, second)}`),
  );
  const artifact = first.find((candidate) => candidate.target === "aarch64");
  if (artifact === undefined) throw new Error("dist built no aarch64 artifact");

  // The x86_64 archive installed for real (as root, no --destdir) into a throwaway overlay of
  // this machine's root file system: user, files, unit, a run as the user lepd, uninstall.
  const native = first.find((candidate) => candidate.target === "x86_64");
  if (Deno.uid() !== 0) {
    console.log("     skipped: a real install in an overlay root: not root");
  } else if (native !== undefined) {
    const overlay = await runToEnd("unshare", {
      args: [
        "--mount",
        "--propagation",
        "private",
        "sh",
        `${REPO_ROOT}/scripts/overlay_install.sh`,
        native.path,
        String(freePort()),
      ],
      timeoutMs: 300_000,
    }).catch((error) => ({ code: 77, stdout: `skip: ${(error as Error).message}`, stderr: "" }));
    if (overlay.code === 77) {
      console.log(`     skipped: a real install in an overlay root: ${overlay.stdout.trim()}`);
    } else {
      record(
        "install.sh as root in an overlay root: user, files, unit, lepd as user lepd, uninstall; systemctl calls under systemd",
        overlay.code === 0,
        overlay.code === 0 ? "" : `status ${overlay.code}:\n${overlay.stdout}${overlay.stderr}`,
      );
    }
  }

  // 3. A board: the artifact alone, installed into an empty root; an empty Deno cache, nothing
  // to download from.
  await Deno.mkdir(`${work}/download`);
  const unpacked = await unpack(artifact.path, `${work}/download`);
  const root = `${work}/root`;
  const installed = await runToEnd(`${unpacked}/install.sh`, {
    args: ["--destdir", root],
    timeoutMs: 300_000,
  });
  record(
    "install.sh --destdir installs the aarch64 artifact",
    installed.code === 0,
    installed.code === 0 ? "" : `status ${installed.code}: ${installed.stderr}${installed.stdout}`,
  );
  if (!checks.at(-1)!.ok) return;
  const board = `${root}/opt/lepd`;
  const installedDeno = `${board}/deno`;
  const execStart = /^ExecStart=(.*)$/m.exec(
    await Deno.readTextFile(`${root}/etc/systemd/system/lepd.service`),
  )?.[1] ?? "";
  const expectedStart =
    `/opt/lepd/deno run ${RUN_FLAGS.join(" ")} /opt/lepd/${BUNDLE_FILES.main} ` +
    "--port 12307 $LEPD_OPTIONS";
  record(
    "the installed unit runs the installed bundle with the start task's flags",
    execStart === expectedStart,
    execStart,
  );
  const port = freePort();
  const daemon = await startBundledDaemon({
    program: qemu.program,
    prefixArgs: [...qemu.args, installedDeno],
    extraDenoFlags: ["--cached-only"],
    bundle: `${board}/${BUNDLE_FILES.main}`,
    daemonArgs: ["--hostname", "127.0.0.1", "--port", String(port)],
    cwd: board,
    env: baseEnv(`${work}/deno-dir`),
    startTimeoutMs: START_TIMEOUT_MS,
  }).catch((error) => {
    record("the bundle starts under emulation", false, (error as Error).message);
    return undefined;
  });
  if (daemon === undefined) return;
  daemons.push(daemon);
  record(
    "the bundle starts under emulation",
    true,
    `listening after ${(daemon.startMs / 1000).toFixed(1)} s`,
  );

  // 4. Every method but perf's, on one connection as LEPV polls (a new one after a failure).
  let client = await Client.connect(port);
  const errors = new Map<string, string>();
  let methods: string[] = [];
  const attempt = async (name: string, check: () => Promise<void>): Promise<boolean> => {
    try {
      await check();
      return true;
    } catch (error) {
      record(name, false, (error as Error).message);
      client.close();
      try {
        client = await Client.connect(port);
        return true;
      } catch (connectError) {
        record(
          "the daemon keeps accepting connections",
          false,
          `${(connectError as Error).message}${daemon.running() ? "" : " (it exited)"}; ` +
            `its log:\n${daemon.log()}`,
        );
        return false;
      }
    }
  };
  try {
    let alive = await attempt("ListAllMethod", async () => {
      const listed = legacyText(await call(client, "ListAllMethod"));
      methods = listed.trimEnd().split(" ");
      const missing = REQUIRED.filter((method) => !methods.includes(method));
      if (!/^(\S+ )+$/.test(listed) || missing.length > 0) {
        throw new Error(`missing ${missing.join(", ")} or not one space after each name`);
      }
      record("ListAllMethod", true, `${methods.length} methods`);
    });
    for (const method of methods.filter((name) => name !== "ListAllMethod")) {
      if (!alive || stopping) break;
      if (needsPerf(method)) continue;
      alive = await attempt(method, async () => {
        const started = performance.now();
        const error = checkAnswer(method, await call(client, method));
        const ms = Math.round(performance.now() - started);
        if (error === undefined) record(method, true, `${ms} ms`);
        else if (REQUIRED.includes(method)) record(method, false, error);
        else errors.set(method, error);
      });
    }

    // The wire paths of the worker: JSON-RPC 2.0, two requests in one write, an unknown method.
    alive &&= await attempt("JSON-RPC 2.0 SayHello", async () => {
      await client.send(`{"jsonrpc":"2.0","method":"SayHello","id":7}`);
      const modern = JSON.stringify(await client.readJson(RESPONSE_TIMEOUT_MS));
      const expected = `{"jsonrpc":"2.0","result":"Hello!","id":7}`;
      if (modern !== expected) throw new Error(`got ${modern}, expected ${expected}`);
      record("JSON-RPC 2.0 SayHello", true);
    });
    alive &&= await attempt("two requests in one write; an unknown method", async () => {
      await client.send(`{"method":"SayHello","id":1}{"method":"NoSuchMethod","id":2}`);
      const first = await client.readJson(RESPONSE_TIMEOUT_MS);
      const second = await client.readJson(RESPONSE_TIMEOUT_MS);
      const secondError = second.error as Record<string, unknown> | undefined;
      if (
        first.result !== `Hello!${MARKER}` || first.id !== 1 || second.id !== 2 ||
        secondError?.code !== -32601 || secondError?.data !== MARKER
      ) {
        throw new Error(`got ${JSON.stringify(first)} ${JSON.stringify(second)}`);
      }
      record("two requests in one write; an unknown method", true);
    });
  } finally {
    client.close();
  }

  const memory = daemon.memoryKiB();
  if (memory !== undefined) {
    console.log(
      `     qemu-aarch64 process after the calls: RSS ${(memory.rss / 1024).toFixed(0)} MiB, ` +
        `peak ${(memory.peak / 1024).toFixed(0)} MiB (emulator included)`,
    );
  }

  // 5. Stop as a service manager does.
  const code = await daemon.stop(STOP_GRACE_MS);
  record(
    "SIGTERM stops the daemon with status 0",
    code === 0 && daemon.log().includes("Stopped after answering"),
    code === null ? `killed after ${STOP_GRACE_MS} ms` : `status ${code}`,
  );
  const logged = daemon.log().split("\n").filter((line) => / ERROR /.test(line));
  record("no ERROR in the daemon's log", logged.length === 0, logged.join(" | "));

  // 6. `lepd --check` under emulation: the reasons of the start-up warnings.
  const checked = await runToEnd(qemu.program, {
    args: [
      ...qemu.args,
      installedDeno,
      "run",
      ...RUN_FLAGS,
      "--cached-only",
      `${board}/${BUNDLE_FILES.main}`,
      "--check",
    ],
    cwd: board,
    env: baseEnv(`${work}/deno-dir`),
    timeoutMs: START_TIMEOUT_MS,
  });
  const reasons = (text: string, pattern: RegExp) =>
    JSON.stringify(Array.from(text.matchAll(pattern), (match) => `${match[1]}: ${match[2]}`));
  const fromCheck = reasons(checked.stdout, /^(\S+)\s+unavailable: (.*)$/gm);
  const fromWarnings = reasons(
    daemon.log(),
    / WARN main: (\S+) is unavailable here and will answer with an error: (.*)$/gm,
  );
  record(
    "lepd --check under emulation gives the start-up warnings' reasons",
    checked.code === 0 && fromCheck === fromWarnings,
    checked.code === 0
      ? `${checked.stdout.trimEnd().split("\n").at(-1)}` +
        (fromCheck === fromWarnings ? "" : `; --check ${fromCheck}, warnings ${fromWarnings}`)
      : `status ${checked.code}: ${checked.stderr}`,
  );

  // 7. Errors are acceptable only where the host itself cannot serve the method.
  if (errors.size > 0) {
    const native = await nativeErrors(
      `${board}/${BUNDLE_FILES.main}`,
      work,
      [...errors.keys()],
    );
    for (const [method, error] of errors) {
      const nativeError = native.get(method);
      record(
        method,
        nativeError !== undefined,
        nativeError === undefined
          ? `fails only under emulation: ${error}`
          : `error accepted, the native run of the bundle fails too: ${error}` +
            (nativeError === error ? "" : ` (natively: ${nativeError})`),
      );
    }
  }
  const skipped = methods.filter(needsPerf);
  if (skipped.length > 0) console.log(`     not called (they need perf): ${skipped.join(", ")}`);
}

let finished = false;

/** Stops the daemons, prints the summary once and exits: 0 on PASS, 1 on FAIL. */
async function finish(header: string): Promise<void> {
  if (finished) return;
  finished = true;
  stopping = true;
  await cleanUp();
  clearTimeout(deadline);
  Deno.exit(summary(header) ? 0 : 1);
}

const deadline = setTimeout(() => {
  record("overall deadline", false, `not done after ${DEADLINE_MS / 60_000} minutes`);
  finish("Stopped at the deadline.");
}, DEADLINE_MS);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    record("interrupted", false, signal);
    finish(`Interrupted by ${signal}.`);
  });
}

try {
  await run();
} catch (error) {
  record("unexpected failure", false, (error as Error).stack ?? String(error));
}
await finish(`lepd bundle under qemu-user (${EMULATED_CPU}), ${AARCH64_PACKAGE}@${DENO_VERSION}:`);
