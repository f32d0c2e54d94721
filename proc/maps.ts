/**
 * `/proc/<pid>/maps`: one line per mapping of the process's address space,
 * `55d0c4a00000-55d0c4a3a000 r--p 00000000 fd:01 1048601    /usr/bin/deno`: the address range,
 * the permissions (`r`, `w`, `x` or `-`, then `p` private or `s` shared), the offset into the
 * file, the device, the inode (0 for anonymous memory) and the path, which may hold blanks, may
 * end in ` (deleted)`, is a name such as `[heap]` or `[stack]`, or is absent.
 *
 * @module
 */

import { ProcParseError } from "./parse_error.ts";

/** One mapping. */
export interface Mapping {
  /** First address. */
  start: bigint;
  /** The address after the last one. */
  end: bigint;
  /** `rwxp` as the kernel prints it (`r-xp`, `rw-s` …). */
  perms: string;
  /** Offset into the file, in bytes. */
  offset: bigint;
  /** The file's inode; 0 for anonymous memory. */
  inode: number;
  /** The file or the kernel's name (`[heap]`); "" for anonymous memory. */
  path: string;
}

const LINE =
  /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) [0-9a-f]+:[0-9a-f]+ (\d+) *(.*)$/;

/**
 * The mappings of a maps text, in the kernel's order (ascending addresses).
 *
 * @param path the file the text came from, for the error
 * @throws {ProcParseError} on a line that is not a mapping (an empty text is no mappings)
 */
export function parseMaps(text: string, path = "/proc/self/maps"): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const match = LINE.exec(line);
    if (match === null) throw new ProcParseError(path, `"${line}" is not a mapping`);
    mappings.push({
      start: BigInt(`0x${match[1]}`),
      end: BigInt(`0x${match[2]}`),
      perms: match[3]!,
      offset: BigInt(`0x${match[4]}`),
      inode: Number(match[5]),
      path: match[6]!,
    });
  }
  return mappings;
}

/**
 * The mappings of `file` that the process cannot write: its code and read-only data, whose
 * pages the kernel can always read again from the file. Writable mappings (the data the
 * program changed, copies the kernel made) are left out.
 */
export function readOnlyMappingsOf(mappings: readonly Mapping[], file: string): Mapping[] {
  return mappings.filter((mapping) => mapping.path === file && mapping.perms[1] === "-");
}
