/**
 * What the sysstat tools (mpstat, iostat) print around their numbers: the banner line with
 * kernel, host, date, architecture and CPU count, and times of day. Always in the C locale:
 * `MM/DD/YY` dates and 24-hour `HH:MM:SS` times, one token each, which LEPV relies on.
 *
 * @module
 */

import type { ProcFs } from "../proc/fs.ts";
import { numericNames } from "../sampling/pids.ts";

/** The uname fields and CPU count of the banner. */
export interface SystemIdentity {
  sysname: string;
  release: string;
  nodename: string;
  machine: string;
  /** Number of CPUs the kernel knows, online or not. */
  cpuCount: number;
}

/** uname's machine names for Deno's architecture names. */
const MACHINE_OF_ARCH: Record<string, string> = { x86_64: "x86_64", aarch64: "aarch64" };

function firstLine(fs: ProcFs, path: string): string | undefined {
  const text = fs.tryReadTextSync(path)?.split("\n")[0]?.trim();
  return text === undefined || text === "" ? undefined : text;
}

/**
 * Numbers of the CPUs the kernel knows: the `cpuN` directories of /sys/devices/system/cpu
 * (offline CPUs included), or the `cpuN` lines of /proc/stat (online CPUs only) where /sys is
 * not available. Ascending.
 */
function listCpuNumbers(fs: ProcFs): number[] {
  const directories = fs.tryReadDirNames("/sys/devices/system/cpu");
  if (directories !== undefined) {
    const numbers = numericNames(
      directories.filter((name) => /^cpu\d+$/.test(name)).map((name) => name.slice(3)),
    );
    if (numbers.length > 0) return numbers;
  }
  const stat = fs.tryReadTextSync("/proc/stat") ?? "";
  return numericNames([...stat.matchAll(/^cpu(\d+) /gm)].map((match) => match[1]!));
}

/**
 * What the banner reads that stays the same while the kernel runs, read once per tree: the
 * kernel's name, release and machine, and the CPU list. The host name can change and is read
 * again when the last reading is {@link HOSTNAME_MAX_AGE_MS} old.
 */
interface StableFacts {
  sysname: string;
  release: string;
  machine: string;
  cpus: number[];
}

/** The facts of each tree, read at its first use (a test's fixture tree has its own). */
const stableFacts = new WeakMap<ProcFs, StableFacts>();

/**
 * How long a reading of the host name serves: the sysstat methods a dashboard polls together
 * (GetCmdMpstat, GetCmdMpstat-I, GetCmdIostat) read it once per poll instead of once each, and
 * a new name shows within a second.
 */
export const HOSTNAME_MAX_AGE_MS = 1000;

/** The latest host name of each tree and when it was read (`performance.now()`). */
const hostNames = new WeakMap<ProcFs, { name: string; readAt: number }>();

function hostName(fs: ProcFs, now: number): string {
  const latest = hostNames.get(fs);
  if (latest !== undefined && now - latest.readAt < HOSTNAME_MAX_AGE_MS && now >= latest.readAt) {
    return latest.name;
  }
  const name = firstLine(fs, "/proc/sys/kernel/hostname") ?? "localhost";
  hostNames.set(fs, { name, readAt: now });
  return name;
}

function factsOf(fs: ProcFs): StableFacts {
  let facts = stableFacts.get(fs);
  if (facts === undefined) {
    facts = {
      sysname: firstLine(fs, "/proc/sys/kernel/ostype") ?? "Linux",
      release: firstLine(fs, "/proc/sys/kernel/osrelease") ?? "unknown",
      // /proc/sys/kernel/arch exists since Linux 6.1; before that the daemon's own build tells.
      machine: firstLine(fs, "/proc/sys/kernel/arch") ?? MACHINE_OF_ARCH[Deno.build.arch] ??
        Deno.build.arch,
      cpus: listCpuNumbers(fs),
    };
    stableFacts.set(fs, facts);
  }
  return facts;
}

/**
 * Numbers of the CPUs the kernel knows (see `listCpuNumbers`), ascending. Listed once, as sysstat
 * counts them once at its start, and listed again when `seen` (CPU numbers of a fresh reading,
 * such as /proc/stat's online CPUs) names one the list lacks: a CPU added at run time. A CPU
 * removed at run time stays in the list, where it shows as offline.
 */
export function cpuNumbers(fs: ProcFs, seen: Iterable<number> = []): number[] {
  const facts = factsOf(fs);
  for (const cpu of seen) {
    if (!facts.cpus.includes(cpu)) {
      facts.cpus = listCpuNumbers(fs);
      break;
    }
  }
  return facts.cpus;
}

/**
 * Reads the banner's fields from /proc/sys/kernel and /sys (with fallbacks for bare trees): the
 * host name at most once per {@link HOSTNAME_MAX_AGE_MS}, the rest once (see `factsOf`).
 *
 * @param now the time of the call, `performance.now()` (tests pass their own)
 */
export function readSystemIdentity(fs: ProcFs, now = performance.now()): SystemIdentity {
  const { sysname, release, machine, cpus } = factsOf(fs);
  return {
    sysname,
    release,
    nodename: hostName(fs, now),
    machine,
    cpuCount: cpus.length,
  };
}

function twoDigits(value: number): string {
  return String(value).padStart(2, "0");
}

/** `MM/DD/YY` in local time, as sysstat prints dates in the C locale. */
export function sysstatDate(date: Date): string {
  return `${twoDigits(date.getMonth() + 1)}/${twoDigits(date.getDate())}/${
    twoDigits(date.getFullYear() % 100)
  }`;
}

/** `HH:MM:SS` in local time, 24-hour: one token, as LEPV's mpstat parser needs. */
export function clockTime(date: Date): string {
  return `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}:${
    twoDigits(date.getSeconds())
  }`;
}

/**
 * The first line of mpstat and iostat:
 * `Linux 6.1.0 (host) \t11/27/26 \t_x86_64_\t(2 CPU)` (a space and a TAB before the date and
 * before the machine, a TAB before the CPU count).
 */
export function sysstatBanner(identity: SystemIdentity, date: Date): string {
  return `${identity.sysname} ${identity.release} (${identity.nodename}) \t${sysstatDate(date)} ` +
    `\t_${identity.machine}_\t(${identity.cpuCount} CPU)`;
}
