/**
 * The perf-backed methods (docs/protocol.md 3.13, 3.14): `GetCmdPerfFaults`, `GetCmdPerfCpuclock`,
 * `GetCmdPerfFlame`, and `GetCmdPerfFlameFolded`, the flame recording folded by lepd itself.
 *
 * perf is the one program lepd starts (docs/security.md). Its path is resolved once at
 * start-up from fixed directories; every run uses a fixed argument template (no shell, no
 * request data) and a fixed environment, in a private temporary directory that is removed
 * afterwards (never a shared `/perf.data` as the original wrote). A method records one second
 * system-wide into that directory, then streams `perf report --stdio` or `perf script` from the
 * child's stdout: the complete text, bounded only by a generous cap and cut at a sample
 * boundary with a final comment line when it is exceeded.
 *
 * One recording runs at a time ({@linkcode RecordingQueue}); every child has a deadline and is
 * killed with its whole process group ({@linkcode runChild}). Failures are one line naming the
 * cause and the remedy: perf missing, not permitted, failing, too slow, or lepd busy.
 *
 * @module
 */

import { MethodFailure } from "../failure.ts";
import { formatFolded, StackFolder } from "./fold.ts";
import { RecordingQueue } from "./queue.ts";
import { CappedOutput, type CappedText, type ChildRun, runChild } from "./runner.ts";
import { ProcFs } from "../proc/fs.ts";
import { parseStatusUid } from "../proc/pid.ts";
import type { Collector } from "../methods/collector.ts";

/**
 * Where perf is looked for, in the order of root's default PATH on Debian and Ubuntu, so lepd
 * runs the perf an administrator gets from `sudo perf`. Nothing else is ever executed.
 */
export const PERF_DIRECTORIES: readonly string[] = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

/** Defaults of the perf bounds; flags.ts exposes them as flags. */
export const PERF_DEFAULTS = {
  /** `--perf-max-output-bytes`: largest perf text returned (the original cut at 16 KiB). */
  maxOutputBytes: 8 * 1024 * 1024,
  /** `--perf-timeout`: wall time of each perf child (a recording takes one second). */
  deadlineMs: 10_000,
  /** `--perf-queue-length`: requests that may wait for a recording to start. */
  queueLength: 8,
} as const;

/** What a recording is for; requests for the same one share a running recording. */
export type PerfRecording = "cpuclock" | "faults" | "flame";

/** perf's version as `perf version` prints it. */
export interface PerfVersion {
  major: number;
  minor: number;
}

/** Options of {@linkcode createPerfCollectors}. */
export interface PerfOptions {
  /** The perf executable from {@linkcode resolvePerf}; undefined when perf is not installed. */
  executable: string | undefined;
  /** Largest text (bytes) of one method; longer output is cut at a sample boundary. */
  maxOutputBytes: number;
  /** Deadline of each perf child, in milliseconds. */
  deadlineMs: number;
  /** Requests that may wait for a recording to start; more get a "busy" error at once. */
  queueLength: number;
  /**
   * Directory standing for `/` when reading perf_event_paranoid and the daemon's own
   * credentials (tests only; default `/`). perf always records the live system, so this is
   * deliberately not the daemon's `--root`.
   */
  procRoot?: string;
  /**
   * Reads the text of perf_event_paranoid (tests only; default: the file under `procRoot`).
   * Tests with a fake perf inject a permissive value, so the host's setting does not decide
   * their outcome.
   */
  readParanoid?: () => Promise<string>;
  /**
   * Keep kernel addresses in perf texts (`--perf-kernel-addresses`). The daemon passes
   * `false` unless the flag is given: they are then written as zeros, symbols kept, so the
   * texts do not give away the kernel's randomised base (KASLR). Absent: kept (unit tests
   * compare perf's own output).
   */
  kernelAddresses?: boolean;
  /**
   * Why the perf methods are switched off, when they are (e.g. while the daemon reads a
   * captured tree with `--root`, where sampling the live system would mix two machines).
   */
  unavailable?: string;
}

/** The outcome of one recording. */
export interface PerfResult {
  /** `perf report --stdio` or `perf script` text, possibly cut with a final `# lepd:` note. */
  text: string;
  /** The folded stacks of a flame recording, else undefined. */
  folded: string | undefined;
  /** Samples perf record said it wrote (its "(N samples)" summary), when it said so. */
  recordedSamples: number | undefined;
}

