/**
 * The control-group files `GetCmdCgtop` reads, v2 (`cgroup.procs`, `cpu.stat`, `memory.current`,
 * `io.stat`) and v1 (`cpuacct.usage`, `memory.usage_in_bytes`,
 * `blkio.throttle.io_service_bytes[_recursive]`), and the cgroup mounts of `/proc/mounts`.
 *
 * A cgroup's file is read while the cgroup may be removed, and some hold a word instead of a
 * number (`max`): a figure that is not there is undefined (the table's `-`), never an error.
 *
 * @module
 */

import { type Mount, parseMountTable } from "./mounts.ts";

/** One mount of /proc/mounts whose type is `cgroup` or `cgroup2`. */
export interface CgroupMount {
  mountPoint: string;
  type: "cgroup" | "cgroup2";
  options: string[];
}

/** The cgroup mounts among parsed mounts, in file order; lines without options are skipped. */
export function cgroupMounts(mounts: readonly Mount[]): CgroupMount[] {
  const cgroups: CgroupMount[] = [];
  for (const { mountPoint, type, options } of mounts) {
    if (type !== "cgroup" && type !== "cgroup2") continue;
    if (options.length === 0) continue;
    cgroups.push({ mountPoint, type, options });
  }
  return cgroups;
}

/**
 * The cgroup mounts of a /proc/mounts text, in file order.
 *
 * @throws {ProcParseError} as {@link parseMountTable}
 */
export function parseCgroupMounts(text: string): CgroupMount[] {
  return cgroupMounts(parseMountTable(text));
}

/** Processes listed in a `cgroup.procs` text. */
export function countProcesses(text: string): number {
  let count = 0;
  for (const line of text.split("\n")) if (line.trim() !== "") count++;
  return count;
}

/** A file holding one unsigned number (`memory.current`, `cpuacct.usage`); undefined else. */
export function parseSingleNumber(text: string): number | undefined {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}

/** `usage_usec` of a v2 `cpu.stat`. */
export function parseCpuStatUsec(text: string): number | undefined {
  const match = /^usage_usec (\d+)$/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** Bytes read and written, summed over the devices. */
export interface IoBytes {
  read: number;
  write: number;
}

/** A v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N rios=N …` per device. */
export function parseIoStat(text: string): IoBytes {
  const bytes = { read: 0, write: 0 };
  for (const line of text.split("\n")) {
    for (const [, key, value] of line.matchAll(/\b([rw])bytes=(\d+)/g)) {
      if (key === "r") bytes.read += Number(value);
      else bytes.write += Number(value);
    }
  }
  return bytes;
}

/** A v1 `blkio.throttle.io_service_bytes[_recursive]`: `MAJ:MIN Read N`, `MAJ:MIN Write N` … */
export function parseBlkioServiceBytes(text: string): IoBytes {
  const bytes = { read: 0, write: 0 };
  for (const line of text.split("\n")) {
    const match = /^\d+:\d+ (Read|Write) (\d+)$/.exec(line.trim());
    if (match === null) continue;
    if (match[1] === "Read") bytes.read += Number(match[2]);
    else bytes.write += Number(match[2]);
  }
  return bytes;
}
