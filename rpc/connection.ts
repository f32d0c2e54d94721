/**
 * Serves one client connection: reads bytes, frames requests, answers each in order.
 *
 * A connection handles one request at a time and reads no further while it is being answered
 * (one read of at most 64 KiB stays outstanding, so a client that resets or closes is noticed),
 * so a client that pipelines requests gets its answers in order and TCP flow control, not
 * lepd's memory, holds whatever it sends meanwhile. Connections stay open after a response
 * (LEPV reuses them forever); they end when the client closes, on invalid JSON, on an oversize
 * request, on a timeout, or at shutdown.
 *
 * A batch's replies are written as each is ready (the bytes of the array are the same as one
 * write of the whole array), so a client that stops reading blocks the next item instead of
 * making lepd hold the rest; a batch item starts only while its client is still there; and
 * the replies of one request may pass {@link ConnectionContext.maxResponseBytes} only with
 * their first reply, later items getting an error without being run.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { encodeReply, type Outcome, type Reply } from "./encoder.ts";
import { type Frame, JsonFramer } from "./framer.ts";
import { arrayElements } from "./members.ts";
import type { MethodOutcome } from "./messages.ts";
import { ErrorCode, ErrorMessage } from "./protocol.ts";
import { type Call, type Dialect, validateRequest } from "./request.ts";

/** Bytes of replies waiting to be written, shared by every connection of a server. */
export class ResponseBudget {
  readonly limit: number;
  #held = 0;

