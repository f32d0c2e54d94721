/**
 * `GetCmdDmesg` (docs/protocol.md 3.8): the most recent kernel-log records in the raw layout of
 * busybox `dmesg` and util-linux `dmesg -r`:
 *
 * ```
 * <6>[  453.070753] validate_nla: 178 callbacks suppressed
 * <14>[ 1909.919373] a message user space wrote to /dev/kmsg
 * ```
 *
 * `<N>` is the whole syslog priority, facility × 8 + level, as the kernel's syslog(2) buffer
 * and `dmesg -r` print it (kernel messages have facility 0, so `<6>`; user-space messages
 * written to /dev/kmsg usually `<14>`). The timestamp is seconds since boot, `%5lu.%06lu`.
 *
 * The records come from /dev/kmsg, opened non-blocking and read record by record until the
 * kernel answers EAGAIN (a regular file standing for /dev/kmsg under a fixture root ends at
 * EOF instead). Deno's own `open` has no O_NONBLOCK, and a blocking read at the end of
 * /dev/kmsg would wait for the next kernel message forever; libc's `open` (libc.ts) takes the flag.
 *
 * Text as `dmesg` shows it: kmsg escapes every byte below 0x20, from 0x7f on and `\` as `\xNN`;
 * these are decoded, a newline inside a record starts another line with the same prefix (as the
 * syslog buffer prints it), a TAB is kept as `dmesg -r` prints it, valid UTF-8 is kept, and
 * other control bytes and invalid UTF-8 stay `\xNN`. The ` KEY=value` lines after a record (device properties) are dropped.
 *
 * The text is the newest records that fit in `maxBytes` (UTF-8), cut before a record, oldest
 * dropped; the original returned 2 KiB, nothing parses it.
 *
 * @module
 */

import {
  cString,
  ERRNO,
  errno,
  type Libc,
  libc,
  libcProblem,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
} from "../libc.ts";
import { KmsgParser, type KmsgRecord, unescapeKmsg } from "../proc/kmsg.ts";
import { MethodFailure } from "../failure.ts";
import type { ProcFs } from "../proc/fs.ts";
import type { Collector } from "./collector.ts";

/** Where the kernel log is read (under the `ProcFs` root). */
export const KMSG_PATH = "/dev/kmsg";

/** Default bound of the text (UTF-8 bytes). */
export const DEFAULT_DMESG_MAX_BYTES = 64 * 1024;

/** A read must have room for the largest record (CONSOLE_EXT_LOG_MAX, 8 KiB) or fails EINVAL. */
const READ_BUFFER_BYTES = 16 * 1024;

/**
 * Reading stops after this long even without EAGAIN, so a kernel that logs faster than lepd
 * reads (a flood) cannot keep a request busy; the text then ends at the last record read.
 */
const MAX_READ_MS = 1000;

const NEWLINE = 0x0a;
const TAB = 0x09;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Length of the UTF-8 sequence a lead byte announces, 0 for a byte that cannot lead one. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function escapeByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * The lines of a message as `dmesg` prints them: split at newlines; control bytes and bytes
 * that are not valid UTF-8 written `\xNN`; everything else as text.
 */
export function messageLines(raw: Uint8Array): string[] {
  const lines: string[] = [];
  let line = "";
  for (let index = 0; index < raw.length;) {
    const byte = raw[index]!;
    if (byte === NEWLINE) {
      lines.push(line);
      line = "";
      index++;
    } else if (byte === TAB) {
      // util-linux prints white space as it is (`isspace`); a TAB is kept. CR, VT and FF stay
      // escaped: a raw CR would make a line-oriented client misread where a line starts.
      line += "\t";
      index++;
    } else if (byte < 0x20 || byte === 0x7f) {
      line += escapeByte(byte);
      index++;
    } else if (byte < 0x80) {
      line += String.fromCharCode(byte);
      index++;
    } else {
      const length = sequenceLength(byte);
      let text: string | undefined;
      if (length > 0 && index + length <= raw.length) {
        try {
          text = strictUtf8.decode(raw.subarray(index, index + length));
        } catch {
          text = undefined;
        }
      }
      if (text === undefined) {
        line += escapeByte(byte);
        index++;
      } else {
        line += text;
        index += length;
      }
    }
  }
  lines.push(line);
  return lines;
}

/** `<priority>[seconds.micros] ` as the syslog buffer prefixes every line of a record. */
export function recordPrefix(record: Pick<KmsgRecord, "priority" | "timestampUs">): string {
  const seconds = Math.floor(record.timestampUs / 1_000_000);
  const micros = record.timestampUs % 1_000_000;
  return `<${record.priority}>[${String(seconds).padStart(5)}.${String(micros).padStart(6, "0")}] `;
}

