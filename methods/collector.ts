/**
 * What a method is to the registry: a collector that produces its text from a context. Every
 * module of methods/ exports one (or a few); registry/ maps wire method names to them.
 *
 * @module
 */

import type { ProcFs } from "../proc/fs.ts";

/** What every collector is given. Nothing in it comes from the network. */
export interface CollectorContext {
  /** Reader of /proc and /sys (possibly under a fixture root). */
  fs: ProcFs;
  /** All registered method names, in registration order. */
  methods: readonly string[];
}

/**
 * The shape of a method's JSON result (JSON-RPC 2.0 `params: {"format":"json"}`), as
 * `DescribeMethods` reports it (docs/protocol.md 1.10). A number may name its unit; an object
 * lists its fields (every one present) and, for open key sets such as /proc/meminfo, the
 * schema of any further member; an array names its items' schema.
 */
export type Schema =
  | { type: "string"; description?: string }
  | { type: "any"; description?: string }
  | { type: "integer" | "number"; unit?: string; description?: string; nullable?: boolean }
  | {
    type: "object";
    fields: Record<string, Schema>;
    /** The schema of members beyond `fields` (absent: no other member). */
    other?: Schema;
    description?: string;
  }
  | { type: "array"; items: Schema; description?: string };

/** A count of KiB, the unit of /proc's memory figures. */
export const KIB: Schema = { type: "integer", unit: "KiB" };

/** A percentage. */
export const PERCENT: Schema = { type: "number", unit: "%" };

/** `interval_s` of a method over the sampler's interval. */
export const INTERVAL: Schema = {
  type: "number",
  unit: "s",
  description: "length of the sampled interval",
};

/** The JSON result of a method without a typed form: its text. */
export const TEXT_SCHEMA: Schema = {
  type: "object",
  fields: { text: { type: "string", description: "the method's legacy text" } },
};

/** Produces the text of one method. */
export interface Collector {
  /**
   * Returns the method's text (without the marker).
   *
   * @throws {MethodFailure} when the source is unavailable; the message goes to the client
   */
  collect(context: CollectorContext): Promise<string>;
  /**
   * The typed result for format `json`, computed from the same rows as the text; it must match
   * `schema`. Without it the JSON result is `{ "text": collect() }`.
   *
   * @throws {MethodFailure} as `collect`
   */
  json?(context: CollectorContext): Promise<unknown>;
  /** The shape of `json()`'s result (default {@link TEXT_SCHEMA}). */
  schema?: Schema;
  /**
   * Checks once at start-up whether the method can work on this machine; returns the reason
   * when it cannot. Methods without it are always available.
   */
  probe?(context: CollectorContext): Promise<string | undefined>;
  /**
   * Releases what the collector holds between requests (samplers, child processes) at
   * shutdown. Called once; the collector is not called again afterwards.
   */
  close?(): Promise<void>;
}
