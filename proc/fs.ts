/**
 * Reads /proc and /sys files, optionally under another root directory.
 *
 * Every collector reads through a `ProcFs`, so the whole daemon can run against a captured
 * tree (`--root tests/fixtures/<machine>`) as easily as against the live system. Files are read
 * to EOF in a loop: the size `stat` reports for /proc files is 0 or 4096 whatever they hold.
 *
 * @module
 */

import { MethodFailure } from "../failure.ts";
import type { FileChanges } from "./mounts_watch.ts";

const CHUNK_BYTES = 64 * 1024;

/** What one read of a sysctl file asks for (see {@link readChunkBytes}). */
export const SYSCTL_CHUNK_BYTES = 4096;

/**
 * How many bytes one read of `path` asks the kernel for. 64 KiB for a /proc or /sys file, whose
 * text the kernel builds in a buffer of its own whatever the read asks. A sysctl file
 * (`/proc/sys/…`) is different: the kernel allocates and zeroes a buffer of the size each read
 * asks for, so a 64 KiB read made it take 128 KiB of fresh pages, twice per read to EOF (8 µs
 * against 2.7 µs for /proc/sys/kernel/hostname on an x86_64 VM, and page faults in the
 * hypervisor behind it); a value longer than 4 KiB is read in several steps.
 */
export function readChunkBytes(path: string): number {
  return path.startsWith("/proc/sys/") ? SYSCTL_CHUNK_BYTES : CHUNK_BYTES;
}

/** Joins chunks whose total length is known into one buffer. */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const whole = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return whole;
}

/** Why a file could not be read, in words an operator can act on. */
function describeReadError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) {
    return "no such file (this kernel does not provide it)";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `permission denied (lepd runs as uid ${Deno.uid()}; run it as root or grant ` +
      "CAP_DAC_READ_SEARCH)";
  }
  if (error instanceof Deno.errors.NotCapable) {
    return "Deno refused access; start lepd with --allow-all as the README says";
  }
  return (error as Error).message;
}

/**
 * True for a file worth keeping open between reads: a system-wide /proc file such as
 * /proc/stat or /proc/sys/kernel/hostname, which the kernel generates afresh at every read from
 * offset 0 (procps keeps /proc/stat and /proc/meminfo open the same way). Not a file of a process
 * (`/proc/<pid>/…`, `/proc/self/…`), which goes away with the process, and nothing outside /proc.
 * Only the daemon's own code chooses the paths it reads; no request names one.
 */
export function keptOpen(path: string): boolean {
  const top = /^\/proc\/([^/]+)(?:\/|$)/.exec(path)?.[1];
  if (top === undefined) return false;
  return !/^\d+$/.test(top) && top !== "self" && top !== "thread-self";
}

/** Reads files of the kernel's pseudo file systems. */
export class ProcFs {
  readonly #root: string;
  readonly #maxFileBytes: number;
  // ignoreBOM keeps a leading U+FEFF: the file's bytes are returned with nothing removed.
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** Shared buffer of the synchronous reads; the main isolate runs one read at a time. */
  readonly #scratch = new Uint8Array(CHUNK_BYTES);
  /** How many files may be kept open, and the ones that are, by path. */
  readonly #keepOpen: number;
  readonly #kept = new Map<string, Deno.FsFile>();
  readonly #readOnce = new Set<string>();
  /** The watched files (see `options.watches`), each with its text as last read. */
  readonly #watched = new Map<string, { changes: FileChanges; text: string | undefined }>();

