/**
 * The few C library calls Deno has no API for, opened once through FFI and shared: `signal`
 * (SIGUSR1 ignored, main.ts), `syscall` (`ioprio_get`, GetCmdIotop), `statfs` (GetCmdDf and the
 * filesystem metrics), `open`/`read`/`close` with `O_NONBLOCK` (/dev/kmsg, GetCmdDmesg) and
 * `malloc_trim` (after each periodic garbage collection, heap.ts), `madvise` (the start-up pages
 * of the executable handed back, main.ts) and `poll` (the mount table's change events,
 * proc/mounts_watch.ts).
 *
 * Why FFI rather than `node:fs`: the first import of a `node:` module sets up Deno's Node
 * compatibility layer, about 8 MB of resident memory for the life of the process (measured:
 * an idle Deno with FFI open 39.5 MB, the same importing node:fs and node:util 47.0–48.0 MB),
 * and FFI is open anyway for the SIGUSR1 guard. Only the main isolate, which holds every
 * permission, calls these; the network worker cannot (it has no FFI permission).
 *
 * glibc on x86_64 and AArch64 only, as the release archives: elsewhere {@link libc} returns
 * null and the callers say what they cannot do.
 *
 * @module
 */

const SYMBOLS = {
  signal: { parameters: ["i32", "usize"], result: "usize" },
  syscall: { parameters: ["i64", "i64", "i64"], result: "i64" },
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  /** The same `statfs` on a thread of Deno's blocking pool, for mounts that may hang. */
  statfsOffThread: {
    name: "statfs",
    parameters: ["buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "usize", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** glibc's; absent from other C libraries, so optional (null there). */
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
} as const;

/** The opened library's functions. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let opened: Libc | null | undefined;
let openError = "";

/** libc's functions, or null where they cannot be opened (see {@link libcProblem}). */
export function libc(): Libc | null {
  if (opened !== undefined) return opened;
  try {
    if (Deno.build.os !== "linux") throw new Error(`not Linux (${Deno.build.os})`);
    opened = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (error) {
    openError = (error as Error).message;
    opened = null;
  }
  return opened;
}

/** Why {@link libc} returned null; empty when it did not. */
export function libcProblem(): string {
  return openError;
}

/** `errno` of the calling thread, right after a synchronous call that failed. */
export function errno(functions: Libc): number {
  const pointer = functions.__errno_location();
  return pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32();
}

const encoder = new TextEncoder();

/** A path as C takes it: UTF-8 bytes and a terminating NUL, encoded in one allocation. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${text}\0`);
}

/** Linux errno values lepd tells apart. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EAGAIN: 11,
  EACCES: 13,
  EINVAL: 22,
  EPIPE: 32,
} as const;

/** `open(2)` flags (the same on x86_64 and AArch64). */
export const O_RDONLY = 0;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/**
 * `struct statfs` of 64-bit glibc (x86_64 and AArch64 share it): eleven 8-byte fields and
 * spare room, 120 bytes.
 */
export const STATFS_BYTES = 120;

/** The fields of a `struct statfs` that sizes are computed from. */
export interface StatfsFields {
  /** `f_bsize`: the preferred transfer block size. */
  bsize: bigint;
  /** `f_blocks`, `f_bfree`, `f_bavail`: counts of `f_frsize` fragments. */
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  /** `f_frsize`: the fragment size. */
  frsize: bigint;
}

/** Reads a `struct statfs` filled by the kernel. */
export function statfsFields(buffer: Uint8Array): StatfsFields {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const field = (index: number) => view.getBigUint64(index * 8, true);
  // f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_fsid, f_namelen, f_frsize
  return { bsize: field(1), blocks: field(2), bfree: field(3), bavail: field(4), frsize: field(9) };
}

/**
 * Hands the C allocator's free memory back to the system (`malloc_trim(0)`, every arena): the
 * arenas of Deno's and V8's threads keep the pages of what they freed, about 6 MiB of RSS after a
 * 200,000-request load. Does nothing where libc or the function is missing.
 */
export function trimMalloc(): void {
  libc()?.malloc_trim?.(0n);
}

/** `madvise(2)` advice: reclaim these pages now (Linux 5.4+). */
export const MADV_PAGEOUT = 21;

/**
 * Asks the kernel to reclaim the pages of `[start, start + length)` now (`MADV_PAGEOUT`): a
 * clean page of a file is dropped and read again from the file when next touched; a page the
 * process changed goes to swap, or stays where there is none; a page another process maps too
 * is left alone. Nothing a program sees changes, only what stays resident.
 *
 * @returns 0, or the errno of the failure (`EINVAL` on kernels before 5.4), or undefined where
 *   libc cannot be opened
 */
export function pageOut(start: bigint, length: bigint): number | undefined {
  const functions = libc();
  if (functions === null) return undefined;
  const result = functions.madvise(Deno.UnsafePointer.create(start), length, MADV_PAGEOUT);
  return result === 0 ? 0 : errno(functions);
}
