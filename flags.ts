/**
 * The command line: one table of every flag (name, kind, default, bounds, unit, help), from which
 * the parser, the validation, the defaults and the `--help` text are all generated.
 * A flag's default or bound is typed here once; README's "Flags and bounds" tables name the same
 * flags with the same defaults (tests/flags_test.ts holds the two together).
 *
 * @module
 */

import { MAX_TOP_PROCESSES } from "./metrics/scrape.ts";
import { PERF_DEFAULTS } from "./perf/service.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import { AccessList } from "./rpc/access.ts";
import type { ServerConfig } from "./rpc/messages.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "./rpc/protocol.ts";

/** One flag of the command line. */
export interface Flag {
  /** The name without the leading `--`. */
  readonly name: string;
  /**
   * `integer`: a whole number within `min`..`max`; `text`: one string; `list`: comma-separated
   * values, repeatable; `switch`: no value.
   */
  readonly kind: "integer" | "text" | "list" | "switch";
  /** What the value is called in the help (`N`, `SECONDS`, `ADDR` …); none for a switch. */
  readonly value?: string;
  /** The value when the flag is absent; none when absence means "off" or "everyone". */
  readonly default?: number | string;
  /** How the default reads in the help and README (`off`, `everyone`); else the default. */
  readonly shown?: string;
  /** Smallest accepted value of an integer flag. */
  readonly min?: number;
  /** Largest accepted value of an integer flag. */
  readonly max?: number;
  /**
   * An integer flag bounded by another one: at most that flag's value less `less` (but never
   * below `min`), and its default is lowered to that bound when it is higher.
   */
  readonly below?: { readonly flag: string; readonly less: number };
  /** What an integer counts; `seconds` flags become milliseconds in {@link Options}. */
  readonly unit?: "bytes" | "seconds" | "percent" | "count";
  /** One of these exact values (a text flag). */
  readonly choices?: readonly string[];
  /**
   * `run`: an option of the daemon (the default); `command`: `--help` and `--version`;
   * `check`: taken out of the command line by checks/methods.ts before the rest is parsed.
   */
  readonly scope?: "run" | "command" | "check";
  /** The help text, without the default (added from the table). */
  readonly help: string;
}