  /**
   * @param options.root directory that stands for `/` (default `/`, the live system)
   * @param options.maxFileBytes a file larger than this is an error, never a silent cut
   * @param options.keepOpen how many system-wide /proc files to keep open between reads, each from
   *   its second read on (default 0: every read opens and closes its file); {@link close} closes
   *   them. Only on the live system: under another root the files are ordinary files that may be
   *   replaced, and every read opens its file.
   * @param options.watches opens the watches of files whose text is kept between reads and read
   *   again only when their watch says they changed (the mount table: `liveWatches` in
   *   proc/mounts_watch.ts); {@link close} closes them. Called on the live system only, as
   *   `keepOpen` applies: under another root nothing is watched.
   */
  constructor(
    options: {
      root?: string;
      maxFileBytes: number;
      keepOpen?: number;
      watches?: () => readonly FileChanges[];
    },
  ) {
    this.#root = (options.root ?? "/").replace(/\/+$/, "");
    this.#maxFileBytes = options.maxFileBytes;
    this.#keepOpen = this.#root === "" ? options.keepOpen ?? 0 : 0;
    if (this.#root !== "") return;
    for (const changes of options.watches?.() ?? []) {
      this.#watched.set(changes.path, { changes, text: undefined });
    }
  }

  /** The real path of an absolute path such as `/proc/meminfo` under the root. */
  resolve(path: string): string {
    return this.#root + path;
  }

  /**
   * Reads a whole file as bytes.
   *
   * Synchronous underneath, like every read here: a /proc or /sys file is produced by the
   * kernel from memory in microseconds, while an asynchronous read costs a hop to a thread of
   * the blocking pool and back, and a fresh buffer the garbage collector frees late.
   *
   * @param path absolute path as on the live system, e.g. `/proc/slabinfo`
   * @throws {MethodFailure} naming the file and the reason
   */
  readBytes(path: string): Promise<Uint8Array> {
    const bytes = this.#readSync(path);
    if (!(bytes instanceof Uint8Array)) {
      return Promise.reject(new MethodFailure(`Cannot read "${path}": ${bytes.reason}`));
    }
    // The caller keeps the bytes: a view of the shared buffer is copied out of it.
    return Promise.resolve(bytes.buffer === this.#scratch.buffer ? bytes.slice() : bytes);
  }

  /**
   * Reads a whole file as text; bytes that are not UTF-8 become U+FFFD, so the text is always
   * valid on the wire. Decoded straight from a shared buffer: nothing is allocated but the text.
   *
   * @throws {MethodFailure} naming the file and the reason
   */
  readText(path: string): Promise<string> {
    try {
      return Promise.resolve(this.readTextSync(path));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reads a small file synchronously, or returns undefined when it cannot be read for any
   * reason. Meant for the per-process files read thousands of times a second, where a process
   * that exits between listing and reading is normal, not an error: synchronous reads into a
   * shared buffer cost a few microseconds, an order less than asynchronous ones.
   */
  tryReadTextSync(path: string): string | undefined {
    const text = this.#readText(path);
    return typeof text === "string" ? text : undefined;
  }

  /**
   * Reads a file synchronously, for snapshots the sampler takes.
   *
   * @throws {MethodFailure} naming the file and the reason
   */
  readTextSync(path: string): string {
    const text = this.#readText(path);
    if (typeof text === "string") return text;
    throw new MethodFailure(`Cannot read "${path}": ${text.reason}`);
  }

  /**
   * A file's text: a watched file's as last read while its watch sees no change (asked before
   * the read, so a change during it is seen next time), any other file's read now.
   */
  #readText(path: string): string | { reason: string } {
    const watched = this.#watched.get(path);
    if (watched !== undefined) {
      if (!watched.changes.changed() && watched.text !== undefined) return watched.text;
      watched.text = undefined;
    }
    const bytes = this.#readSync(path);
    if (!(bytes instanceof Uint8Array)) return bytes;
    const text = this.#decoder.decode(bytes);
    if (watched !== undefined) watched.text = text;
    return text;
  }

  /**
   * The one read: a whole file, to EOF, or why it cannot be read. A file that fits the shared
   * buffer is returned as a view of it, valid until the next read; a larger one is copied out
   * chunk by chunk and joined. A system-wide /proc file read a second time is kept open (see
   * {@link keptOpen}) and from then on read again from its start; one whose kept descriptor fails
   * is closed and opened afresh.
   */
  #readSync(path: string): Uint8Array | { reason: string } {
    const kept = this.#kept.get(path);
    if (kept !== undefined) {
      try {
        kept.seekSync(0, Deno.SeekMode.Start);
        return this.#readToEnd(kept, readChunkBytes(path));
      } catch {
        this.#kept.delete(path);
        kept.close();
      }
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.resolve(path), { read: true });
    } catch (error) {
      return { reason: describeReadError(error) };
    }
    const keep = this.#kept.size < this.#keepOpen && keptOpen(path) && this.#readAgain(path);
    try {
      const bytes = this.#readToEnd(file, readChunkBytes(path));
      if (keep && bytes instanceof Uint8Array) this.#kept.set(path, file);
      return bytes;
    } catch (error) {
      return { reason: describeReadError(error) };
    } finally {
      if (!this.#kept.has(path)) file.close();
    }
  }

  /**
   * True at the second read of a path: a file read once (a fact read at start, a probe) is not
   * kept, so the kernel does not hold its buffers for nothing. At most `keepOpen` paths are
   * remembered as read once.
   */
  #readAgain(path: string): boolean {
    if (this.#readOnce.delete(path)) return true;
    if (this.#readOnce.size < this.#keepOpen) this.#readOnce.add(path);
    return false;
  }

  /**
   * Reads an open file from its current offset to EOF, at most `chunk` bytes a read (see
   * {@link #readSync} and {@link readChunkBytes}).
   */
  #readToEnd(file: Deno.FsFile, chunk: number): Uint8Array | { reason: string } {
    const scratch = this.#scratch;
    const chunks: Uint8Array[] = [];
    let filled = 0;
    let total = 0;
    while (true) {
      if (filled === scratch.length) {
        chunks.push(scratch.slice());
        filled = 0;
      }
      // subarray stops at the scratch buffer's end by itself.
      const count = file.readSync(scratch.subarray(filled, filled + chunk));
      if (count === null || count === 0) break;
      filled += count;
      total += count;
      if (total > this.#maxFileBytes) {
        return { reason: `larger than ${this.#maxFileBytes} bytes (--max-response-bytes)` };
      }
    }
    if (chunks.length === 0) return scratch.subarray(0, filled);
    chunks.push(scratch.slice(0, filled));
    return concatBytes(chunks, total);
  }

  /**
   * Closes the files kept open, and the watches; a later read opens the files again, and reads
   * a watched file every time.
   */
  close(): void {
    for (const file of this.#kept.values()) file.close();
    this.#kept.clear();
    this.#readOnce.clear();
    for (const { changes } of this.#watched.values()) changes.close();
    this.#watched.clear();
  }

  /**
   * Names in a directory, e.g. the pids under `/proc`.
   *
   * @throws {MethodFailure} naming the directory and the reason
   */
  readDirNames(path: string): string[] {
    try {
      return Array.from(Deno.readDirSync(this.resolve(path)), (entry) => entry.name);
    } catch (error) {
      throw new MethodFailure(`Cannot list "${path}": ${describeReadError(error)}`);
    }
  }

  /** Names in a directory, or undefined when it cannot be listed (a process that exited). */
  tryReadDirNames(path: string): string[] | undefined {
    try {
      return this.readDirNames(path);
    } catch {
      return undefined;
    }
  }

  /**
   * Names of the subdirectories of a directory (child cgroups), or an empty list when it
   * cannot be listed (a cgroup removed meanwhile).
   */
  subdirectoryNames(path: string): string[] {
    try {
      const names: string[] = [];
      for (const entry of Deno.readDirSync(this.resolve(path))) {
        if (entry.isDirectory) names.push(entry.name);
      }
      return names;
    } catch {
      return [];
    }
  }

  /** True when the path exists (and may be looked up); false otherwise. */
  exists(path: string): boolean {
    try {
      Deno.statSync(this.resolve(path));
      return true;
    } catch {
      return false;
    }
  }

  /** Modification time of a file in milliseconds, or undefined when it does not exist. */
  modifiedMs(path: string): number | undefined {
    try {
      return Deno.statSync(this.resolve(path)).mtime?.getTime();
    } catch {
      return undefined;
    }
  }
}