  /** @param limit the most bytes held at once */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Takes `bytes` when they fit under the limit; false (nothing taken) otherwise. */
  reserve(bytes: number): boolean {
    if (this.#held + bytes > this.limit) return false;
    this.#held += bytes;
    return true;
  }

  /** Gives back what {@link reserve} took. */
  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

/** Bounds and collaborators of a connection. */
export interface ConnectionContext {
  maxRequestBytes: number;
  maxBatch: number;
  idleTimeoutMs: number;
  /** A request stalled midway, or a response the client read nothing of, for this long ends it. */
  stallTimeoutMs: number;
  /** Bytes one request's replies may take beyond its first reply (a batch counts as one). */
  maxResponseBytes: number;
  /** Bytes of replies all connections together may hold while they are written. */
  budget: ResponseBudget;
  hasMethod(name: string): boolean;
  /** Runs a registered method in the collectors' isolate (as a JSON text for format `json`). */
  call(method: string, format?: "json"): Promise<MethodOutcome>;
  log: Logger;
}

const READ_BUFFER_BYTES = 64 * 1024;
/** Largest single write: the stall timer restarts after each one that makes progress. */
const WRITE_CHUNK_BYTES = 256 * 1024;
/** What the read-ahead resolves to when the read failed. */
const AHEAD_FAILED = -1;
const textEncoder = new TextEncoder();
const OPEN_BATCH = textEncoder.encode("[");
const NEXT_IN_BATCH = textEncoder.encode(",");
const CLOSE_BATCH = textEncoder.encode("]\n");

/** One client connection. */
export class Connection {
  readonly #conn: Deno.Conn;
  readonly #context: ConnectionContext;
  readonly #peer: string;
  readonly #framer: JsonFramer;
  /**
   * The one timer of the connection, re-armed lazily: arming only moves {@link #deadline}, and
   * a timer that fires before it starts another for the rest, so a request costs no timer call.
   */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending timer fires (performance.now()). */
  #timerAt = 0;
  #timerKind: "idle" | "stall" | undefined;
  /** When the armed timeout expires (performance.now()). */
  #deadline = 0;
  #busy = false;
  readonly #buffer = new Uint8Array(READ_BUFFER_BYTES);
  /** The read that watches the client while a request is answered. */
  #readAhead: Promise<number | null> | undefined;
  /** The client closed its sending side (it may still read: `nc -q1`). */
  #peerEnded = false;
  /** The client is gone: its side reset the connection. */
  #peerGone = false;
  /** Why the read-ahead failed (it resolves to {@link AHEAD_FAILED}, never rejects). */
  #aheadError: unknown;
  /** When the connection last became idle (performance.now()), while it is idle. */
  #idleSince: number | undefined;
  /** Dialect of the latest request, which a parse error after it is answered in. */
  #dialect: Dialect | undefined;
  #closing = false;
  #closed = false;

  /**
   * @param conn an accepted TCP connection
   * @param context bounds and the method runner shared by all connections
   */
  constructor(conn: Deno.Conn, context: ConnectionContext) {
    this.#conn = conn;
    this.#context = context;
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.#peer = `${remote.hostname}:${remote.port}`;
    this.#framer = new JsonFramer({ maxValueBytes: context.maxRequestBytes });
  }

  /** Client address and port, for logs. */
  get peer(): string {
    return this.#peer;
  }

  /**
   * Since when the connection has been idle (no request in flight or in transit), in
   * `performance.now()` time; undefined while it is not idle.
   */
  get idleSince(): number | undefined {
    return this.#timerKind === "idle" && !this.#busy && !this.#closed ? this.#idleSince : undefined;
  }

  /** Reads and answers requests until the connection ends; never throws. */
  async serve(): Promise<void> {
    const buffer = this.#buffer;
    this.#arm("idle");
    try {
      while (!this.#closing) {
        const ahead = this.#readAhead;
        this.#readAhead = undefined;
        const count = await (ahead ?? this.#conn.read(buffer));
        if (count === AHEAD_FAILED) throw this.#aheadError;
        if (count === null) {
          await this.#handle(this.#framer.end());
          break;
        }
        const frames = this.#framer.push(buffer.subarray(0, count));
        // While these are answered, one read watches for a client that leaves.
        if (frames.length > 0) this.#watch();
        const finished = await this.#handle(frames);
        if (finished) break;
        if (this.#framer.inValue) {
          if (this.#timerKind !== "stall") this.#arm("stall");
        } else if (frames.length > 0 || this.#timerKind === "stall") {
          this.#arm("idle");
        }
      }
    } catch (error) {
      if (!this.#closed) this.#context.log.debug(`${this.#peer}: ${(error as Error).message}`);
    } finally {
      this.#close();
    }
  }

  /** Closes the connection now when it is idle, else right after the response in flight. */
  shutdown(): void {
    this.#closing = true;
    if (!this.#busy) this.#close();
  }

  /** Closes the connection now, whatever it is doing. */
  abort(): void {
    this.#close();
  }

  /** Closes an idle connection to make room for a new client (the server's choice). */
  reap(): void {
    this.#context.log.debug(`${this.#peer}: closed to make room for a new client`);
    this.#close();
  }

  /** Starts the read that notices a client leaving while its request is answered. */
  #watch(): void {
    this.#readAhead = this.#conn.read(this.#buffer).then(this.#aheadRead, this.#aheadFailed);
  }

  /** The read-ahead's handlers, made once (a request allocates no closure for them). */
  readonly #aheadRead = (count: number | null): number | null => {
    if (count === null) this.#peerEnded = true;
    return count;
  };
  readonly #aheadFailed = (error: unknown): number => {
    this.#peerGone = true;
    this.#aheadError = error;
    return AHEAD_FAILED;
  };

  /**
   * True when the client is gone. After it closed its sending side it may still be reading
   * (`nc -q1`) or have closed its socket; in the second case the reply written last made its
   * system answer with a reset, which a read after the end of input reports (`check`).
   */
  async #clientLeft(check: boolean): Promise<boolean> {
    if (this.#peerGone || this.#closed) return true;
    if (!this.#peerEnded || !check) return false;
    try {
      await this.#conn.read(new Uint8Array(1));
    } catch {
      this.#peerGone = true;
    }
    return this.#peerGone;
  }

  /** Answers frames in order; true when the connection must end after them. */
  async #handle(frames: Frame[]): Promise<boolean> {
    for (const frame of frames) {
      if (this.#closing) return true;
      if (frame.kind !== "value") {
        const message = frame.kind === "oversize"
          ? `Parse error. Request larger than ${frame.limit} bytes.`
          : ErrorMessage.PARSE_ERROR;
        const reason = frame.kind === "oversize" ? "request too large" : frame.reason;
        this.#context.log.debug(`${this.#peer}: closing after a parse error (${reason})`);
        const dialect = parseErrorDialect(
          this.#dialect,
          frame.kind === "invalid" ? frame.text : undefined,
        );
        await this.#write(
          encodeReply({
            dialect,
            outcome: failure(ErrorCode.PARSE_ERROR, message),
            ...(dialect === "2.0" ? { id: null } : {}),
          }),
        );
        return true;
      }
      if (this.#peerGone || this.#closed) {
        this.#context.log.debug(`${this.#peer}: client left; pending requests dropped`);
        return true;
      }
      this.#busy = true;
      this.#disarm();
      try {
        await this.#respond(frame.value, frame.text);
      } finally {
        this.#busy = false;
      }
    }
    return this.#closing || this.#peerGone;
  }

  /** Answers one parsed value (writing nothing for a notification). */
  async #respond(value: unknown, text: string): Promise<void> {
    if (!Array.isArray(value)) {
      const reply = await this.#answer(value, text);
      if (reply !== undefined) await this.#send(reply, "");
      return;
    }
    this.#dialect = "2.0";
    if (value.length === 0 || value.length > this.#context.maxBatch) {
      const message = value.length === 0
        ? ErrorMessage.INVALID_REQUEST
        : `Batch of ${value.length} requests is larger than the limit of ${this.#context.maxBatch}.`;
      await this.#write(encodeReply({
        dialect: "2.0",
        outcome: failure(ErrorCode.INVALID_REQUEST, message),
        id: null,
      }));
      return;
    }
    await this.#respondBatch(value, text);
  }

  /**
   * Runs a batch's items in order and writes each reply as it is ready: `[`, the replies
   * separated by `,`, then `]` and LF — the bytes of the whole array in one write, without
   * holding it. Nothing at all is written when every item is a notification.
   */
  async #respondBatch(value: unknown[], text: string): Promise<void> {
    const sources = arrayElements(text);
    const { maxResponseBytes, budget } = this.#context;
    let replies = 0;
    let sentBytes = 0;
    let refusal: string | undefined;
    for (const [index, element] of value.entries()) {
      if (await this.#clientLeft(true)) {
        this.#context.log.debug(
          `${this.#peer}: client left; ${value.length - index} batch items not run`,
        );
        return;
      }
      if (refusal === undefined && replies > 0 && sentBytes >= maxResponseBytes) {
        refusal = perConnectionRefusal(maxResponseBytes);
      }
      if (refusal === undefined && budget.held >= budget.limit) refusal = totalRefusal(budget);
      let reply = await this.#answer(element, sources[index], "2.0", refusal);
      if (reply === undefined) continue;
      let bytes = encodeReply(reply);
      if (replies > 0 && sentBytes + bytes.length > maxResponseBytes) {
        refusal ??= perConnectionRefusal(maxResponseBytes);
        reply = { ...reply, outcome: failure(ErrorCode.METHOD_FAILED, refusal) };
        bytes = encodeReply(reply);
      }
      const size = bytes.length;
      const sent = await this.#send(reply, replies === 0 ? "[" : ",", bytes);
      if (sent === "refused") refusal ??= totalRefusal(budget);
      replies++;
      sentBytes += size;
    }
    if (replies > 0) await this.#write(CLOSE_BATCH);
  }

  /**
   * Writes one reply, after `prefix` (`[` or `,` inside a batch, whose replies lose their LF).
   * Its bytes count against the server's total while they are written; a reply that does not
   * fit is replaced by an error saying so.
   */
  async #send(
    reply: Reply,
    prefix: "" | "[" | ",",
    encoded?: Uint8Array,
  ): Promise<"sent" | "refused"> {
    let bytes = encoded ?? encodeReply(reply);
    const { budget } = this.#context;
    let outcome: "sent" | "refused" = "sent";
    if (!budget.reserve(bytes.length)) {
      // The error that replaces it is a few hundred bytes, written outside the budget.
      outcome = "refused";
      bytes = encodeReply({
        ...reply,
        outcome: failure(ErrorCode.METHOD_FAILED, totalRefusal(budget)),
      });
    }
    const held = outcome === "sent" ? bytes.length : 0;
    try {
      if (prefix !== "") {
        // Inside a batch: the reply's LF is dropped, the array's separator goes first.
        await this.#write(prefix === "[" ? OPEN_BATCH : NEXT_IN_BATCH);
        await this.#write(bytes.subarray(0, bytes.length - 1));
      } else {
        await this.#write(bytes);
      }
    } finally {
      budget.release(held);
      // Free the bytes now rather than at the next garbage collection: V8 collects buffers
      // outside its heap only after tens of megabytes of them, which many clients reach.
      discard(bytes);
      if (encoded !== undefined && encoded !== bytes) discard(encoded);
    }
    return outcome;
  }

  /**
   * Validates and runs one request; undefined for a JSON-RPC 2.0 notification. With
   * `refusal`, a valid request is not run but answered with that error.
   */
  async #answer(
    value: unknown,
    source: string | undefined,
    dialect?: Dialect,
    refusal?: string,
  ): Promise<Reply | undefined> {
    const validation = validateRequest(value, {
      hasMethod: (name) => this.#context.hasMethod(name),
      ...(dialect === undefined ? {} : { dialect }),
      ...(source === undefined ? {} : { source }),
    });
    if (dialect === undefined) {
      this.#dialect = validation.ok ? validation.call.dialect : validation.rejection.dialect;
    }
    if (!validation.ok) {
      const { rejection } = validation;
      if (isNotification(rejection) && rejection.code === ErrorCode.METHOD_NOT_FOUND) {
        return undefined;
      }
      const reply: Reply = {
        dialect: rejection.dialect,
        outcome: failure(rejection.code, rejection.message),
      };
      if (rejection.id !== undefined) reply.id = rejection.id;
      if (rejection.idSource !== undefined) reply.idSource = rejection.idSource;
      return reply;
    }
    const { call } = validation;
    const outcome = refusal === undefined
      ? await this.#run(call)
      : failure(ErrorCode.METHOD_FAILED, refusal);
    if (isNotification(call)) return undefined;
    const reply: Reply = { dialect: call.dialect, outcome };
    if (call.id !== undefined) reply.id = call.id;
    if (call.idSource !== undefined) reply.idSource = call.idSource;
    return reply;
  }

  async #run(call: Call): Promise<Outcome> {
    const log = this.#context.log;
    const started = log.enabled("debug") ? performance.now() : 0;
    const outcome = call.format === "json"
      ? await this.#context.call(call.method, "json")
      : await this.#context.call(call.method);
    if (log.enabled("debug")) {
      const elapsed = (performance.now() - started).toFixed(1);
      log.debug(`${this.#peer}: ${call.method} ${outcome.ok ? "ok" : "failed"} in ${elapsed} ms`);
    }
    if (!outcome.ok) return failure(ErrorCode.METHOD_FAILED, outcome.message);
    return call.format === "json" ? { result: outcome.text, json: true } : { result: outcome.text };
  }

  /**
   * Writes all of `bytes` (`Deno.Conn.write` may take only part of a buffer). The stall timer
   * restarts after every write that moved bytes: it ends a client that reads nothing for that
   * long, never one that reads slowly.
   */
  async #write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    this.#arm("stall");
    while (offset < bytes.length) {
      const end = Math.min(bytes.length, offset + WRITE_CHUNK_BYTES);
      offset += await this.#conn.write(bytes.subarray(offset, end));
      this.#arm("stall");
    }
    this.#disarm();
  }

  #arm(kind: "idle" | "stall"): void {
    const now = performance.now();
    if (kind === "idle") this.#idleSince = now;
    const delay = kind === "idle" ? this.#context.idleTimeoutMs : this.#context.stallTimeoutMs;
    this.#timerKind = kind;
    this.#deadline = now + delay;
    // A pending timer that fires no later than the deadline re-arms itself for the rest.
    if (this.#timer !== undefined && this.#timerAt <= this.#deadline) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#schedule(delay, now);
  }

  #schedule(delay: number, now: number): void {
    this.#timerAt = now + delay;
    this.#timer = setTimeout(() => this.#expire(), delay);
  }

  /** The timer fired: closes when the armed timeout has expired, else waits for the rest. */
  #expire(): void {
    this.#timer = undefined;
    const kind = this.#timerKind;
    if (kind === undefined || this.#closed) return;
    const now = performance.now();
    const left = this.#deadline - now;
    if (left > 1) {
      this.#schedule(left, now);
      return;
    }
    const delay = kind === "idle" ? this.#context.idleTimeoutMs : this.#context.stallTimeoutMs;
    this.#context.log.debug(`${this.#peer}: closing after the ${kind} timeout of ${delay} ms`);
    this.#close();
  }

  /** Disarms the timeout; a pending timer that fires meanwhile does nothing. */
  #disarm(): void {
    this.#timerKind = undefined;
  }

  #close(): void {
    this.#disarm();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset; nothing left to release.
    }
  }
}