/** Every flag, in the order of `--help` and README. */
export const FLAGS = [
  {
    name: "port",
    kind: "integer",
    value: "N",
    default: DEFAULT_PORT,
    min: 1,
    max: 65535,
    unit: "count",
    help: "TCP port to listen on",
  },
  {
    name: "hostname",
    kind: "text",
    value: "ADDR",
    default: DEFAULT_HOSTNAME,
    help: "address to listen on (:: for IPv6, 127.0.0.1 for local use only)",
  },
  {
    name: "allow-from",
    kind: "list",
    value: "CIDR[,CIDR...]",
    shown: "everyone",
    help: "accept clients only from these networks (repeatable)",
  },
  {
    name: "log-level",
    kind: "text",
    value: "LEVEL",
    default: "info",
    choices: LOG_LEVELS,
    help: `${LOG_LEVELS.join(", ")} (debug: one line per request)`,
  },
  {
    name: "max-request-bytes",
    kind: "integer",
    value: "N",
    default: 64 * 1024,
    min: 64,
    max: 16 * 1024 * 1024,
    unit: "bytes",
    help: "largest request in bytes",
  },
  {
    name: "max-batch",
    kind: "integer",
    value: "N",
    default: 64,
    min: 1,
    max: 10_000,
    unit: "count",
    help: "most requests in one JSON-RPC 2.0 batch",
  },
  {
    name: "max-connections",
    kind: "integer",
    value: "N",
    default: 512,
    min: 1,
    max: 100_000,
    unit: "count",
    help: "open connections in total",
  },
  {
    name: "max-connections-per-client",
    kind: "integer",
    value: "N",
    default: 240,
    min: 1,
    max: 100_000,
    unit: "count",
    help: "open connections from one address; when all are taken, the longest-idle " +
      "connection of the address holding the most is closed for a newcomer",
  },
  {
    name: "idle-timeout",
    kind: "integer",
    value: "SECONDS",
    default: 600,
    min: 1,
    max: 86_400,
    unit: "seconds",
    help: "close a connection idle this long between requests",
  },
  {
    name: "stall-timeout",
    kind: "integer",
    value: "SECONDS",
    default: 30,
    min: 1,
    max: 86_400,
    unit: "seconds",
    help: "close a connection whose request stalls this long midway, or whose client reads " +
      "nothing of a response for this long",
  },
  {
    name: "shutdown-grace",
    kind: "integer",
    value: "SECONDS",
    default: 5,
    min: 1,
    max: 86_400,
    unit: "seconds",
    help: "on SIGINT/SIGTERM, wait this long for responses in flight",
  },
  {
    name: "max-response-bytes",
    kind: "integer",
    value: "N",
    default: 16 * 1024 * 1024,
    min: 4096,
    max: 1 << 30,
    unit: "bytes",
    help: "largest text one method may return",
  },
  {
    name: "max-response-bytes-per-connection",
    kind: "integer",
    value: "N",
    default: 4 * 1024 * 1024,
    min: 4096,
    max: 1 << 30,
    unit: "bytes",
    help: "bytes the replies to one request (a batch) may take after the first; later batch " +
      "items get an error",
  },
  {
    name: "max-response-bytes-total",
    kind: "integer",
    value: "N",
    default: 64 * 1024 * 1024,
    min: 65536,
    max: 2 ** 32,
    unit: "bytes",
    help: "bytes of replies all connections may hold while they are written; past it, " +
      "replies are errors",
  },
  {
    name: "heavy-share",
    kind: "integer",
    value: "PERCENT",
    default: 25,
    min: 5,
    max: 100,
    unit: "percent",
    help: "most of the collectors' time the process-walking methods (smem, procrank, top, " +
      "iotop, cgtop, df) may take when clients loop them; they run one at a time",
  },
  {
    name: "perf-kernel-addresses",
    kind: "switch",
    shown: "off",
    help: "keep kernel addresses in perf texts (otherwise written as zeros, symbols kept, so " +
      "KASLR is not defeated)",
  },
  {
    name: "dmesg-bytes",
    kind: "integer",
    value: "N",
    default: 64 * 1024,
    min: 1024,
    max: 16 * 1024 * 1024,
    unit: "bytes",
    help: "GetCmdDmesg returns the newest kernel-log records that fit in N bytes",
  },
  {
    name: "perf-max-output-bytes",
    kind: "integer",
    value: "N",
    default: PERF_DEFAULTS.maxOutputBytes,
    min: 65536,
    // The cut note and U+FFFD replacements may add a little to perf's text: keep room for them.
    below: { flag: "max-response-bytes", less: 4096 },
    unit: "bytes",
    help: "perf report/script text is cut at a sample boundary past N bytes",
  },
  {
    name: "perf-timeout",
    kind: "integer",
    value: "SECONDS",
    default: PERF_DEFAULTS.deadlineMs / 1000,
    min: 2,
    max: 600,
    unit: "seconds",
    help: "a perf process still running after this long is killed",
  },
  {
    name: "perf-queue-length",
    kind: "integer",
    value: "N",
    default: PERF_DEFAULTS.queueLength,
    min: 0,
    max: 64,
    unit: "count",
    help: 'perf requests that may wait for the recording in progress; more get a "busy" ' +
      "error; one per client address",
  },
  {
    name: "root",
    kind: "text",
    value: "DIR",
    default: "/",
    help: "read /proc and /sys under DIR, e.g. a captured tree",
  },
  {
    name: "metrics-listen",
    kind: "text",
    value: "ADDR:PORT",
    shown: "off",
    help: "also serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics ([::1]:PORT for " +
      "IPv6, :PORT for every IPv4 address)",
  },
  {
    name: "metrics-top-processes",
    kind: "integer",
    value: "N",
    default: 10,
    min: 0,
    max: MAX_TOP_PROCESSES,
    unit: "count",
    help: "the N busiest processes in lepd_process_cpu_percent (0: none)",
  },
  {
    name: "gc-interval",
    kind: "integer",
    value: "SECONDS",
    default: 60,
    min: 0,
    max: 86_400,
    unit: "seconds",
    help: "collect each isolate's garbage this often when its heap grew by 1 MiB or more, " +
      "at a sixth of it when by 4 MiB or by 1 MiB with no call meanwhile " +
      "(needs --v8-flags=--expose-gc; 0: leave it to V8)",
  },
  {
    name: "keep-startup-pages",
    kind: "switch",
    shown: "off",
    help: "leave resident the pages of the executable that start-up touched (otherwise lepd " +
      "asks the kernel to reclaim them once it listens; those it needs again come back)",
  },
  {
    name: "check",
    kind: "switch",
    scope: "check",
    help: "list every method as available or unavailable here, with the reason, and exit",
  },
  {
    name: "require",
    kind: "list",
    value: "METHOD[,METHOD...]",
    scope: "check",
    help: "with --check: exit with status 1 when one of these methods is unavailable " +
      "(repeatable)",
  },
  { name: "help", kind: "switch", scope: "command", help: "show this help and exit" },
  { name: "version", kind: "switch", scope: "command", help: "show the version and exit" },
] as const satisfies readonly Flag[];

