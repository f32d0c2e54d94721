/**
 * Snapshots of every process and every thread, taken by the sampler about once a second while
 * a process method is being polled, so that CPU and I/O rates cover the latest interval.
 *
 * Reading uses the synchronous path of `ProcFs` (a few microseconds a file). A process that
 * exits between the listing and the read is skipped; a file the daemon may not read (another
 * user's `io` without CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH) leaves that value undefined.
 *
 * @module
 */

import type { ProcFs } from "./proc_fs.ts";
import {
  listPids,
  listTids,
  parseCmdline,
  parseStatusUid,
  parseTaskStat,
  type TaskStat,
  USER_HZ,
} from "./processes.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** One process in a snapshot. */
export interface ProcessEntry {
  stat: TaskStat;
  /** Effective uid, undefined when `status` could not be read. */
  uid: number | undefined;
  /** Arguments from `cmdline`; empty for kernel threads, zombies and unreadable ones. */
  args: string[];
}

/** One thread in a snapshot. */
export interface ThreadEntry extends ProcessEntry {
  /** The pid of the process the thread belongs to. */
  tgid: number;
  /** Bytes this thread caused to be read from and written to storage (`io`), if readable. */
  readBytes: number | undefined;
  writeBytes: number | undefined;
}

/** Entries keyed by {@link taskKey}, in pid (then tid) order. */
export type Snapshot<E> = Map<string, E>;

/** Identifies a task across snapshots: a pid is reused, a pid with its start time is not. */
export function taskKey(stat: TaskStat): string {
  return `${stat.pid}:${stat.startTime}`;
}

/** Share of one CPU, in percent, that a task used between two snapshots `seconds` apart. */
export function cpuPercent(
  previous: TaskStat | undefined,
  latest: TaskStat,
  seconds: number,
): number {
  if (seconds <= 0) return 0;
  // A task missing from the previous snapshot started during the interval: all its time counts.
  const before = previous === undefined ? 0 : previous.utime + previous.stime;
  const ticks = Math.max(0, latest.utime + latest.stime - before);
  return (ticks / USER_HZ) / seconds * 100;
}

function parseIoBytes(text: string | undefined): { read?: number; write?: number } {
  if (text === undefined) return {};
  const read = /^read_bytes:\s*(\d+)/m.exec(text);
  const write = /^write_bytes:\s*(\d+)/m.exec(text);
  return {
    ...(read === null ? {} : { read: Number(read[1]) }),
    ...(write === null ? {} : { write: Number(write[1]) }),
  };
}

/**
 * Reads process and thread snapshots, remembering the uid and command line of each process
 * (they do not change for a pid and start time, except after `execve`, which a new sample of
 * the same process reflects within a minute).
 */
export class TaskReader {
  readonly #fs: ProcFs;
  #identities = new Map<string, { uid: number | undefined; args: string[]; seenMs: number }>();
  /** Keys read during the current snapshot; identities of the others are forgotten. */
  #lastSeen = new Set<string>();

  constructor(fs: ProcFs) {
    this.#fs = fs;
  }

  /**
   * Every process.
   *
   * @throws {MethodFailure} when /proc cannot be listed
   */
  readProcesses(): Snapshot<ProcessEntry> {
    const snapshot: Snapshot<ProcessEntry> = new Map();
    for (const pid of listPids(this.#fs)) {
      const entry = this.#readProcess(pid);
      if (entry !== undefined) snapshot.set(taskKey(entry.stat), entry);
    }
    this.#forgetExited();
    return snapshot;
  }

  /**
   * Every thread of every process.
   *
   * @throws {MethodFailure} when /proc cannot be listed
   */
  readThreads(): Snapshot<ThreadEntry> {
    const snapshot: Snapshot<ThreadEntry> = new Map();
    for (const pid of listPids(this.#fs)) {
      const process = this.#readProcess(pid);
      if (process === undefined) continue;
      // Most tasks (every kernel thread) are single-threaded: their one thread's stat is the
      // process's, so the task directory need not be listed nor the stat read twice. Each
      // system call counts here: the sampler reads every thread every second.
      const singleThreaded = process.stat.numThreads <= 1;
      for (const tid of singleThreaded ? [pid] : listTids(this.#fs, pid)) {
        const stat = singleThreaded
          ? process.stat
          : parseTaskStat(this.#fs.tryReadTextSync(`/proc/${pid}/task/${tid}/stat`) ?? "");
        if (stat === undefined) continue;
        const io = parseIoBytes(this.#fs.tryReadTextSync(`/proc/${pid}/task/${tid}/io`));
        snapshot.set(taskKey(stat), {
          stat,
          tgid: pid,
          uid: process.uid,
          args: process.args,
          readBytes: io.read,
          writeBytes: io.write,
        });
      }
    }
    this.#forgetExited();
    return snapshot;
  }

  #readProcess(pid: number): ProcessEntry | undefined {
    const stat = parseTaskStat(this.#fs.tryReadTextSync(`/proc/${pid}/stat`) ?? "");
    if (stat === undefined) return undefined;
    const key = taskKey(stat);
    let identity = this.#identities.get(key);
    if (identity === undefined || performance.now() - identity.seenMs > 60_000) {
      const status = this.#fs.tryReadTextSync(`/proc/${pid}/status`);
      identity = {
        uid: status === undefined ? undefined : parseStatusUid(status),
        args: parseCmdline(this.#fs.tryReadTextSync(`/proc/${pid}/cmdline`) ?? ""),
        seenMs: performance.now(),
      };
      this.#identities.set(key, identity);
    }
    this.#lastSeen.add(key);
    return { stat, uid: identity.uid, args: identity.args };
  }

  #forgetExited(): void {
    for (const key of this.#identities.keys()) {
      if (!this.#lastSeen.has(key)) this.#identities.delete(key);
    }
    this.#lastSeen = new Set();
  }
}

/** The sampled process and thread snapshots every process method shares. */
export class TaskSampling {
  /** Per-process snapshots (GetCmdTop). */
  readonly processes: SampledSource<Snapshot<ProcessEntry>>;
  /** Per-thread snapshots (GetCmdTopH, GetCmdIotop). */
  readonly threads: SampledSource<Snapshot<ThreadEntry>>;

  constructor(fs: ProcFs, options: SamplingOptions = {}) {
    const processReader = new TaskReader(fs);
    const threadReader = new TaskReader(fs);
    this.processes = new SampledSource(() => processReader.readProcesses(), options);
    this.threads = new SampledSource(() => threadReader.readThreads(), options);
  }

  /** Stops both sources (at shutdown, and in tests). */
  stop(): void {
    this.processes.stop();
    this.threads.stop();
  }
}
