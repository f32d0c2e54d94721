/**
 * Messages between the main isolate (collectors) and the network worker.
 *
 * This is the whole interface between the two: the worker may ask for a method by name and
 * nothing else, and the main isolate answers with text or a one-line failure message.
 *
 * @module
 */

import type { LogLevel } from "../log.ts";
import type { MetricFamily } from "../metrics/exposition.ts";

/** Everything the network side needs to serve; fixed at start. */
export interface ServerConfig {
  hostname: string;
  port: number;
  /** Largest request (one JSON value) in bytes; a larger one is an error and ends the connection. */
  maxRequestBytes: number;
  /** Most requests in one JSON-RPC 2.0 batch. */
  maxBatch: number;
  /** Open connections in total; further ones get an error and are closed. */
  maxConnections: number;
  /** Open connections from one client address. */
  maxConnectionsPerClient: number;
  /** A connection with no request in flight and none in transit is closed after this long. */
  idleTimeoutMs: number;
  /** A request that stops arriving midway, or a response the client stops reading, ends it. */
  stallTimeoutMs: number;
  /** On shutdown, how long responses in flight may take before connections are cut. */
  shutdownGraceMs: number;
  /** Period of each isolate's garbage collections (`--gc-interval`, see heap.ts); 0: off. */
  gcIntervalMs?: number;
  /**
   * Bytes of replies one request (a batch counts as one) may return beyond its first reply;
   * later batch items get an error instead (default in server.ts).
   */
  maxResponseBytesPerConnection?: number;
  /** Bytes of replies held by all connections together, waiting to be written (default in server.ts). */
  maxResponseBytesTotal?: number;
  /**
   * Most of the collectors' time (percent) the process-walking methods may take when clients
   * loop them: after one that took T, the next waits T × (100 / share − 1) (default in server.ts).
   */
  heavyShare?: number;
  /** Client networks allowed to connect (CIDR); empty means everyone. */
  allowFrom: string[];
  logLevel: LogLevel;
  /** The Prometheus endpoint's address (`--metrics-listen`); absent when it is off. */
  metrics?: { hostname: string; port: number };
}

/**
 * How a method's result is asked for: its legacy text, or (JSON-RPC 2.0 `params.format`) a
 * typed value sent back as a JSON text. The worker validated it; the main isolate checks it again.
 */
export type MethodFormat = "text" | "json";

/** The result of running one method, as the main isolate reports it. */
export type MethodOutcome = { ok: true; text: string } | { ok: false; message: string };

/** The families of one Prometheus scrape, or why there are none. */
export type ScrapeOutcome = { ok: true; families: MetricFamily[] } | { ok: false; message: string };

/**
 * A method call and its outcome travel as one flat string each, the cheapest message to clone
 * (an object costs its serialisation and a nested one more; a call is the hot path):
 *
 * - call, worker → main: `<callId> <method>`, or `<callId>j<method>` for format `json`;
 * - outcome, main → worker: `<callId>+<text>`, or `<callId>-<failure message>`.
 */
export function callMessage(callId: number, method: string, format?: MethodFormat): string {
  return `${callId}${format === "json" ? "j" : " "}${method}`;
}

/** The length of the decimal call id a {@link callMessage} or {@link outcomeMessage} starts with. */
function idLength(message: string): number {
  let i = 0;
  while (i < message.length) {
    const code = message.charCodeAt(i);
    if (code < 0x30 || code > 0x39) break;
    i++;
  }
  return i;
}

/** The parts of a {@link callMessage}. The method name is not checked here. */
export function parseCallMessage(
  message: string,
): { callId: number; method: string; format: MethodFormat } {
  const i = idLength(message);
  return {
    callId: Number(message.slice(0, i)),
    method: message.slice(i + 1),
    format: message.charCodeAt(i) === 0x6a ? "json" : "text",
  };
}

/** The message carrying a call's outcome. */
export function outcomeMessage(callId: number, outcome: MethodOutcome): string {
  return outcome.ok ? `${callId}+${outcome.text}` : `${callId}-${outcome.message}`;
}

/** The parts of an {@link outcomeMessage}. */
export function parseOutcomeMessage(message: string): { callId: number; outcome: MethodOutcome } {
  const i = idLength(message);
  const rest = message.slice(i + 1);
  return {
    callId: Number(message.slice(0, i)),
    outcome: message.charCodeAt(i) === 0x2b
      ? { ok: true, text: rest }
      : { ok: false, message: rest },
  };
}

/**
 * Calls (or outcomes) that one side makes within one turn of its event loop travel as one
 * message: a single string, or an array of two or more. LEPV's dashboard sends its requests on
 * separate sockets at the same moment; batched, a round costs each isolate one wake-up for
 * the calls and one for the replies instead of one per request.
 */
export type Batch = string | string[];

/** The strings of a {@link Batch}; an array's non-string items are dropped. */
export function batchItems(batch: Batch): string[] {
  return typeof batch === "string" ? [batch] : batch.filter((item) => typeof item === "string");
}

/**
 * Gathers the strings pushed within one turn and posts them as one {@link Batch} when
 * `schedule` calls back (the worker schedules with `queueMicrotask`: the calls of every read
 * that completed in the same turn go together, and a lone call leaves at once), or when
 * `flush` is called (the main isolate's `answerBatch` flushes by hand).
 */
export class Outbox {
  #items: string[] = [];
  readonly #post: (batch: Batch) => void;
  readonly #schedule: (flush: () => void) => void;
  readonly #flush = () => this.flush();

  constructor(post: (batch: Batch) => void, schedule: (flush: () => void) => void) {
    this.#post = post;
    this.#schedule = schedule;
  }

  /** Adds one string; the first of a turn schedules the flush. */
  push(item: string): void {
    if (this.#items.push(item) === 1) this.#schedule(this.#flush);
  }

  /** Posts what has been pushed, if anything. */
  flush(): void {
    const items = this.#items;
    if (items.length === 0) return;
    this.#items = [];
    this.#post(items.length === 1 ? items[0]! : items);
  }
}

/** The first message event this isolate received; see {@link keepEventShapes}. */
let exemplar: Event | undefined;

/**
 * Keeps the first message event this isolate receives alive while the isolate runs, and with it
 * the hidden classes V8 built for Deno's event objects. Without a live event those classes die
 * at every full collection (no event outlives its dispatch), and with them the optimized code of
 * Deno's event dispatch that was built for them: each periodic collection (heap.ts) threw away
 * about 20 optimized functions of the message path (`--trace-deopt`: "embedded weak objects
 * cleared"; tests/messages_test.ts counts them), which then ran in V8's lower tiers until they
 * were optimized again, only to lose it at the next collection. The first event is small (the
 * start message or the first call), so this holds no method's text.
 */
export function keepEventShapes(event: Event): void {
  exemplar ??= event;
}

/** Main isolate → worker: {@link outcomeMessage}s as a {@link Batch}, or one of these. */
export type ToWorker =
  | Batch
  | { type: "start"; config: ServerConfig; methods: string[] }
  | { type: "scraped"; callId: number; outcome: ScrapeOutcome }
  | { type: "shutdown" };

/** Worker → main isolate: {@link callMessage}s as a {@link Batch}, or one of these. */
export type FromWorker =
  | Batch
  | {
    type: "listening";
    hostname: string;
    port: number;
    metrics?: { hostname: string; port: number };
  }
  | { type: "scrape"; callId: number }
  | { type: "fatal"; message: string }
  | { type: "stopped" };
