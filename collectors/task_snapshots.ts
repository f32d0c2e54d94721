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

import { counterDelta } from "./counter.ts";
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
import { type Interval, REAL_CLOCK, SampledSource, type SamplingOptions } from "./sampler.ts";

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
  const ticks = counterDelta(before, latest.utime + latest.stime, "monotonic");
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
   * Every process and, when `withThreads`, every thread of every process, in one pass over
   * /proc (a process's own stat serves both).
   *
   * @throws {MethodFailure} when /proc cannot be listed
   */
  read(withThreads: boolean): TaskSnapshot {
    const processes: Snapshot<ProcessEntry> = new Map();
    const threads: Snapshot<ThreadEntry> | undefined = withThreads ? new Map() : undefined;
    for (const pid of listPids(this.#fs)) {
      const process = this.#readProcess(pid);
      if (process === undefined) continue;
      processes.set(taskKey(process.stat), process);
      if (threads !== undefined) this.#readThreadsOf(process, threads);
    }
    this.#forgetExited();
    return { processes, threads };
  }

  #readThreadsOf(process: ProcessEntry, threads: Snapshot<ThreadEntry>): void {
    const pid = process.stat.pid;
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
      threads.set(taskKey(stat), {
        stat,
        tgid: pid,
        uid: process.uid,
        args: process.args,
        readBytes: io.read,
        writeBytes: io.write,
      });
    }
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

/** One pass over /proc: every process, and every thread while thread methods are polled. */
export interface TaskSnapshot {
  processes: Snapshot<ProcessEntry>;
  threads: Snapshot<ThreadEntry> | undefined;
}

/** What a process method needs of the sampler: the latest interval of its view. */
export interface TaskView<E> {
  /** The latest interval; the first request waits for one. */
  interval(): Promise<Interval<Snapshot<E>>>;
  /** Stops the sampling behind the view (at shutdown). */
  stop(): void;
}

/**
 * The sampled process and thread snapshots every process method shares. One source reads
 * both in the same pass; threads (several reads per process) only while a thread method was
 * asked within the idle-stop time.
 */
export class TaskSampling {
  /** Per-process snapshots (GetCmdTop). */
  readonly processes: TaskView<ProcessEntry>;
  /** Per-thread snapshots (GetCmdTopH, GetCmdIotop). */
  readonly threads: TaskView<ThreadEntry>;
  readonly #source: SampledSource<TaskSnapshot>;
  #threadsWantedUntilMs = Number.NEGATIVE_INFINITY;

  constructor(fs: ProcFs, options: SamplingOptions = {}) {
    const reader = new TaskReader(fs);
    const idleStopMs = options.idleStopMs ?? 60_000;
    const clock = options.clock ?? REAL_CLOCK;
    this.#source = new SampledSource(
      () => reader.read(clock.now() < this.#threadsWantedUntilMs),
      options,
    );
    const stop = () => this.stop();
    this.processes = {
      interval: async () => {
        const { previous, latest, ...timing } = await this.#source.interval();
        return { previous: previous.processes, latest: latest.processes, ...timing };
      },
      stop,
    };
    this.threads = {
      interval: async () => {
        this.#threadsWantedUntilMs = clock.now() + idleStopMs;
        // Snapshots taken before threads were wanted lack them: wait for two that have them.
        const { previous, latest, ...timing } = await this.#source.intervalWhere((interval) =>
          interval.previous.threads !== undefined && interval.latest.threads !== undefined
        );
        return { previous: previous.threads!, latest: latest.threads!, ...timing };
      },
      stop,
    };
  }

  /** Stops sampling (at shutdown, and in tests). */
  stop(): void {
    this.#source.stop();
  }
}
