/**
 * The files of one process or task: `/proc/<pid>/stat` (and `/proc/<pid>/task/<tid>/stat`),
 * `status`, `statm`, `io` and `cmdline`.
 *
 * These files vanish with their task, which is routine between listing /proc and reading them,
 * so a text that is not the file (the empty read of an exited task, garbage) gives undefined or
 * the figure's absence, never an error: the caller skips the task or shows the figure missing.
 *
 * @module
 */

/** Clock ticks per second of the times in /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI). */
export const USER_HZ = 100;

/** Scheduling policies of field 41 of /proc/<pid>/stat. */
export const Policy = { OTHER: 0, FIFO: 1, RR: 2, BATCH: 3, ISO: 4, IDLE: 5, DEADLINE: 6 } as const;

/** The fields of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) that lepd uses. */
export interface TaskStat {
  pid: number;
  /** Command name, at most 15 bytes, may hold spaces and parentheses. */
  comm: string;
  /** One-letter state: R S D Z T t X I … */
  state: string;
  ppid: number;
  /** User and system CPU time in clock ticks. */
  utime: number;
  stime: number;
  /** Kernel priority: 20 + nice for normal tasks, −1 − rt_priority for real-time ones. */
  priority: number;
  nice: number;
  numThreads: number;
  /** Start time in clock ticks after boot; with the pid, identifies a process across samples. */
  startTime: number;
  vsizeBytes: number;
  rssPages: number;
  rtPriority: number;
  policy: number;
  /** Aggregated block-I/O delay in clock ticks (0 unless delay accounting is on). */
  blkioTicks: number;
  /** Kernel flags (`PF_*`, field 9); {@link PF_KTHREAD} marks a kernel thread. */
  flags?: number;
  /**
   * Address of the program's code and of its arguments (fields 26, 48 and 49): new after every
   * `execve` (a new address space), 0 for kernel threads and where lepd may not ptrace-read
   * the process.
   */
  startCode?: number;
  argStart?: number;
  argEnd?: number;
}

/** `PF_KTHREAD` of include/linux/sched.h: the task is a kernel thread. */
export const PF_KTHREAD = 0x00200000;

/**
 * Parses `/proc/<pid>/stat`. The command name is everything between the first `(` and the
 * last `)`, so names such as `(my (odd) name)` survive; fields missing on old kernels read 0.
 *
 * @returns undefined for text that is not a stat line
 */
export function parseTaskStat(text: string): TaskStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // fields[0] is field 3 of proc(5) (state), so field N is fields[N - 3].
  const fields = text.slice(close + 2).trimEnd().split(" ");
  if (!Number.isInteger(pid) || fields.length < 22) return undefined;
  const field = (n: number): number => {
    const value = Number(fields[n - 3]);
    return Number.isFinite(value) ? value : 0;
  };
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: fields[0] ?? "?",
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    priority: field(18),
    nice: field(19),
    numThreads: field(20),
    startTime: field(22),
    vsizeBytes: field(23),
    rssPages: field(24),
    rtPriority: field(40),
    policy: field(41),
    blkioTicks: field(42),
    flags: field(9),
    startCode: field(26),
    argStart: field(48),
    argEnd: field(49),
  };
}

/** Splits `/proc/<pid>/cmdline` into its arguments (empty for kernel threads and zombies). */
export function parseCmdline(text: string): string[] {
  const args = text.split("\0");
  while (args.length > 0 && args[args.length - 1] === "") args.pop();
  return args;
}

/** The effective uid from the `Uid:` line of `/proc/<pid>/status`. */
export function parseStatusUid(text: string): number | undefined {
  const match = /^Uid:\s+\d+\s+(\d+)/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

const VM_RSS = /^VmRSS:\s+(\d+) kB/m;
const RSS_FILE = /^RssFile:\s+(\d+) kB/m;
const RSS_SHMEM = /^RssShmem:\s+(\d+) kB/m;

/** What lepd reads of `/proc/<pid>/status` every sample. */
export interface StatusFigures {
  /** Effective uid. */
  uid: number | undefined;
  /** `VmRSS` in KiB, what `ps` and `top` show as RSS and RES; undefined without an address space. */
  rssKiB: number | undefined;
  /** `RssFile` + `RssShmem` in KiB, top's SHR (Linux 4.5+); undefined when absent. */
  sharedKiB: number | undefined;
}

/**
 * The uid and the exact resident figures of `/proc/<pid>/status`. Unlike field 24 of `stat`,
 * which reads the kernel's approximate per-CPU-cached counters, `status` and `statm` sum them
 * (Linux 6.16+; before, all three read the same cached values), and `VmRSS` is
 * `RssAnon + RssFile + RssShmem` of one reading, so RES is never below SHR.
 */
export function parseStatusFigures(text: string): StatusFigures {
  const kib = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(text);
    return match === null ? undefined : Number(match[1]);
  };
  const file = kib(RSS_FILE);
  const shmem = kib(RSS_SHMEM);
  return {
    uid: parseStatusUid(text),
    rssKiB: kib(VM_RSS),
    sharedKiB: file === undefined || shmem === undefined ? undefined : file + shmem,
  };
}

/**
 * The shared pages of `/proc/<pid>/statm` (third field: file-backed and shmem resident pages,
 * what top shows as SHR before Linux 4.5 gave `RssFile` and `RssShmem`).
 *
 * @returns undefined when the text has no third number (an exited task)
 */
export function parseStatmSharedPages(text: string): number | undefined {
  const shared = text.split(" ")[2];
  return shared === undefined || !/^\d+$/.test(shared.trim()) ? undefined : Number(shared);
}

/** Bytes a task made the storage layer read and write (`/proc/<pid>/io`). */
export interface TaskIoBytes {
  read?: number;
  write?: number;
}

/**
 * `read_bytes` and `write_bytes` of `/proc/<pid>/io` (or of a task); a field the text lacks is
 * absent (the file is readable only with ptrace access, and undefined text means it was not).
 */
export function parseIoBytes(text: string | undefined): TaskIoBytes {
  if (text === undefined) return {};
  const read = /^read_bytes:\s*(\d+)/m.exec(text);
  const write = /^write_bytes:\s*(\d+)/m.exec(text);
  return {
    ...(read === null ? {} : { read: Number(read[1]) }),
    ...(write === null ? {} : { write: Number(write[1]) }),
  };
}