/** The name of a flag of {@link FLAGS}. */
export type FlagName = typeof FLAGS[number]["name"];

/** Everything the command line decides. */
export interface Options {
  server: ServerConfig;
  /** Directory standing for `/` when reading /proc and /sys. */
  root: string;
  /** Largest text one method may return. */
  maxResponseBytes: number;
  /** Largest GetCmdDmesg text. */
  dmesgMaxBytes: number;
  /** `--metrics-top-processes`: processes in `lepd_process_cpu_percent` (0: none). */
  metricsTopProcesses: number;
  /** `--keep-startup-pages`: do not hand the executable's start-up pages back. */
  keepStartupPages: boolean;
  /** Bounds of the perf methods. */
  perf: {
    maxOutputBytes: number;
    deadlineMs: number;
    queueLength: number;
    /** `--perf-kernel-addresses`: keep kernel addresses in perf texts. */
    kernelAddresses: boolean;
  };
}

/** What the command line asks for. */
export type Command =
  | { kind: "run"; options: Options }
  | { kind: "help" }
  | { kind: "version" };

/** A command-line mistake; the message is shown to the user, who gets exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The flag of {@link FLAGS} named `name`. */
export function flag(name: FlagName): Flag {
  return FLAGS.find((entry) => entry.name === name)!;
}

/** The flag as the help and README write it: `--port N`, `--check`. */
export function flagSyntax(entry: Flag): string {
  return `--${entry.name}${entry.value === undefined ? "" : ` ${entry.value}`}`;
}

/** The default as the help and README write it (`12307`, `off`), or undefined when none. */
export function shownDefault(entry: Flag): string | undefined {
  return entry.shown ?? (entry.default === undefined ? undefined : String(entry.default));
}

