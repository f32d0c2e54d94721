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

/** Produces the text of one method. */
export interface Collector {
  /**
   * Returns the method's text (without the marker).
   *
   * @throws {MethodFailure} when the source is unavailable; the message goes to the client
   */
  collect(context: CollectorContext): Promise<string>;
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