/**
 * The dialect a parse error is answered in: that of the connection's latest request, or, before
 * any, JSON-RPC 2.0 when the broken text already said `"jsonrpc":"2.0"` (a batch's or an
 * object's), else legacy (docs/protocol.md 1.6).
 */
export function parseErrorDialect(latest: Dialect | undefined, text: string | undefined): Dialect {
  if (latest !== undefined) return latest;
  return text !== undefined && /"jsonrpc"\s*:\s*"2\.0"/.test(text) ? "2.0" : "legacy";
}

/** A JSON-RPC 2.0 request without an id: the client wants no reply. */
function isNotification(request: { dialect: Dialect; id?: unknown }): boolean {
  return request.dialect === "2.0" && request.id === undefined;
}

/** Releases a large buffer's memory at once (it must not be used afterwards). */
function discard(bytes: Uint8Array): void {
  const buffer = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (buffer.byteLength >= 65536 && typeof buffer.transfer === "function" && !buffer.detached) {
    buffer.transfer(0);
  }
}

function perConnectionRefusal(limit: number): string {
  return `Not run: this request's replies passed ${limit} bytes ` +
    "(--max-response-bytes-per-connection); ask for the rest in another request";
}

function totalRefusal(budget: ResponseBudget): string {
  return `Server busy: ${budget.limit} bytes of replies are already waiting for clients ` +
    "(--max-response-bytes-total); retry later";
}

function failure(code: number, message: string): Outcome {
  return { error: { code, message } };
}