/** The perf collectors and what they share. */
export interface PerfCollectors {
  /** `GetCmdPerfFaults`. */
  faults: Collector;
  /** `GetCmdPerfCpuclock`. */
  cpuclock: Collector;
  /** `GetCmdPerfFlame`. */
  flame: Collector;
  /** `GetCmdPerfFlameFolded`. */
  flameFolded: Collector;
  /** Why perf cannot work here, or undefined when it can (checked once, then remembered). */
  probe(): Promise<string | undefined>;
  /** Records (or joins the running recording) and returns everything it produced. */
  record(recording: PerfRecording): Promise<PerfResult>;
  /** Fails queued requests, kills a running perf and waits for it (idempotent). */
  close(): Promise<void>;
}

const INSTALL_REMEDY =
  "install the linux-perf package (Debian) or linux-tools-$(uname -r) (Ubuntu) and restart lepd";
const PERMISSION_PATTERN =
  /perf_event_paranoid|Permission denied|Operation not permitted|No permission|Access to performance monitoring/i;
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;

/** The program perf starts as its workload, from these directories only. */
const CHILD_PATH = "/usr/bin:/bin";

/** The prefix of every recording's private directory: `lepd-perf-rec.<pid>.<random>`. */
export const RECORDING_DIR_PREFIX = "lepd-perf-rec.";
const RECORDING_DIR = /^lepd-perf-rec\.(\d+)\./;

/**
 * True when `path` (after symbolic links) and every directory above it are owned by root or
 * `uid` and writable by nobody else — or, for a directory, is sticky (like /tmp), where others
 * cannot rename or remove what they do not own. The same holds for the directories of the path
 * as written, whose links could otherwise be swapped.
 */
export function trustedPath(path: string, uid: number | null = Deno.uid()): boolean {
  const trustedOwner = (owner: number | null) => owner === 0 || (uid !== null && owner === uid);
  const check = (target: string, isLeaf: boolean): boolean => {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(target);
    } catch {
      return false;
    }
    if (!trustedOwner(info.uid)) return false;
    if (info.isSymlink) return true; // a link's own mode means nothing; its target is checked
    const mode = info.mode ?? 0o777;
    if ((mode & 0o022) === 0) return true;
    return !isLeaf && info.isDirectory && (mode & 0o1000) !== 0;
  };
  const chain = (full: string): boolean => {
    const parts = full.split("/").filter((part) => part !== "");
    for (let depth = 0; depth <= parts.length; depth++) {
      const target = `/${parts.slice(0, depth).join("/")}`;
      if (!check(target, depth === parts.length)) return false;
    }
    return true;
  };
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    return false;
  }
  return chain(path) && chain(real);
}

/**
 * Finds perf in {@linkcode PERF_DIRECTORIES} (or `directories`): the first regular file that is
 * executable, not writable by group or others, and owned like every directory above it by root
 * or lepd's own user ({@linkcode trustedPath}) — a perf anyone could replace would run with
 * lepd's privileges. Call it once at start-up.
 */
