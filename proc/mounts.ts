/**
 * `/proc/mounts` (and `/proc/<pid>/mounts`, the same layout): one mount per line,
 * `device mountpoint type options dump pass`, the kernel's octal escapes in the fields undone
 * here and nowhere else.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** Where the kernel lists the mounts of lepd's mount namespace. */
export const MOUNTS_PATH = "/proc/mounts";

/** One line of `/proc/mounts`, with the kernel's escapes undone. */
export interface Mount {
  device: string;
  mountPoint: string;
  /** File system type, e.g. `ext4`; empty when the line has no third field. */
  type: string;
  /** Mount options split at commas (`rw`, `relatime`, `cpuacct` …); empty without a fourth field. */
  options: string[];
}

/** The three fields `GetCmdDf` and the metrics show of a mount. */
export type MountEntry = Pick<Mount, "device" | "mountPoint" | "type">;

/**
 * Undoes the octal escapes the kernel writes into `/proc/mounts` fields for space, tab,
 * newline and backslash (`\040`, `\011`, `\012`, `\134`).
 */
export function decodeMountField(field: string): string {
  // Most fields hold no escape: they are returned as they are, with no new string.
  if (!field.includes("\\")) return field;
  return field.replace(
    /\\([0-7]{3})/g,
    (_escape, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/**
 * Parses `/proc/mounts`: one {@link Mount} per line of at least two fields, in file order
 * (duplicates kept); shorter lines are skipped. An empty text is an empty table (a fixture
 * tree's; a live mount namespace always has a root).
 *
 * @throws {ProcParseError} when the text holds something but no mount line at all
 */
export function parseMountTable(text: string): Mount[] {
  return mountLines(text, (device, mountPoint, type, options) => ({
    device,
    mountPoint,
    type,
    options: options === undefined || options === "" ? [] : options.split(","),
  }));
}

/**
 * {@link parseMountTable} without the options: device, mount point and type of each line, the
 * options never split.
 *
 * @throws {ProcParseError} as {@link parseMountTable}
 */
export function parseMounts(text: string): MountEntry[] {
  return mountLines(text, (device, mountPoint, type) => ({ device, mountPoint, type }));
}

/**
 * The one walk over the lines of both parsers: each line of at least two fields, its device and
 * mount point decoded, given to `entry` with its raw type and options fields.
 */
function mountLines<T>(
  text: string,
  entry: (device: string, mountPoint: string, type: string, options: string | undefined) => T,
): T[] {
  const mounts: T[] = [];
  for (const line of text.split("\n")) {
    const [device, mountPoint, type, options] = line.split(" ");
    if (device === undefined || device === "" || mountPoint === undefined) continue;
    mounts.push(entry(decodeMountField(device), decodeMountField(mountPoint), type ?? "", options));
  }
  if (mounts.length === 0 && text.trim() !== "") {
    throw new ProcParseError(MOUNTS_PATH, "no line has a device and a mount point");
  }
  return mounts;
}
