/**
 * Child processes for the build and test scripts, every wait bounded: a program run to its end
 * under a deadline, and a bundled daemon (dist/lepd.js) started under any Deno — the host's, or
 * the aarch64 one under qemu-user — and stopped again.
 *
 * @module
 */

const decoder = new TextDecoder();

/** What a program run to its end left behind. */
export interface RunResult {
  /** Exit status; 124 when the deadline killed it (as timeout(1) reports). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `program` with `options.args` and collects its output; a program still running after
 * `options.timeoutMs` is killed (SIGKILL) and reported with status 124.
 *
 * @throws {Deno.errors.NotFound} when the program does not exist
 */
export async function runToEnd(
  program: string,
  options: { args: string[]; timeoutMs: number; cwd?: string; env?: Record<string, string> },
): Promise<RunResult> {
  const child = new Deno.Command(program, {
    args: options.args,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, options.timeoutMs);
  try {
    const output = await child.output();
    return {
      code: timedOut ? 124 : output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr) +
        (timedOut ? `\n(killed after ${options.timeoutMs} ms)` : ""),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** How to start a bundled daemon. */
export interface BundledDaemonOptions {
  /** The program that runs Deno: the Deno executable itself, or qemu-user. */
  program: string;
  /** Arguments before `run`: empty for a native Deno, `[-L sysroot, deno]` for qemu-user. */
  prefixArgs: string[];
  /** Deno flags beyond {@link RUN_FLAGS}, such as `--cached-only`. */
  extraDenoFlags?: string[];
  /** The bundle's main file (its worker beside it). */
  bundle: string;
  /** Flags after the bundle (the daemon's own: `--port`, `--hostname`, …). */
  daemonArgs: string[];
  /** Working directory and environment of the process. */
  cwd: string;
  env: Record<string, string>;
  /** How long the daemon may take to log that it listens. */
  startTimeoutMs: number;
}

/** The start task's Deno flags: every run of the bundle uses exactly these. */
export const RUN_FLAGS = [
  "--allow-all",
  "--unstable-worker-options",
  "--v8-flags=--max-semi-space-size=1,--optimize-for-size,--expose-gc",
] as const;

/** A bundled daemon that logged "listening on". */
export interface BundledDaemon {
  pid: number;
  /** Milliseconds from spawn to the "listening on" log line. */
  startMs: number;
  /** Everything the daemon wrote to stderr so far. */
  log(): string;
  /** False once the process has exited. */
  running(): boolean;
  /** Resident and peak resident memory of the process in KiB, from /proc/<pid>/status. */
  memoryKiB(): { rss: number; peak: number } | undefined;
  /**
   * Sends SIGTERM and waits up to `graceMs` for the exit; then SIGKILL. Returns the exit code,
   * or null when the process had to be killed. Safe to call more than once.
   */
  stop(graceMs: number): Promise<number | null>;
}

/**
 * Starts `deno run <RUN_FLAGS> <extraDenoFlags> <bundle> <daemonArgs>` (through `program`) and
 * resolves once it logs that it listens.
 *
 * @throws {Error} with the daemon's log when it exits first or does not listen in time
 */
export async function startBundledDaemon(options: BundledDaemonOptions): Promise<BundledDaemon> {
  const started = performance.now();
  const child = new Deno.Command(options.program, {
    args: [
      ...options.prefixArgs,
      "run",
      ...RUN_FLAGS,
      ...options.extraDenoFlags ?? [],
      options.bundle,
      ...options.daemonArgs,
    ],
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const { promise: ready, resolve: resolveReady } = Promise.withResolvers<number>();
  const reading = (async () => {
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      if (log.includes(" listening on ")) resolveReady(performance.now() - started);
    }
  })();
  let exitCode: number | undefined;
  const exited = child.status.then((status) => {
    exitCode = status.code;
    return status;
  });

  const stop = async (graceMs: number): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    const signal = (name: Deno.Signal) => {
      try {
        child.kill(name);
      } catch {
        // exited meanwhile
      }
    };
    signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), graceMs)),
    ]);
    clearTimeout(timer);
    if (!gone) {
      signal("SIGKILL");
      await exited;
    }
    // A process the daemon started could still hold its stderr open: wait for the end of the
    // log a little, not for ever.
    let logTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([reading, new Promise((resolve) => logTimer = setTimeout(resolve, 5_000))]);
    clearTimeout(logTimer);
    return gone ? exitCode! : null;
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready,
    exited.then((status) => `exited with status ${status.code}`),
    new Promise<string>((resolve) =>
      timer = setTimeout(
        () => resolve(`did not listen within ${options.startTimeoutMs} ms`),
        options.startTimeoutMs,
      )
    ),
  ]);
  clearTimeout(timer);
  if (typeof outcome === "string") {
    await stop(5_000);
    throw new Error(`The bundled daemon ${outcome}; its log:\n${log}`);
  }
  return {
    pid: child.pid,
    startMs: outcome,
    log: () => log,
    running: () => exitCode === undefined,
    memoryKiB: () => {
      try {
        const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
        const field = (name: string) =>
          Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
        const rss = field("VmRSS");
        const peak = field("VmHWM");
        return Number.isFinite(rss) && Number.isFinite(peak) ? { rss, peak } : undefined;
      } catch {
        return undefined;
      }
    },
    stop,
  };
}