/** Column of the help texts in {@link usage}. */
const HELP_COLUMN = 35;
/** Width of the help text: lines end by column 92. */
const HELP_WIDTH = 92 - HELP_COLUMN;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** The help's note of the default and bounds: `(default 64, 1 to 10000)`. */
function helpNote(entry: Flag): string {
  const shown = shownDefault(entry);
  const parts = shown === undefined ? [] : [`default ${shown}`];
  if (entry.kind === "integer") {
    const max = entry.below === undefined
      ? String(entry.max)
      : `--${entry.below.flag} - ${entry.below.less}`;
    parts.push(`${entry.min} to ${max}`);
  }
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/** The `--help` text, generated from {@link FLAGS}: one aligned column of help texts. */
export function usage(): string {
  const lines = [
    "Usage: lepd [options]",
    "",
    "Serves Linux profiling data (/proc, process, CPU, disk and perf views) to LEP clients",
    "over JSON-RPC on TCP.",
    "",
    "Options:",
  ];
  const indent = " ".repeat(HELP_COLUMN);
  for (const entry of FLAGS as readonly Flag[]) {
    const head = `  ${flagSyntax(entry)}`;
    const help = wrap(entry.help + helpNote(entry), HELP_WIDTH);
    if (head.length < HELP_COLUMN - 1) {
      lines.push(head.padEnd(HELP_COLUMN) + help[0]);
      lines.push(...help.slice(1).map((line) => indent + line));
    } else {
      lines.push(head, ...help.map((line) => indent + line));
    }
  }
  return lines.join("\n") + "\n";
}

type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Splits the command line into flag values by the table: `--name value` or `--name=value` for a
 * flag with a value (a list flag collects every occurrence, any other keeps the last), `--name`
 * for a switch. (Written here rather than taken from `node:util`: importing a `node:` module
 * costs the daemon about 8 MB of resident memory, see libc.ts.)
 *
 * @throws {Error} for an unknown flag, a missing or unexpected value, or a positional argument
 */
function parseCommandLine(args: readonly string[]): ParsedValues {
  const kinds = new Map<string, Flag["kind"]>();
  for (const entry of FLAGS as readonly Flag[]) {
    if (entry.scope !== "check") kinds.set(entry.name, entry.kind);
  }
  const values: ParsedValues = {};
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === "--" || !arg.startsWith("-")) {
      const extra = arg === "--" ? args[index + 1] : arg;
      if (extra === undefined) break;
      throw new Error(`Unexpected argument '${extra}': lepd takes no positional arguments`);
    }
    const equals = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, equals < 0 ? undefined : equals) : "";
    const kind = kinds.get(name);
    if (kind === undefined) {
      throw new Error(`Unknown option '${equals < 0 ? arg : arg.slice(0, equals)}'`);
    }
    if (kind === "switch") {
      if (equals >= 0) throw new Error(`Option '--${name}' does not take a value`);
      values[name] = true;
      continue;
    }
    let value: string;
    if (equals >= 0) {
      value = arg.slice(equals + 1);
    } else {
      const next = args[index + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new Error(
          `Option '--${name} <value>' argument missing` +
            (next === undefined
              ? ""
              : ` (a value that starts with "--" is written --${name}=VALUE)`),
        );
      }
      value = next;
      index++;
    }
    if (kind === "list") {
      const earlier = values[name];
      values[name] = [...(Array.isArray(earlier) ? earlier : []), value];
    } else {
      values[name] = value;
    }
  }
  return values;
}

/** Reads flag values by name, validated and defaulted by their entries in {@link FLAGS}. */
class FlagValues {
  readonly #values: ParsedValues;

  constructor(values: ParsedValues) {
    this.#values = values;
  }

  /** An integer flag's value, or its default (lowered to its `below` bound). */
  integer(name: FlagName): number {
    const entry = flag(name);
    const min = entry.min!;
    const max = entry.below === undefined
      ? entry.max!
      : Math.max(min, this.integer(entry.below.flag as FlagName) - entry.below.less);
    const value = this.#values[name];
    if (typeof value !== "string") return Math.max(min, Math.min(entry.default as number, max));
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new UsageError(
        `Invalid value "${value}" for --${name}: expected a whole number from ${min} to ${max}`,
      );
    }
    return Number(value);
  }

  /** An integer flag counted in seconds, in milliseconds. */
  milliseconds(name: FlagName): number {
    return this.integer(name) * 1000;
  }

  /** A text flag's value, its default, or undefined for a flag without one. */
  text(name: FlagName): string | undefined {
    const entry = flag(name);
    const value = this.#values[name];
    const text = typeof value === "string" ? value : entry.default as string | undefined;
    if (text !== undefined && entry.choices !== undefined && !entry.choices.includes(text)) {
      throw new UsageError(
        `Invalid value "${text}" for --${name}: expected one of ${entry.choices.join(", ")}`,
      );
    }
    return text;
  }

  /** A list flag's values: every occurrence, split at commas, trimmed, empty ones dropped. */
  list(name: FlagName): string[] {
    const value = this.#values[name];
    const occurrences = Array.isArray(value) ? value : [];
    return occurrences.flatMap((item) => String(item).split(","))
      .map((item) => item.trim())
      .filter((item) => item !== "");
  }

  /** True when a switch was given. */
  switch(name: FlagName): boolean {
    return this.#values[name] === true;
  }
}

