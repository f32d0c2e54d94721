/**
 * Runs one child process (perf) with a deadline, bounded output and nothing left behind.
 *
 * The child is started in a session of its own (`detached`, i.e. `setsid`), so it leads a
 * process group that also holds whatever it starts (`perf record … -- sleep 1` forks `sleep`).
 * When the deadline passes or the caller aborts, the whole group gets SIGKILL; once the child
 * has exited the group is swept with SIGKILL again, so no grandchild survives holding a pipe
 * or a CPU. Our ends of the pipes are closed in every case, and the child is always reaped
 * (its status awaited) before the run resolves.
 *
 * @module
 */

import { concatBytes } from "../proc/fs.ts";

/** How a run ended. */
export type RunEnd = "exited" | "timeout" | "aborted";

/** What a finished run reports. */
export interface ChildRun {
  /** `exited`: on its own; `timeout`: killed at the deadline; `aborted`: killed on request. */
  end: RunEnd;
  status: Deno.CommandStatus;
  /** The start of the child's stderr (up to `maxStderrBytes`), decoded leniently. */
  stderr: string;
}

/** Options of {@linkcode runChild}. */
export interface RunChildOptions {
  /** Fixed argument template; never request data. */
  args: readonly string[];
  /** The child's whole environment (the daemon's own is not passed on). */
  env: Record<string, string>;
  cwd: string;
  /** The child and its process group are killed when it has not exited after this long. */
  deadlineMs: number;
  /** Aborting kills the child's process group at once (shutdown). */
  signal?: AbortSignal;
  /** Receives stdout as it arrives; without it stdout goes to /dev/null. */
  onStdout?: (chunk: Uint8Array) => void;
  /** Bytes of stderr kept for error messages; the rest is read and dropped (default 16 KiB). */
  maxStderrBytes?: number;
}

/** After the child is gone, how long its pipes may take to deliver what is buffered in them. */
const DRAIN_GRACE_MS = 2000;

