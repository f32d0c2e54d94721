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
export function cpuNumbers(fs: ProcFs): number[] {
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

/** Reads the banner's fields from /proc/sys/kernel and /sys (with fallbacks for bare trees). */
export function readSystemIdentity(fs: ProcFs): SystemIdentity {
  return {
    sysname: firstLine(fs, "/proc/sys/kernel/ostype") ?? "Linux",
    release: firstLine(fs, "/proc/sys/kernel/osrelease") ?? "unknown",
    nodename: firstLine(fs, "/proc/sys/kernel/hostname") ?? "localhost",
    // /proc/sys/kernel/arch exists since Linux 6.1; before that the daemon's own build tells.
    machine: firstLine(fs, "/proc/sys/kernel/arch") ?? MACHINE_OF_ARCH[Deno.build.arch] ??
      Deno.build.arch,
    cpuCount: cpuNumbers(fs).length,
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
