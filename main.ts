/**
 * lepd — the target-side daemon of LEP (Linux Easy Profiling).
 *
 * Parses the command line, builds the method registry, starts the network worker and stops
 * gracefully on SIGINT or SIGTERM. See README.md for the flags and the security model.
 *
 * @module
 */

import { denoVersionProblem } from "./checks/deno_version.ts";
import { checkCommand } from "./checks/methods.ts";
import denoConfig from "./deno.json" with { type: "json" };
import { daemonRegistry } from "./registry/methods.ts";
import { collectThisIsolate } from "./heap.ts";
import { Scraper } from "./metrics/scrape.ts";
import { removeStaleRecordings } from "./perf/service.ts";
import { type Command, parseFlags, usage, UsageError } from "./flags.ts";
import { Logger } from "./log.ts";
import { ERRNO, libc, libcProblem, pageOut, trimMalloc } from "./libc.ts";
import { parseMaps, readOnlyMappingsOf } from "./proc/maps.ts";
import { parseStatusFigures } from "./proc/pid.ts";
import { listenAddress, startNetworkWorker } from "./rpc/worker_host.ts";

export { type Command, type Options, parseFlags, UsageError } from "./flags.ts";

/** The daemon's version, from deno.json. */
export const VERSION: string = denoConfig.version;

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
  const functions = libc();
  if (functions === null) return libcProblem();
  // SIG_ERR is (sighandler_t) -1.
  if (functions.signal(sigusr1, sigIgn) === 0xffff_ffff_ffff_ffffn) {
    return "signal(SIGUSR1, SIG_IGN) failed";
  }
  return undefined;
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

/**
 * How long after listening the start-up pages are handed back: pages faulted in moments ago
 * wait in per-CPU batches before the kernel's page lists take them, and until then it cannot
 * reclaim them.
 */
const STARTUP_PAGES_DELAY_MS = 2000;

/** `RssFile` + `RssShmem` of this process in MiB, or NaN. */
function fileBackedMiB(): number {
  try {
    return (parseStatusFigures(Deno.readTextFileSync("/proc/self/status")).sharedKiB ?? NaN) /
      1024;
  } catch {
    return NaN;
  }
}

/**
 * Hands back the pages of the executable that start-up touched: loading and compiling the
 * modules, starting the worker. Once lepd listens it asks the kernel to reclaim every page of
 * the executable's read-only mappings (`pageOut`); the pages serving requests come back at
 * their next use, and the others (about a third of what start-up left resident on x86_64)
 * stay out. Pages another process maps too (another Deno) are left alone by the kernel.
 * Logged at info level with the file-backed resident memory before and after, or with the
 * reason nothing was handed back (a kernel before 5.4 has no `MADV_PAGEOUT`).
 */
function releaseStartupPages(log: Logger): void {
  let mappings;
  try {
    mappings = readOnlyMappingsOf(
      parseMaps(Deno.readTextFileSync("/proc/self/maps")),
      Deno.readLinkSync("/proc/self/exe"),
    );
  } catch (error) {
    log.info(`Start-up pages kept resident: ${(error as Error).message}`);
    return;
  }
  const before = fileBackedMiB();
  let advised = 0n;
  for (const { start, end } of mappings) {
    const result = pageOut(start, end - start);
    if (result !== 0) {
      log.info(
        "Start-up pages kept resident: " +
          (result === undefined
            ? libcProblem()
            : result === ERRNO.EINVAL
            ? "this kernel cannot reclaim on request (MADV_PAGEOUT, Linux 5.4+)"
            : `madvise failed with errno ${result}`),
      );
      return;
    }
    advised += end - start;
  }
  log.info(
    `Start-up pages of the executable handed back (${mappings.length} mappings, ` +
      `${Number(advised >> 20n)} MiB advised): file-backed RSS ${before.toFixed(1)} → ` +
      `${fileBackedMiB().toFixed(1)} MiB`,
  );
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
    console.log(usage());
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
  const { fs, registry } = daemonRegistry(options, log);
  const heap = collectThisIsolate(options.server.gcIntervalMs ?? 0, trimMalloc);
  if (heap === undefined) {
    log.warn(
      "--gc-interval needs --v8-flags=--expose-gc (the start task and the unit carry it); " +
        "garbage is left to V8's own collector",
    );
  }
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
      ...(heap === undefined ? {} : { onCall: () => heap.served() }),
      ...(scraper === undefined ? {} : { scrape: () => scraper.outcome() }),
      onDeath: workerDeath.resolve,
    });
  } catch (error) {
    // The worker's message names the address that could not be bound.
    log.error((error as Error).message);
    return 1;
  }
  if (options.keepStartupPages) {
    log.debug("Start-up pages kept resident (--keep-startup-pages)");
  } else {
    const release = setTimeout(() => releaseStartupPages(log), STARTUP_PAGES_DELAY_MS);
    Deno.unrefTimer(release);
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
