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

/** Main isolate → worker. */
export type ToWorker =
  | { type: "start"; config: ServerConfig; methods: string[] }
  | { type: "outcome"; callId: number; outcome: MethodOutcome }
  | { type: "scraped"; callId: number; outcome: ScrapeOutcome }
  | { type: "shutdown" };

/** Worker → main isolate. */
export type FromWorker =
  | {
    type: "listening";
    hostname: string;
    port: number;
    metrics?: { hostname: string; port: number };
  }
  | { type: "call"; callId: number; method: string; format?: MethodFormat }
  | { type: "scrape"; callId: number }
  | { type: "fatal"; message: string }
  | { type: "stopped" };
