/**
 * Processes and threads as /proc describes them: pure parsers of `/proc/<pid>/stat`,
 * `status` and `cmdline`, user names from `/etc/passwd`, and the listing of pids and tids.
 *
 * Shared by every process-oriented method (ps, top, iotop, procrank, smem).
 *
 * @module
 */

import type { ProcFs } from "./proc_fs.ts";

export { parseKeyNumbers } from "../proc/meminfo.ts";

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

/** Maps uids to names from the text of `/etc/passwd` (first name of a uid wins). */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , uidText] = line.split(":");
    if (name === undefined || name === "" || uidText === undefined || !/^\d+$/.test(uidText)) {
      continue;
    }
    const uid = Number(uidText);
    if (!names.has(uid)) names.set(uid, name);
  }
  return names;
}

/**
 * User names of uids, from `/etc/passwd` under the file-system root. The file is read once and
 * again only when its modification time changes.
 */
export class UserNames {
  readonly #fs: ProcFs;
  #names = new Map<number, string>();
  #modifiedMs: number | undefined = Number.NaN;
  #checkedMs = Number.NEGATIVE_INFINITY;

  constructor(fs: ProcFs) {
    this.#fs = fs;
  }

  /** The name of `uid`, or undefined when /etc/passwd does not know it. */
  nameOf(uid: number): string | undefined {
    this.#refresh();
    return this.#names.get(uid);
  }

  #refresh(): void {
    // A table asks for hundreds of rows at once: look at the file at most once a second.
    const now = performance.now();
    if (now - this.#checkedMs < 1000) return;
    this.#checkedMs = now;
    const modified = this.#fs.modifiedMs("/etc/passwd");
    if (modified === this.#modifiedMs) return;
    this.#modifiedMs = modified;
    this.#names = parsePasswd(this.#fs.tryReadTextSync("/etc/passwd") ?? "");
  }
}

/** Numeric entries of a directory (pids of `/proc`, tids of `/proc/<pid>/task`), ascending. */
export function numericNames(names: readonly string[]): number[] {
  const numbers: number[] = [];
  for (const name of names) {
    if (/^\d+$/.test(name)) numbers.push(Number(name));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * The pids of all processes.
 *
 * @throws {MethodFailure} when /proc cannot be listed
 */
export function listPids(fs: ProcFs): number[] {
  return numericNames(fs.readDirNames("/proc"));
}

/** The tids of one process; empty when the process has exited meanwhile. */
export function listTids(fs: ProcFs, pid: number): number[] {
  return numericNames(fs.tryReadDirNames(`/proc/${pid}/task`) ?? []);
}

/** Size of a memory page in bytes, from the kernel's own report for lepd's process (or 4096). */
export function pageSizeBytes(fs: ProcFs): number {
  const smaps = fs.tryReadTextSync("/proc/self/smaps") ?? "";
  const match = /^KernelPageSize:\s+(\d+) kB/m.exec(smaps);
  return match === null ? 4096 : Number(match[1]) * 1024;
}

/**
 * Text safe for one column of a table: control characters (a newline in a command line would
 * start a new row for every client) become `?`, as procps shows them, and so does a backslash
 * before `n`, because LEPV also splits texts on the two characters `\n`.
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]|\\(?=n)/g, "?");
}

/** The effective user shown in process tables: name, or the uid when /etc/passwd lacks it. */
export function userLabel(users: UserNames, uid: number | undefined): string {
  if (uid === undefined) return "?";
  // One token whatever /etc/passwd holds: clients split rows on whitespace.
  return users.nameOf(uid)?.replace(/\s/g, "?") ?? String(uid);
}