/** The text of one record: one prefixed line per line of its message, each ending in `\n`. */
export function formatKmsgRecord(record: KmsgRecord): string {
  const prefix = recordPrefix(record);
  return messageLines(unescapeKmsg(record.message)).map((line) => `${prefix}${line}\n`).join("");
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Keeps the newest record texts whose total is at most `maxBytes` UTF-8 bytes; a record that
 * does not fit whole is dropped with everything older.
 */
export class RecordTail {
  readonly #maxBytes: number;
  #texts: string[] = [];
  #sizes: number[] = [];
  #start = 0;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Adds the newest record. */
  push(text: string): void {
    const size = utf8Length(text);
    this.#texts.push(text);
    this.#sizes.push(size);
    this.#bytes += size;
    while (this.#bytes > this.#maxBytes && this.#start < this.#texts.length) {
      this.#bytes -= this.#sizes[this.#start]!;
      this.#start++;
    }
    // Forget dropped records now and then, so a long log costs memory for the tail only.
    if (this.#start > 4096 && this.#start * 2 > this.#texts.length) {
      this.#texts = this.#texts.slice(this.#start);
      this.#sizes = this.#sizes.slice(this.#start);
      this.#start = 0;
    }
  }

  /** The kept records, oldest first. */
  text(): string {
    return this.#texts.slice(this.#start).join("");
  }
}

/** The newest records of a whole kmsg text (a captured file), formatted and bounded. */
export function formatKmsg(bytes: Uint8Array, options: { maxBytes: number }): string {
  const tail = new RecordTail(options.maxBytes);
  const parser = new KmsgParser((record) => tail.push(formatKmsgRecord(record)));
  parser.push(bytes);
  parser.end();
  return tail.text();
}

/** A failed call of libc on /dev/kmsg, with its errno as a name (`ENOENT` …). */
class KmsgError extends Error {
  readonly code: string | undefined;
  constructor(call: string, number: number) {
    const code = Object.entries(ERRNO).find(([, value]) => value === number)?.[0];
    super(`${call} failed: ${code ?? `errno ${number}`}`);
    this.code = code;
  }
}

/** libc, or a failure that says why the kernel log is out of reach. */
function kmsgLibc(): Libc {
  const functions = libc();
  if (functions === null) {
    throw new MethodFailure(
      `Cannot read "${KMSG_PATH}": reading it needs libc through FFI: ${libcProblem()}`,
    );
  }
  return functions;
}

/** Why /dev/kmsg cannot be opened, as one line with a remedy. */
function describeOpenError(fs: ProcFs, error: KmsgError): string {
  const { code } = error;
  if (code === "ENOENT") return "no such file (this kernel or container has no kernel log device)";
  if (code === "EPERM" || code === "EACCES") {
    const restricted = fs.tryReadTextSync("/proc/sys/kernel/dmesg_restrict")?.trim() === "1";
    const uid = Deno.uid();
    return `the kernel log is restricted${
      restricted ? " (kernel.dmesg_restrict = 1)" : ""
    } and lepd (uid ${uid}) lacks CAP_SYSLOG; grant it CAP_SYSLOG ` +
      `(AmbientCapabilities=CAP_SYSLOG in its systemd unit)${
        uid === 0 ? "" : " or run it as root"
      }`;
  }
  return error.message;
}

function openKmsg(fs: ProcFs): number {
  const functions = kmsgLibc();
  const fd = functions.open(cString(fs.resolve(KMSG_PATH)), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const error = new KmsgError("open", errno(functions));
    throw new MethodFailure(`Cannot read "${KMSG_PATH}": ${describeOpenError(fs, error)}`);
  }
  return fd;
}

function closeKmsg(fd: number): void {
  kmsgLibc().close(fd);
}

/**
 * Reads every record available now from an open kmsg descriptor, without waiting for new ones,
 * and hands the bytes to the parser. Each read returns one record.
 *
 * @throws {MethodFailure} when the log cannot be read
 */
function readAvailable(fd: number, parser: KmsgParser): void {
  const functions = kmsgLibc();
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  const deadline = performance.now() + MAX_READ_MS;
  while (performance.now() < deadline) {
    const count = Number(functions.read(fd, buffer, BigInt(buffer.length)));
    if (count < 0) {
      const number = errno(functions);
      if (number === ERRNO.EAGAIN) break;
      // Records were overwritten since the last read; the next read goes on at the oldest
      // record still there.
      if (number === ERRNO.EPIPE || number === ERRNO.EINTR) continue;
      throw new MethodFailure(
        `Cannot read "${KMSG_PATH}": ${new KmsgError("read", number).message}`,
      );
    }
    if (count === 0) break;
    parser.push(buffer.subarray(0, count));
  }
  parser.end();
}

/** The `GetCmdDmesg` collector; `close()` releases the kernel log it keeps open. */
export interface DmesgCollector extends Collector {
  close(): Promise<void>;
}

interface OpenLog {
  fd: number;
  /** The real path it was opened at (the root of the `ProcFs` could differ between calls). */
  path: string;
  tail: RecordTail;
  parser: KmsgParser;
}

/**
 * The `GetCmdDmesg` collector. The first request reads the whole log; /dev/kmsg then stays
 * open, so later requests read only the records logged since and answer from the kept tail
 * (formatted once). A read error closes it; the next request starts again.
 *
 * @param options.maxBytes bound of the text in UTF-8 bytes ({@link DEFAULT_DMESG_MAX_BYTES} is
 *   the daemon's default)
 */
export function dmesgCollector(options: { maxBytes: number }): DmesgCollector {
  let log: OpenLog | undefined;
  const closeLog = () => {
    if (log !== undefined) closeKmsg(log.fd);
    log = undefined;
  };
  const open = (fs: ProcFs): OpenLog => {
    const path = fs.resolve(KMSG_PATH);
    if (log?.path === path) return log;
    closeLog();
    const tail = new RecordTail(options.maxBytes);
    const parser = new KmsgParser((record) => tail.push(formatKmsgRecord(record)));
    log = { fd: openKmsg(fs), path, tail, parser };
    return log;
  };
  return {
    collect({ fs }) {
      return Promise.try(() => {
        const current = open(fs);
        try {
          readAvailable(current.fd, current.parser);
        } catch (error) {
          closeLog();
          throw error;
        }
        return current.tail.text();
      });
    },
    probe({ fs }) {
      return Promise.try(() => {
        try {
          closeKmsg(openKmsg(fs));
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      });
    },
    close() {
      return Promise.try(closeLog);
    },
  };
}
