/**
 * The method table: wire method names mapped to collectors.
 *
 * Everything that is the same for every method lives here once: the `ListAllMethod` order,
 * the availability check at start-up, error handling, the size bound of a result and
 * per-method statistics. A collector only knows how to produce its text.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { MethodFormat, MethodOutcome } from "../rpc/messages.ts";
import { MethodFailure } from "../failure.ts";
import type { ProcFs } from "../proc/fs.ts";
import {
  type Collector,
  type CollectorContext,
  type Schema,
  TEXT_SCHEMA,
} from "../methods/collector.ts";

/**
 * The describe call: every method's JSON result schema. It is callable but not listed by
 * `ListAllMethod`, whose text stays the original's list (docs/protocol.md 1.10).
 */
export const DESCRIBE_METHOD = "DescribeMethods";

/** The schema of `DescribeMethods`' own result. */
const DESCRIBE_SCHEMA: Schema = {
  type: "object",
  fields: {
    methods: {
      type: "object",
      fields: {},
      other: {
        type: "object",
        fields: { type: { type: "string" } },
        other: { type: "any" },
        description: "a schema node: type string, integer, number, object (fields, other), " +
          "array (items) or any; numbers may name their unit (docs/protocol.md 1.10)",
      },
      description: "every method by name, with the schema of its JSON result",
    },
  },
};

const encoder = new TextEncoder();

/** Counters of one method since start. */
export interface MethodStats {
  calls: number;
  failures: number;
  totalMs: number;
}

/** Maps method names to collectors and runs them. */
export class Registry {
  readonly #collectors = new Map<string, Collector>();
  readonly #stats = new Map<string, MethodStats>();
  readonly #fs: ProcFs;
  readonly #log: Logger;
  readonly #maxResultBytes: number;
  /** What the collectors share (sampled sources, the perf service), released after them. */
  readonly #owned: { close(): void | Promise<void> }[] = [];
  /** What every collector is given; rebuilt only when a method is registered. */
  #context: CollectorContext | undefined;

  /**
   * @param options.fs the reader every collector gets
   * @param options.log where unexpected collector errors are reported
   * @param options.maxResultBytes a larger text (UTF-8 bytes) is an error, never a silent cut
   */
  constructor(options: { fs: ProcFs; log: Logger; maxResultBytes: number }) {
    this.#fs = options.fs;
    this.#log = options.log;
    this.#maxResultBytes = options.maxResultBytes;
  }

  /**
   * Adds a method. Registration order is the `ListAllMethod` order.
   *
   * @throws {Error} when the name is taken
   */
  register(method: string, collector: Collector): this {
    if (this.#collectors.has(method)) throw new Error(`Method "${method}" is already registered`);
    this.#collectors.set(method, collector);
    this.#stats.set(method, { calls: 0, failures: 0, totalMs: 0 });
    this.#context = undefined;
    return this;
  }

  /**
   * Hands the registry something several collectors share (the sampled sources, the perf
   * service): close() releases it once, after the collectors, so no collector has to.
   */
  own(resource: { close(): void | Promise<void> }): this {
    this.#owned.push(resource);
    return this;
  }

  /** Registered method names in registration order. */
  names(): string[] {
    return [...this.#collectors.keys()];
  }

  /** Callable methods that `ListAllMethod` does not list: the describe call. */
  unlisted(): string[] {
    return [DESCRIBE_METHOD];
  }

  /** Each method's JSON result schema (`DescribeMethods`), `DescribeMethods` included. */
  describe(): { methods: Record<string, Schema> } {
    const methods: Record<string, Schema> = {};
    for (const [method, collector] of this.#collectors) {
      methods[method] = collector.schema ?? TEXT_SCHEMA;
    }
    methods[DESCRIBE_METHOD] = DESCRIBE_SCHEMA;
    return { methods };
  }

  /** True when `method` is registered (exact, case-sensitive name). */
  has(method: string): boolean {
    return this.#collectors.has(method);
  }

  /** Counters of one method, or undefined when it is not registered. */
  stats(method: string): Readonly<MethodStats> | undefined {
    return this.#stats.get(method);
  }

  /**
   * Runs a method by name and reports its text or a one-line failure; never throws. With format
   * `json` the text is the JSON of the method's typed result (or of `{ "text": … }`).
   */
  async call(method: string, format: MethodFormat = "text"): Promise<MethodOutcome> {
    if (method === DESCRIBE_METHOD) {
      return { ok: true, text: JSON.stringify(this.describe()) };
    }
    const collector = this.#collectors.get(method);
    const stats = this.#stats.get(method);
    if (collector === undefined || stats === undefined) {
      return { ok: false, message: `Method "${method}" is not registered` };
    }
    const started = performance.now();
    stats.calls++;
    try {
      const context = this.#contextOf();
      const text = format !== "json" ? await collector.collect(context) : JSON.stringify(
        collector.json === undefined
          ? { text: await collector.collect(context) }
          : await collector.json(context),
      );
      // A UTF-16 unit is at most 3 UTF-8 bytes; count bytes only when the limit may be near.
      const bytes = text.length * 3 > this.#maxResultBytes
        ? encoder.encode(text).length
        : text.length;
      if (bytes > this.#maxResultBytes) {
        throw new MethodFailure(
          `Result of ${method} is ${bytes} bytes, more than the limit of ` +
            `${this.#maxResultBytes} (--max-response-bytes)`,
        );
      }
      return { ok: true, text };
    } catch (error) {
      stats.failures++;
      if (error instanceof MethodFailure) return { ok: false, message: error.message };
      this.#log.error(`${method} failed unexpectedly: ${(error as Error).stack ?? error}`);
      return { ok: false, message: `Internal error in ${method}: ${(error as Error).message}` };
    } finally {
      stats.totalMs += performance.now() - started;
    }
  }

  /** Probes every method that can be unavailable; returns the unavailable ones with reasons. */
  async probe(): Promise<Map<string, string>> {
    const unavailable = new Map<string, string>();
    for (const [method, collector] of this.#collectors) {
      try {
        const reason = await collector.probe?.(this.#contextOf());
        if (reason !== undefined) unavailable.set(method, reason);
      } catch (error) {
        unavailable.set(method, (error as Error).message);
      }
    }
    return unavailable;
  }

  /**
   * Closes every collector, then what they share (at shutdown); failures are logged, never
   * thrown.
   */
  async close(): Promise<void> {
    for (const [method, collector] of this.#collectors) {
      try {
        await collector.close?.();
      } catch (error) {
        this.#log.warn(`Closing ${method} failed: ${(error as Error).message}`);
      }
    }
    for (const resource of this.#owned.splice(0)) {
      try {
        await resource.close();
      } catch (error) {
        this.#log.warn(`Closing a shared resource failed: ${(error as Error).message}`);
      }
    }
  }

  /** The same object for every call: a call allocates nothing here but its outcome. */
  #contextOf(): CollectorContext {
    return this.#context ??= { fs: this.#fs, methods: Object.freeze(this.names()) };
  }
}
