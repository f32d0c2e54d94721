/**
 * lepd — the target-side daemon of LEP (Linux Easy Profiling).
 *
 * Parses the command line, builds the method registry, starts the network worker and stops
 * gracefully on SIGINT or SIGTERM. See README.md for the flags and the security model.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { denoVersionProblem } from "./checks/deno_version.ts";
import { checkCommand } from "./checks/methods.ts";
import denoConfig from "./deno.json" with { type: "json" };
import { createRegistry } from "./collectors/methods.ts";
import { MAX_TOP_PROCESSES, Scraper } from "./collectors/metrics.ts";
import { removeStaleRecordings } from "./collectors/perf.ts";
import { ProcFs } from "./collectors/proc_fs.ts";
import { LOG_LEVELS, Logger, type LogLevel } from "./log.ts";
import { AccessList } from "./rpc/access.ts";
import type { ServerConfig } from "./rpc/messages.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "./rpc/protocol.ts";
import { listenAddress, startNetworkWorker } from "./rpc/worker_host.ts";

/** The daemon's version, from deno.json. */
export const VERSION: string = denoConfig.version;

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

const USAGE = `Usage: lepd [options]

Serves Linux profiling data (/proc, process, CPU, disk and perf views) to LEP clients
over JSON-RPC on TCP.

Options:
  --port N                         TCP port to listen on (default ${DEFAULT_PORT})
  --hostname ADDR                  address to listen on (default ${DEFAULT_HOSTNAME}; :: for IPv6)
  --allow-from CIDR[,CIDR...]      accept clients only from these networks (repeatable;
                                   default: everyone)
  --log-level LEVEL                ${LOG_LEVELS.join(", ")} (default info)
  --max-request-bytes N            largest request in bytes (default 65536)
  --max-batch N                    most requests in one JSON-RPC 2.0 batch (default 64)
  --max-connections N              open connections in total (default 512)
  --max-connections-per-client N   open connections from one address (default 240); when
                                   all are taken, the longest-idle connection of the address
                                   holding the most is closed for a newcomer
  --idle-timeout SECONDS           close a connection idle this long between requests
                                   (default 600)
  --stall-timeout SECONDS          close a connection whose request stalls this long midway,
                                   or whose client reads nothing of a response for this long
                                   (default 30)
  --shutdown-grace SECONDS         on SIGINT/SIGTERM, wait this long for responses in flight
                                   (default 5)
  --max-response-bytes N           largest text one method may return (default 16777216)
  --max-response-bytes-per-connection N
                                   bytes the replies to one request (a batch) may take after
                                   the first; later batch items get an error (default 4194304)
  --max-response-bytes-total N     bytes of replies all connections may hold while they are
                                   written; past it, replies are errors (default 67108864)
  --heavy-share PERCENT            most of the collectors' time the process-walking methods
                                   (smem, procrank, top, iotop, cgtop, df) may take when
                                   clients loop them; they run one at a time (default 25)
  --dmesg-bytes N                  GetCmdDmesg returns the newest kernel-log records that fit
                                   in N bytes (default 65536)
  --perf-max-output-bytes N        perf report/script text is cut at a sample boundary past N
                                   bytes (default 8388608)
  --perf-timeout SECONDS           a perf process still running after this long is killed
                                   (default 10)
  --perf-queue-length N            perf requests that may wait for the recording in progress;
                                   more get a "busy" error (default 8); one per client address
  --perf-kernel-addresses          keep kernel addresses in perf texts (default: written as
                                   zeros, symbols kept, so KASLR is not defeated)
  --metrics-listen ADDR:PORT       also serve Prometheus metrics over HTTP at
                                   http://ADDR:PORT/metrics (default: off; [::1]:PORT for IPv6)
  --metrics-top-processes N        the N busiest processes in lepd_process_cpu_percent
                                   (default 10, 0 to ${MAX_TOP_PROCESSES})
  --root DIR                       read /proc and /sys under DIR, e.g. a captured tree
                                   (default /)
  --check                          list every method as available or unavailable here, with
                                   the reason, and exit
  --require METHOD[,METHOD...]     with --check: exit with status 1 when one of these methods
                                   is unavailable (repeatable)
  --help                           show this help and exit
  --version                        show the version and exit
`;

