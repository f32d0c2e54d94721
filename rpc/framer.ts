/**
 * Finds request boundaries in a TCP byte stream.
 *
 * Clients send JSON values back to back with no delimiter (docs/protocol.md 1.4): LEPV writes
 * `{"method": "GetCmdTop"}` and waits, `nc` users add newlines, and a segment may end at any
 * byte. The framer scans bytes incrementally, remembering bracket nesting and string state
 * between chunks, so each byte is looked at once however the stream is split. A complete value
 * is handed to `JSON.parse`; its meaning is judged elsewhere.
 *
 * @module
 */

/** What the framer found in the bytes given so far. */
export type Frame =
  /** A complete, syntactically valid JSON value, and its text. */
  | { kind: "value"; value: unknown; text: string }
  /**
   * Bytes that are not JSON; nothing after them can be trusted. `text` holds what had arrived
   * of the broken value, when there was any.
   */
  | { kind: "invalid"; reason: string; text?: string }
  /** One value grew past the byte limit before it was complete. */
  | { kind: "oversize"; limit: number };

const enum State {
  /** Between values: whitespace is skipped, the next byte must start a value. */
  Between,
  /** Inside an object or array (possibly inside a string within it). */
  Container,
  /** Inside a top-level string. */
  TopString,
  /** Inside a top-level number or literal, which ends at whitespace or punctuation. */
  Scalar,
  /** After an invalid or oversize frame: the stream is abandoned. */
  Broken,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Whitespace the original skipped between values: space, TAB, LF, VT, FF, CR. */
function isBlank(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** Bytes that may continue a top-level number or literal (`-12.5e3`, `true`, `null`). */
function isScalarByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x41 && byte <= 0x5a) || byte === 0x2b || byte === 0x2d || byte === 0x2e;
}

/** The literal a top-level scalar starting with this byte must spell, if it is one. */
const LITERALS = new Map([[0x74, "true"], [0x66, "false"], [0x6e, "null"]]);

/** True for a byte that can start a number. */
function isNumberStart(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || byte === 0x2d;
}

function describeByte(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `0x${byte.toString(16)}`;
}

/**
 * Incremental splitter of a byte stream into JSON values.
 *
 * ```ts
 * const framer = new JsonFramer({ maxValueBytes: 65536 });
 * framer.push(new TextEncoder().encode('{"method":"Say'));   // []
 * framer.push(new TextEncoder().encode('Hello"} {"meth'));   // [{ kind: "value", ... }]
 * ```
 *
 * Memory is bounded by `maxValueBytes`: only the bytes of the value being assembled are kept,
 * and a value that outgrows the limit ends the stream with an `oversize` frame.
 */
export class JsonFramer {
  readonly #maxValueBytes: number;
  readonly #decoder = new TextDecoder();
  #state = State.Between;
  /** Closing bytes expected for the open brackets, innermost last. */
  #closers: number[] = [];
  #inString = false;
  #escaped = false;
  /** For a top-level `true`, `false` or `null`: the word being spelled, and bytes seen. */
  #literal: string | undefined;
  #scalarLength = 0;
  /** Bytes of the current value that arrived in earlier chunks. */
  #pending = new Uint8Array(0);
  #pendingLength = 0;

  /** @param options.maxValueBytes largest accepted value, in bytes, whitespace around it excluded */
  constructor(options: { maxValueBytes: number }) {
    this.#maxValueBytes = options.maxValueBytes;
  }

  /** True while part of a value has arrived and its end has not (a request in transit). */
  get inValue(): boolean {
    return this.#state !== State.Between && this.#state !== State.Broken;
  }

