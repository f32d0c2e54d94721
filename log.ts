/**
 * One-line log records on stderr, shared by the main isolate and the network worker.
 *
 * A record is `<ISO time> <LEVEL> <component>: <message>`; nothing else is ever written to
 * stderr, and stdout stays unused so a service manager captures one clean stream.
 *
 * @module
 */

/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Writes records at or above a level for one component (`main`, `rpc`, …). */
export class Logger {
  readonly #threshold: number;
  readonly #component: string;

  /**
   * @param level the least severe level that is written
   * @param component short name printed in every record
   */
  constructor(level: LogLevel, component: string) {
    this.#threshold = LOG_LEVELS.indexOf(level);
    this.#component = component;
  }

  /** True when records of `level` are written; lets callers skip building costly messages. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.#threshold;
  }

  /** Something failed that lepd cannot work around. */
  error(message: string): void {
    this.#write("error", message);
  }

  /** Something failed for one client or one method; the daemon goes on. */
  warn(message: string): void {
    this.#write("warn", message);
  }

  /** Start, stop and other events an operator wants by default. */
  info(message: string): void {
    this.#write("info", message);
  }

  /** Per-connection and per-request detail. */
  debug(message: string): void {
    this.#write("debug", message);
  }

  #write(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    const line = message.replaceAll("\n", "\\n");
    console.error(`${new Date().toISOString()} ${level.toUpperCase()} ${this.#component}: ${line}`);
  }
}