function integerFlag(
  name: string,
  value: string | undefined,
  bounds: { min: number; max: number; fallback: number },
): number {
  if (value === undefined) return bounds.fallback;
  if (!/^\d+$/.test(value) || Number(value) < bounds.min || Number(value) > bounds.max) {
    throw new UsageError(
      `Invalid value "${value}" for --${name}: expected a whole number from ${bounds.min} to ${bounds.max}`,
    );
  }
  return Number(value);
}

/**
 * Interprets the command line.
 *
 * @throws {UsageError} for unknown flags, missing values and values out of range
 */
export function parseFlags(args: readonly string[]): Command {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        hostname: { type: "string" },
        "allow-from": { type: "string", multiple: true },
        "log-level": { type: "string" },
        "max-request-bytes": { type: "string" },
        "max-batch": { type: "string" },
        "max-connections": { type: "string" },
        "max-connections-per-client": { type: "string" },
        "idle-timeout": { type: "string" },
        "stall-timeout": { type: "string" },
        "shutdown-grace": { type: "string" },
        "max-response-bytes": { type: "string" },
        "max-response-bytes-per-connection": { type: "string" },
        "max-response-bytes-total": { type: "string" },
        "heavy-share": { type: "string" },
        "perf-kernel-addresses": { type: "boolean" },
        "dmesg-bytes": { type: "string" },
        "perf-max-output-bytes": { type: "string" },
        "perf-timeout": { type: "string" },
        "perf-queue-length": { type: "string" },
        root: { type: "string" },
        "metrics-listen": { type: "string" },
        "metrics-top-processes": { type: "string" },
        help: { type: "boolean" },
        version: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  const logLevel = values["log-level"] ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(
      `Invalid value "${logLevel}" for --log-level: expected one of ${LOG_LEVELS.join(", ")}`,
    );
  }
  const hostname = values.hostname ?? DEFAULT_HOSTNAME;
  if (hostname.trim() === "" || /[\s/]/.test(hostname)) {
    throw new UsageError(`Invalid value "${hostname}" for --hostname: expected an address or name`);
  }
  const allowFrom = (values["allow-from"] ?? []).flatMap((list) => list.split(",")).map((entry) =>
    entry.trim()
  ).filter((entry) => entry !== "");
  try {
    AccessList.parse(allowFrom);
  } catch (error) {
    throw new UsageError(`--allow-from: ${(error as Error).message}`);
  }
  const root = values.root ?? "/";
  if (root === "") throw new UsageError(`Invalid value "" for --root: expected a directory`);
  const metrics = parseMetricsListen(values["metrics-listen"]);
  const maxResponseBytes = integerFlag("max-response-bytes", values["max-response-bytes"], {
    min: 4096,
    max: 1 << 30,
    fallback: 16 * 1024 * 1024,
  });
  // The cut note and U+FFFD replacements may add a little to perf's text: keep room for them.
  const perfMaxOutputBytes = integerFlag("perf-max-output-bytes", values["perf-max-output-bytes"], {
    min: 65536,
    max: Math.max(65536, maxResponseBytes - 4096),
    fallback: Math.max(65536, Math.min(8 * 1024 * 1024, maxResponseBytes - 4096)),
  });
  const seconds = (name: string, fallback: number) =>
    integerFlag(name, values[name as "idle-timeout"], { min: 1, max: 86_400, fallback }) * 1000;

  return {
    kind: "run",
    options: {
      root,
      metricsTopProcesses: integerFlag("metrics-top-processes", values["metrics-top-processes"], {
        min: 0,
        max: MAX_TOP_PROCESSES,
        fallback: 10,
      }),
      dmesgMaxBytes: integerFlag("dmesg-bytes", values["dmesg-bytes"], {
        min: 1024,
        max: 16 * 1024 * 1024,
        fallback: 64 * 1024,
      }),
      maxResponseBytes,
      perf: {
        maxOutputBytes: perfMaxOutputBytes,
        deadlineMs: integerFlag("perf-timeout", values["perf-timeout"], {
          min: 2,
          max: 600,
          fallback: 10,
        }) * 1000,
        queueLength: integerFlag("perf-queue-length", values["perf-queue-length"], {
          min: 0,
          max: 64,
          fallback: 8,
        }),
        kernelAddresses: values["perf-kernel-addresses"] ?? false,
      },
      server: {
        hostname,
        port: integerFlag("port", values.port, { min: 1, max: 65535, fallback: DEFAULT_PORT }),
        maxRequestBytes: integerFlag("max-request-bytes", values["max-request-bytes"], {
          min: 64,
          max: 16 * 1024 * 1024,
          fallback: 64 * 1024,
        }),
        maxBatch: integerFlag("max-batch", values["max-batch"], {
          min: 1,
          max: 10_000,
          fallback: 64,
        }),
        maxConnections: integerFlag("max-connections", values["max-connections"], {
          min: 1,
          max: 100_000,
          fallback: 512,
        }),
        maxConnectionsPerClient: integerFlag(
          "max-connections-per-client",
          values["max-connections-per-client"],
          { min: 1, max: 100_000, fallback: 240 },
        ),
        maxResponseBytesPerConnection: integerFlag(
          "max-response-bytes-per-connection",
          values["max-response-bytes-per-connection"],
          { min: 4096, max: 1 << 30, fallback: 4 * 1024 * 1024 },
        ),
        maxResponseBytesTotal: integerFlag(
          "max-response-bytes-total",
          values["max-response-bytes-total"],
          { min: 65536, max: 2 ** 32, fallback: 64 * 1024 * 1024 },
        ),
        heavyShare: integerFlag("heavy-share", values["heavy-share"], {
          min: 5,
          max: 100,
          fallback: 25,
        }),
        idleTimeoutMs: seconds("idle-timeout", 600),
        stallTimeoutMs: seconds("stall-timeout", 30),
        shutdownGraceMs: seconds("shutdown-grace", 5),
        allowFrom,
        logLevel: logLevel as LogLevel,
        ...(metrics === undefined ? {} : { metrics }),
      },
    },
  };
}

