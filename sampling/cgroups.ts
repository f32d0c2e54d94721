/**
 * The cgroup counters `GetCmdCgtop` turns into rates (methods/cgtop.ts describes the method): the
 * layout (cgroup v1 or v2, found in /proc/mounts or else by the files under /sys/fs/cgroup), the
 * bounded walk of the hierarchies, one reading of every cgroup's figures, and the sampled source
 * of those readings. On v1 the root's I/O is the machine's, from /proc/diskstats.
 *
 * @module
 */

import {
  type CgroupMount,
  countProcesses,
  type IoBytes,
  parseBlkioServiceBytes,
  parseCgroupMounts,
  parseCpuStatUsec,
  parseIoStat,
  parseSingleNumber,
} from "../proc/cgroup.ts";
import { MOUNTS_PATH } from "../proc/mounts.ts";
import { MethodFailure } from "../failure.ts";
import { DISKSTATS_PATH, DISKSTATS_SECTOR_BYTES, parseDiskstats } from "../proc/diskstats.ts";
import type { ProcFs } from "../proc/fs.ts";
import { wholeDisks } from "./diskstats.ts";
import { SampledSource, type SamplingOptions } from "./sampler.ts";

/** Levels below a hierarchy's root that are walked (the root is level 0). */
export const DEFAULT_MAX_DEPTH = 3;

/** Cgroups sampled at most; each costs a directory listing and four reads per second. */
export const DEFAULT_MAX_CGROUPS = 256;

/** Where the hierarchies that give each figure are mounted (paths as on the live system). */
export interface CgroupLayout {
  version: 1 | 2;
  /** Hierarchies whose `cgroup.procs` counts processes, in order of preference. */
  tasks: string[];
  cpu: string | undefined;
  memory: string | undefined;
  io: string | undefined;
}

/** One cgroup at one moment; undefined where the figure is not available. */
export interface CgroupUsage {
  /**
   * Processes directly in the cgroup, from the one hierarchy that counts them (the first of
   * `CgroupLayout.tasks`); undefined for a v1 path that only other hierarchies have.
   */
  tasks: number | undefined;
  /** CPU time used since creation, microseconds (descendants included). */
  cpuUsec: number | undefined;
  memoryBytes: number | undefined;
  /** Bytes read and written since creation (descendants included). */
  readBytes: number | undefined;
  writeBytes: number | undefined;
  /**
   * The v1 root's own blkio counters, kept when its `readBytes`/`writeBytes` come from
   * /proc/diskstats instead: they tell whether this kernel accounts v1 blkio at all.
   */
  blkioReadBytes?: number | undefined;
  blkioWriteBytes?: number | undefined;
}

/** Every sampled cgroup by path relative to the hierarchy roots, in output order. */
export type CgroupSnapshot = Map<string, CgroupUsage>;

/** v1 hierarchies lepd reads, by the mount option that names them. */
const V1_HIERARCHIES = ["name=systemd", "cpuacct", "memory", "blkio"] as const;

function v1Layout(roots: Map<string, string>): CgroupLayout | undefined {
  const tasks = V1_HIERARCHIES.flatMap((name) => roots.get(name) ?? []);
  if (tasks.length === 0) return undefined;
  return {
    version: 1,
    tasks: [...new Set(tasks)],
    cpu: roots.get("cpuacct"),
    memory: roots.get("memory"),
    io: roots.get("blkio"),
  };
}

function v2Layout(root: string): CgroupLayout {
  return { version: 2, tasks: [root], cpu: root, memory: root, io: root };
}

/**
 * The layout from the cgroup mounts: v1 when a v1 hierarchy holds `cpuacct`, `memory` or
 * `blkio` (a v2 mount beside them has none of those controllers), else v2 when there is a
 * cgroup2 mount, else v1 with only `name=systemd` (processes without figures).
 */
