/**
 * `GetCmdDf`: mounted file systems in the layout of busybox `df -h` (docs/protocol.md 3.7), from
 * `/proc/mounts` and `statfs(2)` of each mount point.
 *
 * DEVIATION taken from 3.7: a device name longer than 20 characters is followed by one space
 * on the same line instead of busybox's wrap, whose two-line rows crash LEPV's parser (4.10).
 *
 * @module
 */

import { type MountEntry, MOUNTS_PATH, parseMounts } from "../proc/mounts.ts";
import type { Collector, Schema } from "./collector.ts";
import type { ProcFs } from "../proc/fs.ts";
import { type FsSizes, mountedSizes } from "../sampling/filesystems.ts";

/** The header line, exactly as busybox prints it. */
export const DF_HEADER = "Filesystem                Size      Used Available Use% Mounted on";

/** One row of the report. */
export interface DfEntry {
  device: string;
  mountPoint: string;
  sizes: FsSizes;
}

/** Writes `characters` of `text` as the kernel's octal escapes again (`\040` for a space). */
function escapeCharacters(text: string, characters: RegExp): string {
  return text.replace(
    characters,
    (character) => "\\" + character.charCodeAt(0).toString(8).padStart(3, "0"),
  );
}

const UNITS = ["K", "M", "G", "T", "P", "E"];

/**
 * A size as busybox `df -h` writes it: `0`; below 1024 the plain number; otherwise divided by
 * 1024 until below 1024, with one decimal rounded from the remainder of the last division —
 * carried into the integer when it rounds to 10 — and the unit: `4.0K`, `479.4M`, `18.6G`.
 */
export function humanSize(bytes: bigint): string {
  if (bytes < 1024n) return String(bytes);
  let value = bytes;
  let tenths = 0n;
  let unit = -1;
  // busybox stops at E because a 64-bit size cannot reach 1024 E; a bigint can.
  while (value >= 1024n && unit < UNITS.length - 1) {
    tenths = (value % 1024n * 10n + 512n) / 1024n;
    value /= 1024n;
    unit++;
  }
  if (tenths >= 10n) {
    value++;
    tenths = 0n;
  }
  return `${value}.${tenths}${UNITS[unit]}`;
}

/** `Use%`: used ÷ (used + available), rounded to the nearest integer; 0 when both are 0. */
export function usePercent(sizes: FsSizes): bigint {
  const { usedBytes: used, availableBytes: available } = sizes;
  const whole = used + available;
  return whole === 0n ? 0n : (used * 100n + whole / 2n) / whole;
}

/**
 * One row: device `%-20s` (never wrapped), sizes ` %9s` ×3, ` %3u%%`, space, mount point. The
 * device keeps whitespace escaped, so a row always has the tokens LEPV counts from the left
 * (4.10); the mount point, the last column, keeps only newlines escaped, so a row is one line.
 */
export function formatDfRow(entry: DfEntry): string {
  const { sizes } = entry;
  return escapeCharacters(entry.device, /[ \t\n]/g).padEnd(20) +
    [sizes.totalBytes, sizes.usedBytes, sizes.availableBytes]
      .map((bytes) => " " + humanSize(bytes).padStart(9)).join("") +
    " " + `${usePercent(sizes)}%`.padStart(4) + " " + escapeCharacters(entry.mountPoint, /\n/g);
}

/** The whole text: header and one row per entry, each line ending with a newline. */
export function formatDf(entries: readonly DfEntry[]): string {
  return [DF_HEADER, ...entries.map(formatDfRow)].map((line) => line + "\n").join("");
}

/**
 * The `GetCmdDf` collector: every `/proc/mounts` entry in file order (duplicates kept) except
 * `rootfs` and the {@link BLOCKLESS_TYPES}, whose mount point — under the reader's root —
 * reports blocks. A mount that cannot be stat'ed is left out, never an error.
 *
 * @throws {MethodFailure} when `/proc/mounts` cannot be read or parsed
 */
export const dfCollector: Collector = {
  async collect({ fs }) {
    return formatDf(await dfEntries(fs));
  },
  async json({ fs }) {
    return {
      filesystems: (await dfEntries(fs)).map(({ device, mountPoint, sizes }) => ({
        filesystem: device,
        mounted_on: mountPoint,
        size_bytes: Number(sizes.totalBytes),
        used_bytes: Number(sizes.usedBytes),
        available_bytes: Number(sizes.availableBytes),
        use_pct: Number(usePercent(sizes)),
      })),
    };
  },
  schema: {
    type: "object",
    fields: {
      filesystems: {
        type: "array",
        items: {
          type: "object",
          fields: {
            filesystem: { type: "string" },
            mounted_on: { type: "string" },
            size_bytes: { type: "integer", unit: "B" },
            used_bytes: { type: "integer", unit: "B" },
            available_bytes: { type: "integer", unit: "B" },
            use_pct: { type: "integer", unit: "%" },
          },
        },
      },
    },
  } satisfies Schema,
};

/**
 * The mount table last parsed, with its text. The reader hands back the same text until the
 * kernel reports a change of the table (proc/mounts_watch.ts), so most calls compare one string
 * with itself and parse nothing.
 */
let parsed: { text: string; mounts: MountEntry[] } | undefined;

function mountsOf(text: string): MountEntry[] {
  if (parsed?.text !== text) parsed = { text, mounts: parseMounts(text) };
  return parsed.mounts;
}

/** The rows of `GetCmdDf` (see {@link dfCollector}). */
async function dfEntries(fs: ProcFs): Promise<DfEntry[]> {
  const mounts = mountsOf(fs.readTextSync(MOUNTS_PATH));
  return (await mountedSizes(mounts, (path) => fs.resolve(path))).map(({ mount, sizes }) => ({
    device: mount.device,
    mountPoint: mount.mountPoint,
    sizes,
  }));
}
