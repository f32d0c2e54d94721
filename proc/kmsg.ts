/**
 * `/dev/kmsg`: the kernel log, one record a line, `prio,seq,ts_usec,flags[,…];message`, with
 * ` KEY=value` dictionary lines after a record, and every byte below 0x20, from 0x7f on and `\`
 * of a message escaped as `\xNN`.
 *
 * A line that is not a record header gives undefined: kmsg is a stream read in pieces, and a
 * reader must go on past what it cannot read (a cut first line, a dictionary line).
 *
 * @module
 */

/** One record of /dev/kmsg: `prio,seq,ts_usec,flags[,…];message`. */
export interface KmsgRecord {
  /** Syslog priority: facility × 8 + level. */
  priority: number;
  sequence: number;
  /** Microseconds since boot. */
  timestampUs: number;
  /** The message as kmsg escapes it (ASCII, `\xNN` escapes). */
  message: Uint8Array;
}

const SEMICOLON = 0x3b;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const BACKSLASH = 0x5c;
const latin1 = new TextDecoder("latin1");

/**
 * Parses the first line of a kmsg record (without its newline).
 *
 * @returns undefined for a line that is not a record header (continuation lines start with a
 *   space and are not records either)
 */
export function parseKmsgLine(line: Uint8Array): KmsgRecord | undefined {
  if (line.length === 0 || line[0] === SPACE) return undefined;
  const semicolon = line.indexOf(SEMICOLON);
  if (semicolon < 0) return undefined;
  const [priority, sequence, timestampUs] = latin1.decode(line.subarray(0, semicolon)).split(",")
    .map((field) => /^\d+$/.test(field) ? Number(field) : NaN);
  if (
    priority === undefined || sequence === undefined || timestampUs === undefined ||
    Number.isNaN(priority) || Number.isNaN(sequence) || Number.isNaN(timestampUs)
  ) {
    return undefined;
  }
  return { priority, sequence, timestampUs, message: line.subarray(semicolon + 1) };
}

function hexDigit(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** The raw bytes of a kmsg message: `\xNN` escapes decoded. */
export function unescapeKmsg(message: Uint8Array): Uint8Array {
  if (!message.includes(BACKSLASH)) return message;
  const bytes = new Uint8Array(message.length);
  let length = 0;
  for (let index = 0; index < message.length; index++) {
    const byte = message[index]!;
    const high = hexDigit(message[index + 2]);
    const low = hexDigit(message[index + 3]);
    if (byte === BACKSLASH && message[index + 1] === 0x78 && high >= 0 && low >= 0) {
      bytes[length++] = high * 16 + low;
      index += 3;
    } else {
      bytes[length++] = byte;
    }
  }
  return bytes.subarray(0, length);
}

/**
 * Splits a stream of kmsg bytes into record texts: a header line starts a record, lines that
 * start with a space are its dictionary and are dropped. Works for one record per chunk
 * (/dev/kmsg) and for arbitrary chunks (a captured file). A record's `message` is a view of
 * the pushed bytes: use it in the callback, before the buffer is reused.
 */
export class KmsgParser {
  #pending = new Uint8Array(0);
  readonly #onRecord: (record: KmsgRecord) => void;

  constructor(onRecord: (record: KmsgRecord) => void) {
    this.#onRecord = onRecord;
  }

  /** Feeds the next bytes; complete lines are parsed at once. */
  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.#pending.length > 0) {
      bytes = new Uint8Array(this.#pending.length + chunk.length);
      bytes.set(this.#pending);
      bytes.set(chunk, this.#pending.length);
    }
    let start = 0;
    while (true) {
      const end = bytes.indexOf(NEWLINE, start);
      if (end < 0) break;
      this.#line(bytes.subarray(start, end));
      start = end + 1;
    }
    this.#pending = bytes.slice(start);
  }

  /** Parses a last line that had no newline (the end of a captured file). */
  end(): void {
    if (this.#pending.length > 0) this.#line(this.#pending);
    this.#pending = new Uint8Array(0);
  }

  #line(line: Uint8Array): void {
    const record = parseKmsgLine(line);
    if (record !== undefined) this.#onRecord(record);
  }
}