export function layoutFromMounts(mounts: readonly CgroupMount[]): CgroupLayout | undefined {
  const v1Roots = new Map<string, string>();
  for (const mount of mounts) {
    if (mount.type !== "cgroup") continue;
    for (const name of V1_HIERARCHIES) {
      if (mount.options.includes(name) && !v1Roots.has(name)) v1Roots.set(name, mount.mountPoint);
    }
  }
  const unified = mounts.find((mount) => mount.type === "cgroup2");
  const hasV1Controller = ["cpuacct", "memory", "blkio"].some((name) => v1Roots.has(name));
  if (!hasV1Controller && unified !== undefined) return v2Layout(unified.mountPoint);
  return v1Layout(v1Roots);
}

/** The layout from the files of the usual mount point, for a /proc/mounts that names none. */
function layoutFromFiles(exists: (path: string) => boolean): CgroupLayout | undefined {
  if (exists("/sys/fs/cgroup/cgroup.controllers")) return v2Layout("/sys/fs/cgroup");
  const roots = new Map<string, string>();
  const directories = {
    "name=systemd": "systemd",
    cpuacct: "cpuacct",
    memory: "memory",
    blkio: "blkio",
  };
  for (const [name, directory] of Object.entries(directories)) {
    const root = `/sys/fs/cgroup/${directory}`;
    if (exists(`${root}/cgroup.procs`)) roots.set(name, root);
  }
  return v1Layout(roots);
}

/**
 * Finds the cgroup layout of the machine (or fixture tree).
 *
 * @throws {MethodFailure} when there is no cgroup file system at all
 */
export function detectCgroupLayout(fs: ProcFs): CgroupLayout {
  const mounts = fs.tryReadTextSync(MOUNTS_PATH);
  const layout = (mounts === undefined ? undefined : layoutFromMounts(parseCgroupMounts(mounts))) ??
    layoutFromFiles((path) => fs.exists(path));
  if (layout === undefined) {
    throw new MethodFailure(
      `Cannot find control groups: "/proc/mounts" lists no cgroup or cgroup2 mount and ` +
        `"/sys/fs/cgroup" holds no hierarchy`,
    );
  }
  return layout;
}

function cgroupFile(root: string, path: string, file: string): string {
  return `${root}${path === "/" ? "" : path}/${file}`;
}

/**
 * Reads one cgroup; undefined when it has vanished (no hierarchy lists its processes).
 */
export function readCgroupUsage(
  fs: ProcFs,
  layout: CgroupLayout,
  path: string,
): CgroupUsage | undefined {
  // Tasks from the first hierarchy only; the others tell whether the path exists at all.
  let tasks: number | undefined;
  let exists = false;
  for (const [index, root] of layout.tasks.entries()) {
    const procs = fs.tryReadTextSync(cgroupFile(root, path, "cgroup.procs"));
    if (procs !== undefined) {
      if (index === 0) tasks = countProcesses(procs);
      exists = true;
      break;
    }
  }
  if (!exists) return undefined;
  const read = (root: string | undefined, file: string) =>
    root === undefined ? undefined : fs.tryReadTextSync(cgroupFile(root, path, file));
  let cpuUsec: number | undefined;
  let memoryText: string | undefined;
  let io: IoBytes | undefined;
  if (layout.version === 2) {
    const cpuStat = read(layout.cpu, "cpu.stat");
    cpuUsec = cpuStat === undefined ? undefined : parseCpuStatUsec(cpuStat);
    memoryText = read(layout.memory, "memory.current");
    const ioStat = read(layout.io, "io.stat");
    io = ioStat === undefined ? undefined : parseIoStat(ioStat);
  } else {
    const usageText = read(layout.cpu, "cpuacct.usage");
    const usageNs = usageText === undefined ? undefined : parseSingleNumber(usageText);
    cpuUsec = usageNs === undefined ? undefined : usageNs / 1000;
    memoryText = read(layout.memory, "memory.usage_in_bytes");
    const blkio = read(layout.io, "blkio.throttle.io_service_bytes_recursive") ??
      read(layout.io, "blkio.throttle.io_service_bytes");
    io = blkio === undefined ? undefined : parseBlkioServiceBytes(blkio);
  }
  return {
    tasks,
    cpuUsec,
    memoryBytes: memoryText === undefined ? undefined : parseSingleNumber(memoryText),
    readBytes: io?.read,
    writeBytes: io?.write,
  };
}