/**
 * Interprets the command line (without `--check` and `--require`, which checks/methods.ts takes
 * out first).
 *
 * @throws {UsageError} for unknown flags, missing values and values out of range
 */
export function parseFlags(args: readonly string[]): Command {
  let flags: FlagValues;
  try {
    flags = new FlagValues(parseCommandLine(args));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (flags.switch("help")) return { kind: "help" };
  if (flags.switch("version")) return { kind: "version" };

  const logLevel = flags.text("log-level") as LogLevel;
  const hostname = flags.text("hostname")!;
  if (hostname.trim() === "" || /[\s/]/.test(hostname)) {
    throw new UsageError(`Invalid value "${hostname}" for --hostname: expected an address or name`);
  }
  const allowFrom = flags.list("allow-from");
  try {
    AccessList.parse(allowFrom);
  } catch (error) {
    throw new UsageError(`--allow-from: ${(error as Error).message}`);
  }
  const root = flags.text("root")!;
  if (root === "") throw new UsageError(`Invalid value "" for --root: expected a directory`);
  const metrics = parseMetricsListen(flags.text("metrics-listen"));

  return {
    kind: "run",
    options: {
      root,
      metricsTopProcesses: flags.integer("metrics-top-processes"),
      dmesgMaxBytes: flags.integer("dmesg-bytes"),
      maxResponseBytes: flags.integer("max-response-bytes"),
      keepStartupPages: flags.switch("keep-startup-pages"),
      perf: {
        maxOutputBytes: flags.integer("perf-max-output-bytes"),
        deadlineMs: flags.milliseconds("perf-timeout"),
        queueLength: flags.integer("perf-queue-length"),
        kernelAddresses: flags.switch("perf-kernel-addresses"),
      },
      server: {
        hostname,
        port: flags.integer("port"),
        maxRequestBytes: flags.integer("max-request-bytes"),
        maxBatch: flags.integer("max-batch"),
        maxConnections: flags.integer("max-connections"),
        maxConnectionsPerClient: flags.integer("max-connections-per-client"),
        maxResponseBytesPerConnection: flags.integer("max-response-bytes-per-connection"),
        maxResponseBytesTotal: flags.integer("max-response-bytes-total"),
        heavyShare: flags.integer("heavy-share"),
        idleTimeoutMs: flags.milliseconds("idle-timeout"),
        stallTimeoutMs: flags.milliseconds("stall-timeout"),
        shutdownGraceMs: flags.milliseconds("shutdown-grace"),
        gcIntervalMs: flags.milliseconds("gc-interval"),
        allowFrom,
        logLevel,
        ...(metrics === undefined ? {} : { metrics }),
      },
    },
  };
}

/**
 * `--metrics-listen ADDR:PORT` (`[IPv6]:PORT`; `:PORT` for every IPv4 address).
 *
 * @throws {UsageError} for anything else
 */
function parseMetricsListen(
  value: string | undefined,
): { hostname: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s/:\[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port < 1 || port > 65535) {
    throw new UsageError(
      `Invalid value "${value}" for --metrics-listen: expected ADDR:PORT, [IPv6]:PORT or :PORT`,
    );
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}