/**
 * Deno 2.9 opens an unauthenticated V8 inspector on 127.0.0.1:9229, attached to the isolate
 * that holds every permission, when the process receives SIGUSR1 — even with a listener for
 * the signal. lepd opens an inspector only when its command line asks (`deno run --inspect`):
 * SIGUSR1 is set to be ignored (SIG_IGN, through libc), which also keeps its default action,
 * exiting, from happening. Returns why that failed, or undefined.
 */
export function ignoreSigusr1(): string | undefined {
  const sigusr1 = 10; // Linux, x86-64 and AArch64
  const sigIgn = 1n;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      signal: { parameters: ["i32", "usize"], result: "usize" },
    });
    try {
      // SIG_ERR is (sighandler_t) -1.
      if (libc.symbols.signal(sigusr1, sigIgn) === 0xffff_ffff_ffff_ffffn) {
        return "signal(SIGUSR1, SIG_IGN) failed";
      }
    } finally {
      libc.close();
    }
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
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

/** Resolves with the name of the first of SIGINT or SIGTERM to arrive. */
function nextStopSignal(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handlers = signals.map((signal) => {
      const handler = () => {
        signals.forEach((name, index) => Deno.removeSignalListener(name, handlers[index]!));
        resolve(signal);
      };
      Deno.addSignalListener(signal, handler);
      return handler;
    });
  });
}

