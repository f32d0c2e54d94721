/**
 * Serves one client connection: reads bytes, frames requests, answers each in order.
 *
 * A connection handles one request at a time and reads no further while it is being answered,
 * so a client that pipelines requests gets its answers in order and TCP flow control, not
 * lepd's memory, holds whatever it sends meanwhile. Connections stay open after a response
 * (LEPV reuses them forever); they end when the client closes, on invalid JSON, on an oversize
 * request, on a timeout, or at shutdown.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { encodeBatch, encodeReply, type Outcome, type Reply } from "./encoder.ts";
import { type Frame, JsonFramer } from "./framer.ts";
import { arrayElements } from "./members.ts";
import type { MethodOutcome } from "./messages.ts";
import { ErrorCode, ErrorMessage } from "./protocol.ts";
import { type Call, type Dialect, validateRequest } from "./request.ts";

/** Bounds and collaborators of a connection. */
export interface ConnectionContext {
  maxRequestBytes: number;
  maxBatch: number;
  idleTimeoutMs: number;
  stallTimeoutMs: number;
  hasMethod(name: string): boolean;
  /** Runs a registered method in the collectors' isolate. */
  call(method: string): Promise<MethodOutcome>;
  log: Logger;
}

const READ_BUFFER_BYTES = 64 * 1024;

/** Writes all of `bytes`; `Deno.Conn.write` may take only part of a buffer. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** One client connection. */
export class Connection {
  readonly #conn: Deno.Conn;
  readonly #context: ConnectionContext;
  readonly #peer: string;
  readonly #framer: JsonFramer;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerKind: "idle" | "stall" | undefined;
  #busy = false;
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

  /** Reads and answers requests until the connection ends; never throws. */
  async serve(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    this.#arm("idle");
    try {
      while (!this.#closing) {
        const count = await this.#conn.read(buffer);
        if (count === null) {
          await this.#handle(this.#framer.end());
          break;
        }
        const frames = this.#framer.push(buffer.subarray(0, count));
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
      this.#busy = true;
      this.#disarm();
      try {
        const response = await this.#respond(frame.value, frame.text);
        if (response !== undefined) await this.#write(response);
      } finally {
        this.#busy = false;
      }
    }
    return this.#closing;
  }

  /** The bytes answering one parsed value, or undefined when nothing is to be sent. */
  async #respond(value: unknown, text: string): Promise<Uint8Array | undefined> {
    if (!Array.isArray(value)) {
      const reply = await this.#answer(value, text);
      return reply === undefined ? undefined : encodeReply(reply);
    }
    this.#dialect = "2.0";
    if (value.length === 0 || value.length > this.#context.maxBatch) {
      const message = value.length === 0
        ? ErrorMessage.INVALID_REQUEST
        : `Batch of ${value.length} requests is larger than the limit of ${this.#context.maxBatch}.`;
      return encodeReply({
        dialect: "2.0",
        outcome: failure(ErrorCode.INVALID_REQUEST, message),
        id: null,
      });
    }
    const replies: Reply[] = [];
    const sources = arrayElements(text);
    for (const [index, element] of value.entries()) {
      const reply = await this.#answer(element, sources[index], "2.0");
      if (reply !== undefined) replies.push(reply);
    }
    return replies.length === 0 ? undefined : encodeBatch(replies);
  }

  /** Validates and runs one request; undefined for a JSON-RPC 2.0 notification. */
  async #answer(
    value: unknown,
    source: string | undefined,
    dialect?: Dialect,
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
    const outcome = await this.#run(call);
    if (isNotification(call)) return undefined;
    const reply: Reply = { dialect: call.dialect, outcome };
    if (call.id !== undefined) reply.id = call.id;
    if (call.idSource !== undefined) reply.idSource = call.idSource;
    return reply;
  }

  async #run(call: Call): Promise<Outcome> {
    const started = performance.now();
    const outcome = await this.#context.call(call.method);
    const log = this.#context.log;
    if (log.enabled("debug")) {
      const elapsed = (performance.now() - started).toFixed(1);
      log.debug(`${this.#peer}: ${call.method} ${outcome.ok ? "ok" : "failed"} in ${elapsed} ms`);
    }
    return outcome.ok
      ? { result: outcome.text }
      : failure(ErrorCode.METHOD_FAILED, outcome.message);
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#arm("stall");
    await writeAll(this.#conn, bytes);
    this.#disarm();
  }

  #arm(kind: "idle" | "stall"): void {
    this.#disarm();
    const delay = kind === "idle" ? this.#context.idleTimeoutMs : this.#context.stallTimeoutMs;
    this.#timerKind = kind;
    this.#timer = setTimeout(() => {
      this.#context.log.debug(`${this.#peer}: closing after the ${kind} timeout of ${delay} ms`);
      this.#close();
    }, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerKind = undefined;
  }

  #close(): void {
    this.#disarm();
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

function failure(code: number, message: string): Outcome {
  return { error: { code, message } };
}
