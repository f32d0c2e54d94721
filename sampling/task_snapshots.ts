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

import { counterDelta } from "../proc/counter.ts";
import {
  parseCmdline,
  parseIoBytes,
  parseStatusFigures,
  parseTaskStat,
  PF_KTHREAD,
  type TaskStat,
  USER_HZ,
} from "../proc/pid.ts";
import type { ProcFs } from "../proc/fs.ts";
import { listPids, listTids } from "./pids.ts";
import { type Interval, REAL_CLOCK, SampledSource, type SamplingOptions } from "./sampler.ts";

/** One process in a snapshot. */
export interface ProcessEntry {
  stat: TaskStat;
  /** Effective uid, undefined when `status` could not be read. */
  uid: number | undefined;
  /** Arguments from `cmdline`; empty for kernel threads, zombies and unreadable ones. */
  args: string[];
  /**
   * Resident and shared memory of the process in KiB (`VmRSS`, `RssFile + RssShmem` of
   * `status`), as ps and top show them; undefined when unreadable or absent (kernel threads,
   * zombies). A thread has its process's figures.
   */
  rssKiB?: number | undefined;
  sharedKiB?: number | undefined;
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

/** The cached command line of a process, and what tells that it may have changed. */
interface CachedArgs {
  args: string[];
  /** Command name and code and argument addresses when it was read (see `execSignature`). */
  signature: string;
  readMs: number;
}

/**
 * What changes when a process calls `execve`: its command name (unless the new program has the
 * same one), and the addresses of its code and arguments (a new address space, randomised).
 * The argument addresses read 0 where lepd may not ptrace-read the process (another user's,
 * without CAP_SYS_PTRACE): then there is no signature and the command line is read every sample.
 */
function execSignature(stat: TaskStat): string | undefined {
  // Without ptrace access the kernel writes 0 for the argument addresses (and 1 for startcode).
  if (!stat.argStart || !stat.argEnd) return undefined;
  return `${stat.comm}\0${stat.startCode}\0${stat.argStart}\0${stat.argEnd}`;
}

/** A command line rewritten in place (setproctitle) keeps its addresses: read again this often. */
const ARGS_REFRESH_MS = 10_000;

/**
 * Reads process and thread snapshots.
 *
 * Every sample reads each process's `stat` and `status` (the user and the exact resident
 * figures: a process that calls `setuid` shows its new user in the next sample). The command
 * line is read again whenever the process may have called `execve` (see `execSignature`), at
 * least every {@link ARGS_REFRESH_MS}, and never for kernel threads, which have none.
 */
export class TaskReader {
  readonly #fs: ProcFs;
  #args = new Map<string, CachedArgs>();
  /** Keys read during the current snapshot; cached command lines of the others are forgotten. */
  #lastSeen = new Set<string>();

  constructor(fs: ProcFs) {
    this.#fs = fs;
  }

  /**
   * Every process and, when `withThreads`, every thread of every process, in one pass over
   * /proc.
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
    // A kernel thread is alone in its thread group from birth, so its process stat is its own
    // and is not read twice. Any other process's stat sums the times of every thread it ever
    // had, exited ones included: each thread's figures come from its own task/<tid>/stat, or a
    // process whose last helper thread just exited would show its whole time as one thread's.
    const kernelThread = ((process.stat.flags ?? 0) & PF_KTHREAD) !== 0;
    const tids = process.stat.numThreads <= 1 ? [pid] : listTids(this.#fs, pid);
    for (const tid of tids) {
      const stat = kernelThread && tid === pid
        ? process.stat
        : parseTaskStat(this.#fs.tryReadTextSync(`/proc/${pid}/task/${tid}/stat`) ?? "");
      if (stat === undefined) continue;
      const io = parseIoBytes(this.#fs.tryReadTextSync(`/proc/${pid}/task/${tid}/io`));
      threads.set(taskKey(stat), {
        stat,
        tgid: pid,
        uid: process.uid,
        args: process.args,
        rssKiB: process.rssKiB,
        sharedKiB: process.sharedKiB,
        readBytes: io.read,
        writeBytes: io.write,
      });
    }
  }

  #readProcess(pid: number): ProcessEntry | undefined {
    const stat = parseTaskStat(this.#fs.tryReadTextSync(`/proc/${pid}/stat`) ?? "");
    if (stat === undefined) return undefined;
    const key = taskKey(stat);
    const status = this.#fs.tryReadTextSync(`/proc/${pid}/status`);
    const figures = status === undefined ? undefined : parseStatusFigures(status);
    this.#lastSeen.add(key);
    return {
      stat,
      uid: figures?.uid,
      args: this.#argsOf(pid, key, stat),
      rssKiB: figures?.rssKiB,
      sharedKiB: figures?.sharedKiB,
    };
  }

  #argsOf(pid: number, key: string, stat: TaskStat): string[] {
    if (((stat.flags ?? 0) & PF_KTHREAD) !== 0) return [];
    const signature = execSignature(stat);
    const cached = this.#args.get(key);
    const now = performance.now();
    if (
      cached !== undefined && signature !== undefined && cached.signature === signature &&
      now - cached.readMs < ARGS_REFRESH_MS
    ) {
      return cached.args;
    }
    const args = parseCmdline(this.#fs.tryReadTextSync(`/proc/${pid}/cmdline`) ?? "");
    if (signature === undefined) this.#args.delete(key);
    else this.#args.set(key, { args, signature, readMs: now });
    return args;
  }

  #forgetExited(): void {
    for (const key of this.#args.keys()) {
      if (!this.#lastSeen.has(key)) this.#args.delete(key);
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
    this.processes = {
      interval: async () => {
        const { previous, latest, ...timing } = await this.#source.interval();
        return { previous: previous.processes, latest: latest.processes, ...timing };
      },
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
    };
  }

  /** Stops sampling (at shutdown, and in tests). */
  stop(): void {
    this.#source.stop();
  }
}