/** Runs the daemon until a stop signal; returns the process exit status. */
export async function main(args: readonly string[]): Promise<number> {
  const denoProblem = denoVersionProblem(Deno.version.deno);
  if (denoProblem !== undefined) {
    console.error(`lepd: ${denoProblem}`);
    return 1;
  }
  const checked = await checkCommand(args, parseFlags);
  if (checked !== undefined) return checked;
  let command: Command;
  try {
    command = parseFlags(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`lepd: ${error.message}\nRun "lepd --help" for the list of options.`);
    return 2;
  }
  if (command.kind === "help") {
    console.log(USAGE);
    return 0;
  }
  if (command.kind === "version") {
    console.log(`lepd ${VERSION}`);
    return 0;
  }

  const { options } = command;
  const log = new Logger(options.server.logLevel, "main");
  // Before anything else: no window in which SIGUSR1 opens an inspector or SIGHUP kills lepd.
  Deno.addSignalListener("SIGUSR1", () => log.limited("warn", "sigusr1", "SIGUSR1 ignored"));
  const sigusr1Problem = ignoreSigusr1();
  if (sigusr1Problem !== undefined) {
    log.warn(`Cannot ignore SIGUSR1 (${sigusr1Problem}): it may open a V8 inspector`);
  }
  Deno.addSignalListener("SIGHUP", () => {
    log.limited(
      "info",
      "sighup",
      "SIGHUP received and ignored (lepd has no configuration to reload)",
    );
  });
  for (const directory of await removeStaleRecordings()) {
    log.info(`Removed the perf recording a previous lepd left behind: ${directory}`);
  }
  const fs = new ProcFs({ root: options.root, maxFileBytes: options.maxResponseBytes });
  const registry = createRegistry({
    fs,
    log,
    maxResultBytes: options.maxResponseBytes,
    dmesgMaxBytes: options.dmesgMaxBytes,
    perf: options.perf,
  });
  for (const [method, reason] of await registry.probe()) {
    log.warn(`${method} is unavailable here and will answer with an error: ${reason}`);
  }

  const scraper = options.server.metrics === undefined ? undefined : new Scraper({
    fs,
    methods: registry,
    topProcesses: options.metricsTopProcesses,
    version: VERSION,
  });
  const stopSignal = nextStopSignal();
  const workerDeath = Promise.withResolvers<string>();
  let worker;
  try {
    worker = await startNetworkWorker(options.server, {
      methods: registry,
      log,
      ...(scraper === undefined ? {} : { scrape: () => scraper.outcome() }),
      onDeath: workerDeath.resolve,
    });
  } catch (error) {
    // The worker's message names the address that could not be bound.
    log.error((error as Error).message);
    return 1;
  }
  // The metrics line comes first: "listening on" is the line that says start-up is complete.
  if (worker.metricsAddress !== undefined) {
    const { hostname: metricsHost, port: metricsPort } = worker.metricsAddress;
    log.info(`Prometheus metrics on http://${listenAddress(metricsHost, metricsPort)}/metrics`);
  }
  const { hostname, port } = worker.address;
  log.info(
    `lepd ${VERSION} listening on ${hostname}:${port} with ${registry.names().length} methods` +
      (options.root === "/" ? "" : ` reading under ${options.root}`),
  );

  // SIG_IGN once more: Deno installs its SIGUSR1 handler half a second after start.
  const again = setTimeout(ignoreSigusr1, 1000);
  Deno.unrefTimer(again);

  const ended = await Promise.race([
    stopSignal.then((signal) => ({ signal })),
    workerDeath.promise.then((reason) => ({ reason })),
  ]);
  if ("reason" in ended) {
    log.error(`The network worker died (${ended.reason}): lepd no longer serves; exiting`);
    await registry.close();
    return 70;
  }
  log.info(`${ended.signal} received: no new connections; finishing responses in flight`);
  await worker.stop();
  await registry.close();
  const served = registry.names().reduce(
    (sum, name) => sum + (registry.stats(name)?.calls ?? 0),
    0,
  );
  log.info(`Stopped after answering ${served} method calls`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