/** Sends a signal to a process group; a group that is already empty is not an error. */
function signalGroup(leader: number, signal: Deno.Signal): void {
  // kill(0) and kill(-1) would reach lepd's own group and every process: never send those.
  if (!Number.isInteger(leader) || leader <= 1) return;
  try {
    Deno.kill(-leader, signal);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Reads a stream to its end, handing every chunk to `onChunk`; cancel() ends it early. */
function pump(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): { done: Promise<void>; cancel(): void } {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        onChunk(value);
      }
    } catch {
      // A cancelled or broken pipe ends the output; the exit status tells what happened.
    } finally {
      reader.releaseLock();
    }
  })();
  return {
    done,
    cancel() {
      reader.cancel().catch(() => {});
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts; the timer never outlives it. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Runs `executable` with a fixed argv (no shell), streams its stdout to `onStdout`, and returns
 * once the child and everything it started are gone and its pipes are closed.
 *
 * @throws {Deno.errors.NotFound} when the executable does not exist (and other spawn errors)
 */
export async function runChild(executable: string, options: RunChildOptions): Promise<ChildRun> {
  const child = new Deno.Command(executable, {
    args: [...options.args],
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: options.onStdout === undefined ? "null" : "piped",
    stderr: "piped",
    // setsid(): the child leads a new process group, which is how its descendants are found.
    detached: true,
  }).spawn();

  const maxStderrBytes = options.maxStderrBytes ?? 16 * 1024;
  const stderrChunks: Uint8Array[] = [];
  let stderrBytes = 0;
  const stderrPump = pump(child.stderr, (chunk) => {
    if (stderrBytes >= maxStderrBytes) return;
    const kept = chunk.subarray(0, maxStderrBytes - stderrBytes);
    stderrChunks.push(kept);
    stderrBytes += kept.length;
  });
  const stdoutPump = options.onStdout === undefined
    ? undefined
    : pump(child.stdout, options.onStdout);

  let end: RunEnd = "exited";
  const stop = new AbortController();
  const onAbort = () => {
    end = "aborted";
    stop.abort();
  };
  const timer = setTimeout(() => {
    end = "timeout";
    stop.abort();
  }, options.deadlineMs);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  const statusOrStop = await Promise.race([
    child.status,
    new Promise<"stop">((resolve) => {
      if (stop.signal.aborted) resolve("stop");
      else stop.signal.addEventListener("abort", () => resolve("stop"), { once: true });
    }),
  ]);
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", onAbort);
  if (statusOrStop === "stop") {
    signalGroup(child.pid, "SIGKILL");
    // Should the group ever be gone (the child changed it), the child itself still dies.
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
  const status = await child.status;
  // The leader is reaped; anything it left in its group (an orphaned `sleep`) goes now.
  signalGroup(child.pid, "SIGKILL");

  // Normally the pipes reach EOF at once; a process that escaped the group could hold them.
  const pumps = [stderrPump, stdoutPump].filter((entry) => entry !== undefined);
  const drained = Promise.all(pumps.map((entry) => entry.done));
  const grace = new AbortController();
  const drainedInTime = await Promise.race([
    drained.then(() => true),
    delay(DRAIN_GRACE_MS, grace.signal).then(() => false),
  ]);
  grace.abort();
  if (!drainedInTime) {
    for (const entry of pumps) entry.cancel();
    await drained;
  }

  const stderr = new TextDecoder().decode(concatBytes(stderrChunks, stderrBytes));
  return { end, status, stderr };
}

/** Where a capped output may be cut. */
export type CutBoundary = "line" | "blank-line";

/** The kept part of a capped output. */
export interface CappedText {
  text: string;
  /** True when output was dropped to stay within the cap. */
  cut: boolean;
  /** Bytes kept (after cutting at the boundary) and bytes the producer wrote in total. */
  keptBytes: number;
  totalBytes: number;
}

/**
 * Collects a producer's output up to a byte cap. Beyond the cap, bytes are counted and
 * dropped (the producer is still drained, so it finishes normally), and the kept part is cut
 * back to the last boundary inside the cap: a line end, or for `perf script` a blank line,
 * which ends a sample.
 */
export class CappedOutput {
  readonly #maxBytes: number;
  readonly #chunks: Uint8Array[] = [];
  #keptBytes = 0;
  #totalBytes = 0;

  /** @param maxBytes the most bytes kept; more output means a cut */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes written so far, kept or not. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Adds the next chunk of output. */
  push(chunk: Uint8Array): void {
    this.#totalBytes += chunk.length;
    const room = this.#maxBytes - this.#keptBytes;
    if (room <= 0) return;
    // Copy: the stream may reuse its buffers.
    const kept = chunk.slice(0, room);
    this.#chunks.push(kept);
    this.#keptBytes += kept.length;
  }

  /** The kept text, cut at the last `boundary` when the cap was exceeded. */
  finish(boundary: CutBoundary): CappedText {
    let bytes = concatBytes(this.#chunks, this.#keptBytes);
    const cut = this.#totalBytes > this.#maxBytes;
    if (cut) bytes = bytes.subarray(0, lastBoundaryEnd(bytes, boundary));
    return {
      text: new TextDecoder().decode(bytes),
      cut,
      keptBytes: bytes.length,
      totalBytes: this.#totalBytes,
    };
  }
}

/** Offset just past the last `\n` (line) or `\n\n` (blank line) in `bytes`, or 0. */
function lastBoundaryEnd(bytes: Uint8Array, boundary: CutBoundary): number {
  const newline = 0x0a;
  for (let index = bytes.length - 1; index >= 0; index--) {
    if (bytes[index] !== newline) continue;
    if (boundary === "line") return index + 1;
    if (index > 0 && bytes[index - 1] === newline) return index + 1;
  }
  return 0;
}
