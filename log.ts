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

/** How long repeats of a rate-limited record are counted instead of written. */
export const REPEAT_WINDOW_MS = 10_000;

/**
 * A log message made safe for a one-line record: control characters (which a client could
 * put into the log through a request at debug level, e.g. a carriage return or an escape
 * sequence) are written as `\n`, `\r`, `\t` or `\xNN`, and so are DEL, the C1 controls and
 * the Unicode line and paragraph separators.
 */
export function escapeControls(message: string): string {
  // deno-lint-ignore no-control-regex
  return message.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (char) => {
    if (char === "\n") return "\\n";
    if (char === "\r") return "\\r";
    if (char === "\t") return "\\t";
    const code = char.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, "0")}`;
  });
}

interface Repeats {
  level: LogLevel;
  message: string;
  count: number;
  timer: ReturnType<typeof setTimeout>;
}

/** Writes records at or above a level for one component (`main`, `rpc`, …). */
export class Logger {
  readonly #threshold: number;
  readonly #component: string;
  readonly #repeats = new Map<string, Repeats>();

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

  /**
   * Writes a record that may repeat at a client's will (a failed accept, a refused
   * connection): the first of a kind (`key`) is written at once; further ones within
   * {@link REPEAT_WINDOW_MS} are only counted, and one record with the count and the latest
   * message ends the window.
   */
  limited(level: LogLevel, key: string, message: string): void {
    if (!this.enabled(level)) return;
    const repeats = this.#repeats.get(key);
    if (repeats !== undefined) {
      repeats.count++;
      repeats.message = message;
      return;
    }
    this.#write(level, message);
    const timer = setTimeout(() => {
      const ended = this.#repeats.get(key);
      this.#repeats.delete(key);
      if (ended !== undefined && ended.count > 0) {
        this.#write(
          ended.level,
          `${ended.message} (and ${ended.count} more like it in the last ` +
            `${REPEAT_WINDOW_MS / 1000} s)`,
        );
      }
    }, REPEAT_WINDOW_MS);
    // A pending summary never keeps the process alive.
    Deno.unrefTimer(timer);
    this.#repeats.set(key, { level, message, count: 0, timer });
  }

  #write(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    const line = escapeControls(message);
    console.error(`${new Date().toISOString()} ${level.toUpperCase()} ${this.#component}: ${line}`);
  }
}