export function resolvePerf(
  directories: readonly string[] = PERF_DIRECTORIES,
  uid: number | null = Deno.uid(),
): string | undefined {
  for (const directory of directories) {
    const path = `${directory}/perf`;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      continue;
    }
    const mode = info.mode ?? 0;
    if (
      info.isFile && (mode & 0o111) !== 0 && (mode & 0o022) === 0 &&
      trustedPath(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`, uid)
    ) {
      return path;
    }
  }
  return undefined;
}

/** A 64-bit address in the kernel's half (x86-64 and AArch64 kernels live at 0xffff…). */
const KERNEL_ADDRESS = /\b(0x)?ffff[0-9a-f]{12}\b/g;

/**
 * `text` with every kernel address written as zeros of the same width, so the layout (and
 * every symbol name) stays as perf printed it while the kernel's randomised base (KASLR)
 * does not leave the machine.
 */
export function hideKernelAddresses(text: string): string {
  return text.replace(
    KERNEL_ADDRESS,
    (address, prefix: string | undefined) =>
      (prefix ?? "") + "0".repeat(address.length - (prefix?.length ?? 0)),
  );
}

/**
 * Removes what a lepd that died mid-recording (SIGKILL, a crash) left: its recording
 * directories (`lepd-perf-rec.<pid>.*` of a process that no longer exists, owned by this
 * user) and the perf processes still working in them. Call it once at start-up.
 *
 * @returns the directories removed
 */
export async function removeStaleRecordings(
  tmpDir: string = Deno.env.get("TMPDIR") || "/tmp",
  procRoot = "/proc",
): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(tmpDir)];
  } catch {
    return removed;
  }
  const uid = Deno.uid();
  for (const entry of entries) {
    const pid = RECORDING_DIR.exec(entry.name)?.[1];
    if (pid === undefined || !entry.isDirectory || Number(pid) === Deno.pid) continue;
    const directory = `${tmpDir}/${entry.name}`;
    try {
      if (Deno.lstatSync(directory).uid !== uid) continue;
      Deno.statSync(`${procRoot}/${pid}`);
      continue; // its lepd still runs
    } catch {
      // gone: the recording is stale
    }
    killProcessesIn(directory, procRoot);
    await Deno.remove(directory, { recursive: true }).catch(() => {});
    removed.push(directory);
  }
  return removed;
}

/** SIGKILLs every process whose working directory is `directory` (a stale recording's perf). */
function killProcessesIn(directory: string, procRoot: string): void {
  let real = directory;
  try {
    real = Deno.realPathSync(directory);
  } catch {
    // compare with the path as given
  }
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(procRoot)];
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    let cwd: string;
    try {
      cwd = Deno.readLinkSync(`${procRoot}/${entry.name}/cwd`);
    } catch {
      continue;
    }
    if (cwd !== real && cwd !== directory) continue;
    const pid = Number(entry.name);
    if (pid <= 1 || pid === Deno.pid) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** The `perf record` argv: one second system-wide, into `dataPath`. */
export function perfRecordArgs(
  recording: PerfRecording,
  dataPath: string,
  version: PerfVersion,
): string[] {
  const event = recording === "flame"
    ? ["-F", "99", "-a", "-g"]
    : ["-a", "-e", recording === "faults" ? "faults" : "cpu-clock"];
  // -N: no build-id cache under $HOME. --no-bpf-event (perf 5.1+): skips collecting BPF
  // program info, which costs most of a second at start-up and only names BPF code.
  const bpf = version.major > 5 || (version.major === 5 && version.minor >= 1)
    ? ["--no-bpf-event"]
    : [];
  return ["record", ...event, "-N", ...bpf, "-o", dataPath, "--", "sleep", "1"];
}

/**
 * The `perf report` argv: stdio text sorted by the default keys LEPV splits into columns
 * (docs/protocol.md 4.14). A recording without call chains has no Children column to hide.
 */
export function perfReportArgs(dataPath: string): string[] {
  return ["report", "-i", dataPath, "--stdio", "--sort", "comm,dso,sym"];
}

/** The `perf script` argv: default fields, with the call chains the recording holds. */
export function perfScriptArgs(dataPath: string): string[] {
  return ["script", "-i", dataPath];
}

/** `perf version` output → version, or undefined for a format it does not recognise. */
export function parsePerfVersion(text: string): PerfVersion | undefined {
  const match = /perf version (\d+)\.(\d+)/.exec(text);
  return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]) };
}

/** The sample count of perf record's `[ perf record: Captured and wrote … (N samples) ]`. */
export function parseRecordedSamples(stderr: string): number | undefined {
  const match = /\((\d+) samples\)/.exec(stderr);
  return match === null ? undefined : Number(match[1]);
}

/** The line of perf's stderr that says what went wrong, shortened to fit in one line. */
export function perfErrorLine(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter((line) =>
    line !== "" && !line.startsWith("[ perf record:")
  );
  const errorIndex = lines.findIndex((line) => /^Error:?$/i.test(line));
  const line = (errorIndex >= 0 ? lines[errorIndex + 1] : undefined) ?? lines[0] ?? "no message";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** The environment of every perf child: nothing inherited, nothing from a request. */
function childEnv(home: string): Record<string, string> {
  return { PATH: CHILD_PATH, HOME: home, TMPDIR: home, LC_ALL: "C" };
}

/** A short display of the command for messages, without the private directory. */
function displayCommand(args: readonly string[]): string {
  return ["perf", ...args].map((arg) =>
    arg.includes(`/${RECORDING_DIR_PREFIX}`) ? "perf.data" : arg
  )
    .join(" ");
}

function cutNote(captured: CappedText, maxBytes: number, boundary: string): string {
  return `# lepd: output cut at a ${boundary} boundary after ${captured.keptBytes} of ` +
    `${captured.totalBytes} bytes (limit ${maxBytes}, --perf-max-output-bytes)\n`;
}

/**
 * Creates the four perf collectors, which share one recording queue.
 *
 * @param options see {@linkcode PerfOptions}; {@linkcode PERF_DEFAULTS} has the defaults
 */
export function createPerfCollectors(options: PerfOptions): PerfCollectors {
  return new PerfService(options).collectors();
}

class PerfService {
  readonly #options: PerfOptions;
  readonly #fs: ProcFs;
  readonly #queue: RecordingQueue<PerfResult>;
  readonly #shutdown = new AbortController();
  #version: Promise<PerfVersion> | undefined;
  #probed: Promise<string | undefined> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: PerfOptions) {
    this.#options = options;
    this.#fs = new ProcFs({ root: options.procRoot ?? "/", maxFileBytes: 1 << 20 });
    this.#queue = new RecordingQueue({
      maxWaiting: options.queueLength,
      busyMessage: `Busy: ${options.queueLength} perf requests already wait for a recording ` +
        `(--perf-queue-length ${options.queueLength}); retry in a few seconds`,
      closedMessage: "lepd is shutting down: the perf request was cancelled; retry after restart",
    });
  }

  collectors(): PerfCollectors {
    const probe = () => this.probe();
    const close = () => this.close();
    // The four share this service: the registry closes it once (createRegistry), not each.
    const collector = (collect: () => Promise<string>): Collector => ({ collect, probe });
    return {
      faults: collector(async () => (await this.record("faults")).text),
      cpuclock: collector(async () => (await this.record("cpuclock")).text),
      flame: collector(async () => (await this.record("flame")).text),
      flameFolded: collector(async () => (await this.record("flame")).folded ?? ""),
      probe,
      record: (recording) => this.record(recording),
      close,
    };
  }

  probe(): Promise<string | undefined> {
    this.#probed ??= this.#probe();
    return this.#probed;
  }

  record(recording: PerfRecording): Promise<PerfResult> {
    const executable = this.#options.unavailable === undefined
      ? this.#options.executable
      : undefined;
    if (executable === undefined) return Promise.reject(new MethodFailure(this.#missing()));
    return this.#queue.run(recording, (signal) => this.#record(executable, recording, signal));
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#shutdown.abort();
      await this.#queue.close();
      await this.#probed?.catch(() => {});
    })();
    return this.#closed;
  }

  async #probe(): Promise<string | undefined> {
    const executable = this.#options.unavailable === undefined
      ? this.#options.executable
      : undefined;
    if (executable === undefined) return this.#missing();
    const problem = await this.#permissionProblem();
    if (problem !== undefined) return problem;
    try {
      await this.#perfVersion(executable, this.#shutdown.signal);
    } catch (error) {
      if (error instanceof MethodFailure) return error.message;
      throw error;
    }
    return undefined;
  }

  #missing(): string {
    if (this.#options.unavailable !== undefined) return this.#options.unavailable;
    return `perf is not installed (no executable perf in ${PERF_DIRECTORIES.join(", ")}): ` +
      INSTALL_REMEDY;
  }

  /** Why this process may not record system-wide, judged from the live settings. */
  async #permissionProblem(): Promise<string | undefined> {
    let paranoid: number;
    try {
      paranoid = Number.parseInt(
        await (this.#options.readParanoid?.() ??
          this.#fs.readText("/proc/sys/kernel/perf_event_paranoid")),
        10,
      );
    } catch {
      return `The kernel has no perf events ("/proc/sys/kernel/perf_event_paranoid" is ` +
        "missing): run a kernel built with CONFIG_PERF_EVENTS";
    }
    // System-wide CPU events need paranoid <= 0 without a capability (<= 1 forbids CPU events).
    if (paranoid <= 0) return undefined;
    const status = await this.#fs.readText("/proc/self/status").catch(() => "");
    const uid = parseStatusUid(status) ?? "unknown";
    const capabilities = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
    const capable = (capability: bigint) => ((capabilities >> capability) & 1n) === 1n;
    if (capable(CAP_PERFMON) || capable(CAP_SYS_ADMIN)) return undefined;
    return `perf may not record system-wide: kernel.perf_event_paranoid is ${paranoid} and ` +
      `lepd (uid ${uid}) lacks CAP_PERFMON; grant lepd CAP_PERFMON (and CAP_SYSLOG for ` +
      "kernel symbol names), run it as root, or set kernel.perf_event_paranoid to 0 or lower";
  }

  /** perf's version, asked once; a failure is not remembered, so a repaired perf is seen. */
  #perfVersion(executable: string, signal: AbortSignal): Promise<PerfVersion> {
    this.#version ??= (async () => {
      let output = "";
      const decoder = new TextDecoder();
      await this.#run(executable, ["version"], {
        cwd: "/",
        home: "/nonexistent",
        signal,
        onStdout: (chunk) => output += decoder.decode(chunk, { stream: true }),
      });
      return parsePerfVersion(output + decoder.decode()) ?? { major: 0, minor: 0 };
    })();
    const version = this.#version;
    version.catch(() => {
      if (this.#version === version) this.#version = undefined;
    });
    return version;
  }

  async #record(
    executable: string,
    recording: PerfRecording,
    signal: AbortSignal,
  ): Promise<PerfResult> {
    const version = await this.#perfVersion(executable, signal);
    let directory: string;
    try {
      directory = await Deno.makeTempDir({ prefix: `${RECORDING_DIR_PREFIX}${Deno.pid}.` });
    } catch (error) {
      throw new MethodFailure(
        `Cannot create a private directory for perf.data: ${(error as Error).message}; give ` +
          "lepd a writable TMPDIR (or /tmp)",
      );
    }
    try {
      const dataPath = `${directory}/perf.data`;
      const childOptions = { cwd: directory, home: directory, signal };
      const recordRun = await this.#run(
        executable,
        perfRecordArgs(recording, dataPath, version),
        childOptions,
      );
      const recordedSamples = parseRecordedSamples(recordRun.stderr);

      const output = new CappedOutput(this.#options.maxOutputBytes);
      const folder = recording === "flame" ? new StackFolder() : undefined;
      const decoder = new TextDecoder();
      await this.#run(
        executable,
        recording === "flame" ? perfScriptArgs(dataPath) : perfReportArgs(dataPath),
        {
          ...childOptions,
          onStdout: (chunk) => {
            output.push(chunk);
            folder?.push(decoder.decode(chunk, { stream: true }));
          },
        },
      );
      const boundary = recording === "flame" ? "sample" : "line";
      const captured = output.finish(recording === "flame" ? "blank-line" : "line");
      if (this.#options.kernelAddresses === false) {
        captured.text = hideKernelAddresses(captured.text);
      }
      const text = captured.cut
        ? captured.text + cutNote(captured, this.#options.maxOutputBytes, boundary)
        : captured.text;
      let folded: string | undefined;
      if (folder !== undefined) {
        folder.push(decoder.decode());
        folded = this.#capFolded(formatFolded(folder.finish()));
      }
      return { text, folded, recordedSamples };
    } finally {
      await Deno.remove(directory, { recursive: true }).catch(() => {});
    }
  }

  #capFolded(folded: string): string {
    const output = new CappedOutput(this.#options.maxOutputBytes);
    output.push(new TextEncoder().encode(folded));
    const captured = output.finish("line");
    return captured.cut
      ? captured.text + cutNote(captured, this.#options.maxOutputBytes, "line")
      : captured.text;
  }

  /**
   * Runs a perf child and returns once it exited with status 0.
   *
   * @throws {MethodFailure} naming the cause and the remedy otherwise
   */
  async #run(executable: string, args: string[], options: ChildOptions): Promise<ChildRun> {
    let run: ChildRun;
    try {
      run = await runChild(executable, {
        args,
        env: childEnv(options.home),
        cwd: options.cwd,
        deadlineMs: this.#options.deadlineMs,
        signal: options.signal,
        ...(options.onStdout === undefined ? {} : { onStdout: options.onStdout }),
      });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new MethodFailure(
          `perf is gone from "${executable}" since lepd started: ${INSTALL_REMEDY}`,
        );
      }
      throw new MethodFailure(
        `Cannot start "${executable}": ${(error as Error).message}; make it executable by ` +
          "lepd's user",
      );
    }
    const command = displayCommand(args);
    if (run.end === "timeout") {
      throw new MethodFailure(
        `"${command}" did not finish within ${this.#options.deadlineMs / 1000} s and was ` +
          "killed: the machine may be overloaded; retry later or raise --perf-timeout",
      );
    }
    if (run.end === "aborted") {
      throw new MethodFailure(
        "lepd is shutting down: the perf recording was stopped; retry after restart",
      );
    }
    if (!run.status.success) {
      if (PERMISSION_PATTERN.test(run.stderr)) {
        throw new MethodFailure(
          await this.#permissionProblem() ??
            `perf was refused access to performance events ("${perfErrorLine(run.stderr)}"): ` +
              "grant lepd CAP_PERFMON or run it as root",
        );
      }
      const how = run.status.signal === null
        ? `exit status ${run.status.code}`
        : `killed by ${run.status.signal}`;
      throw new MethodFailure(
        `"${command}" failed (${how}: ${perfErrorLine(run.stderr)}): run it as lepd's user to ` +
          "see the whole message, and check that perf matches the running kernel",
      );
    }
    return run;
  }
}

interface ChildOptions {
  cwd: string;
  home: string;
  signal: AbortSignal;
  onStdout?: (chunk: Uint8Array) => void;
}