  /** True once an invalid or oversize frame has been reported. */
  get #broken(): boolean {
    return this.#state === State.Broken;
  }

  /** Scans one chunk and returns every frame it completes, in stream order. */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let valueStart = this.inValue ? 0 : -1;
    for (let i = 0; i < chunk.length && !this.#broken; i++) {
      const byte = chunk[i]!;
      switch (this.#state) {
        case State.Between:
          if (isBlank(byte)) continue;
          valueStart = i;
          if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.#closers.push(byte === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
            this.#state = State.Container;
          } else if (byte === QUOTE) {
            this.#state = State.TopString;
          } else if (isNumberStart(byte) || LITERALS.has(byte)) {
            this.#state = State.Scalar;
            this.#literal = LITERALS.get(byte);
            this.#scalarLength = 1;
          } else {
            this.#fail(frames, `unexpected byte ${describeByte(byte)} where a value should start`);
          }
          break;
        case State.Scalar:
          if (!isScalarByte(byte)) {
            this.#complete(frames, chunk, valueStart, i);
            valueStart = -1;
            i--; // this byte belongs to whatever follows the scalar
          } else if (
            this.#literal !== undefined && this.#literal.charCodeAt(this.#scalarLength++) !== byte
          ) {
            // `garbage`-like words are refused at once instead of waiting for a delimiter.
            this.#fail(frames, `unexpected byte ${describeByte(byte)} in a literal`);
          }
          break;
        case State.TopString:
          if (this.#scanString(byte)) {
            this.#complete(frames, chunk, valueStart, i + 1);
            valueStart = -1;
          }
          break;
        case State.Container:
          if (this.#inString) {
            this.#scanString(byte);
          } else if (byte === QUOTE) {
            this.#inString = true;
          } else if (byte === OPEN_BRACE) {
            this.#closers.push(CLOSE_BRACE);
          } else if (byte === OPEN_BRACKET) {
            this.#closers.push(CLOSE_BRACKET);
          } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
            if (this.#closers.pop() !== byte) {
              const text = this.#partialText(chunk.subarray(valueStart, i + 1));
              this.#fail(frames, `mismatched ${describeByte(byte)}`, text);
            } else if (this.#closers.length === 0) {
              this.#complete(frames, chunk, valueStart, i + 1);
              valueStart = -1;
            }
          }
          break;
      }
      if (valueStart >= 0 && !this.#broken) {
        const inChunk = i + 1 - valueStart;
        if (this.#pendingLength + inChunk > this.#maxValueBytes) {
          this.#state = State.Broken;
          frames.push({ kind: "oversize", limit: this.#maxValueBytes });
        }
      }
    }
    if (valueStart >= 0 && this.inValue) this.#keep(chunk.subarray(valueStart));
    return frames;
  }

  /**
   * Called when the peer will send no more bytes: a trailing number or literal is complete
   * (`42` then EOF), any other unfinished value is invalid.
   */
  end(): Frame[] {
    const frames: Frame[] = [];
    if (this.#state === State.Scalar) {
      this.#complete(frames, new Uint8Array(0), 0, 0);
    } else if (this.inValue) {
      const text = this.#partialText(new Uint8Array(0));
      this.#fail(frames, "the connection ended inside a JSON value", text);
    }
    return frames;
  }

  /** Advances string state by one byte; true when this byte closes the string. */
  #scanString(byte: number): boolean {
    if (this.#escaped) {
      this.#escaped = false;
    } else if (byte === BACKSLASH) {
      this.#escaped = true;
    } else if (byte === QUOTE) {
      this.#inString = false;
      return true;
    }
    return false;
  }

  #keep(bytes: Uint8Array): void {
    const needed = this.#pendingLength + bytes.length;
    if (needed > this.#pending.length) {
      const capacity = Math.min(Math.max(this.#pending.length * 2, 1024), this.#maxValueBytes);
      const grown = new Uint8Array(Math.max(needed, capacity));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }

  #complete(frames: Frame[], chunk: Uint8Array, start: number, end: number): void {
    let bytes = chunk.subarray(start, end);
    if (this.#pendingLength + bytes.length > this.#maxValueBytes) {
      this.#reset();
      this.#state = State.Broken;
      frames.push({ kind: "oversize", limit: this.#maxValueBytes });
      return;
    }
    if (this.#pendingLength > 0) {
      this.#keep(bytes);
      bytes = this.#pending.subarray(0, this.#pendingLength);
    }
    this.#reset();
    const text = this.#decoder.decode(bytes);
    try {
      frames.push({ kind: "value", value: JSON.parse(text), text });
    } catch (error) {
      this.#fail(frames, (error as Error).message, text);
    }
    if (this.#pending.length > 4096) this.#pending = new Uint8Array(0);
  }

  /** The bytes of the value in progress that arrived earlier, then `tail`, as text. */
  #partialText(tail: Uint8Array): string {
    const head = this.#decoder.decode(this.#pending.subarray(0, this.#pendingLength), {
      stream: true,
    });
    return head + this.#decoder.decode(tail);
  }

  #fail(frames: Frame[], reason: string, text?: string): void {
    this.#reset();
    this.#state = State.Broken;
    frames.push(
      text === undefined ? { kind: "invalid", reason } : { kind: "invalid", reason, text },
    );
  }

  #reset(): void {
    this.#state = State.Between;
    this.#closers = [];
    this.#inString = false;
    this.#escaped = false;
    this.#pendingLength = 0;
  }
}