/** Orders paths as a tree: a cgroup before its children, siblings by name. */
export function compareCgroupPaths(a: string, b: string): number {
  const left = a === "/" ? [] : a.split("/");
  const right = b === "/" ? [] : b.split("/");
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const order = left[index]! < right[index]! ? -1 : left[index]! > right[index]! ? 1 : 0;
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

/** Bounds of the walk. */
export interface WalkBounds {
  maxDepth: number;
  maxCgroups: number;
}

/**
 * Paths of the cgroups to sample: level by level from `/`, each level's children the union over
 * the hierarchies, bounded; returned in tree order.
 *
 * @param children the child names of a path (all hierarchies together)
 */
export function walkCgroupPaths(
  children: (path: string) => string[],
  bounds: WalkBounds,
): string[] {
  const paths: string[] = [];
  let level = ["/"];
  for (let depth = 0; level.length > 0 && paths.length < bounds.maxCgroups; depth++) {
    const next: string[] = [];
    for (const path of level) {
      if (paths.length >= bounds.maxCgroups) break;
      paths.push(path);
      if (depth >= bounds.maxDepth) continue;
      for (const name of [...new Set(children(path))].sort()) {
        next.push(`${path === "/" ? "" : path}/${name}`);
      }
    }
    level = next;
  }
  return paths.sort(compareCgroupPaths);
}

/** Takes one snapshot of every cgroup within the bounds. */
export function readCgroupSnapshot(fs: ProcFs, bounds: WalkBounds): CgroupSnapshot {
  const layout = detectCgroupLayout(fs);
  const roots = [...new Set([...layout.tasks, layout.cpu, layout.memory, layout.io])]
    .filter((root) => root !== undefined);
  const paths = walkCgroupPaths(
    (path) => roots.flatMap((root) => fs.subdirectoryNames(path === "/" ? root : `${root}${path}`)),
    bounds,
  );
  const snapshot: CgroupSnapshot = new Map();
  for (const path of paths) {
    const usage = readCgroupUsage(fs, layout, path);
    if (usage === undefined) continue;
    if (path === "/" && layout.version === 1) {
      const disks = readDiskBytes(fs);
      if (disks !== undefined) {
        usage.blkioReadBytes = usage.readBytes;
        usage.blkioWriteBytes = usage.writeBytes;
        usage.readBytes = disks.read;
        usage.writeBytes = disks.write;
      }
    }
    snapshot.set(path, usage);
  }
  return snapshot;
}

/**
 * Bytes read from and written to every whole disk since boot (/proc/diskstats sectors of the
 * devices in /sys/block), what the kernel's v2 root `io.stat` sums; undefined without the file.
 */
export function readDiskBytes(fs: ProcFs): IoBytes | undefined {
  const text = fs.tryReadTextSync(DISKSTATS_PATH);
  if (text === undefined) return undefined;
  const stats = parseDiskstats(text);
  const sysBlock = fs.tryReadDirNames("/sys/block");
  const disks = wholeDisks(
    [...stats.keys()],
    sysBlock === undefined ? undefined : new Set(sysBlock),
  );
  const bytes = { read: 0, write: 0 };
  for (const [name, counters] of stats) {
    if (!disks.has(name)) continue;
    bytes.read += counters.readSectors * DISKSTATS_SECTOR_BYTES;
    bytes.write += counters.writeSectors * DISKSTATS_SECTOR_BYTES;
  }
  return bytes;
}

/** Sampling and walk options of {@link cgroupSource}. */
export interface CgroupSourceOptions extends SamplingOptions {
  /** Levels below the root to walk (default {@link DEFAULT_MAX_DEPTH}). */
  maxDepth?: number;
  /** Cgroups to sample at most (default {@link DEFAULT_MAX_CGROUPS}). */
  maxCgroups?: number;
}

/** The sampled cgroup counters that `GetCmdCgtop` turns into rates. */
export function cgroupSource(
  fs: ProcFs,
  options: CgroupSourceOptions = {},
): SampledSource<CgroupSnapshot> {
  const bounds = {
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxCgroups: options.maxCgroups ?? DEFAULT_MAX_CGROUPS,
  };
  return new SampledSource(() => readCgroupSnapshot(fs, bounds), options, "demand");
}
