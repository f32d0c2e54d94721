/**
 * Main-isolate side of the privilege separation: starts the network worker with a permission
 * set limited to listening on one address, and runs the methods it asks for.
 *
 * Deno 2.9 only lets a process read /proc when it holds every permission, so the main isolate
 * must run with `--allow-all`; the worker, which parses untrusted bytes, is given `net` for the
 * listen address and nothing else (docs/security.md).
 *
 * @module
 */

import type { Logger } from "../log.ts";
import {
  type Batch,
  batchItems,
  type FromWorker,
  keepEventShapes,
  type MethodFormat,
  type MethodOutcome,
  Outbox,
  outcomeMessage,
  parseCallMessage,
  type ScrapeOutcome,
  type ServerConfig,
  type ToWorker,
} from "./messages.ts";

/** The method table as the worker host sees it. */
export interface MethodTable {
  /** Registered method names, in `ListAllMethod` order. */
  names(): readonly string[];
  /** Runs a registered method, as text or (format `json`) as a JSON text; never throws. */
  call(method: string, format?: MethodFormat): Promise<MethodOutcome>;
  /** Methods callable but not listed by `ListAllMethod` (`DescribeMethods`). */
  unlisted?(): readonly string[];
}

/**
 * The permissions of the network worker: `net` for `listenAddress` (and the metrics endpoint's
 * address, when there is one), nothing else.
 */
export function workerPermissions(
  listenAddress: string,
  ...moreAddresses: string[]
): Deno.PermissionOptionsObject {
  return {
    net: [listenAddress, ...moreAddresses],
    read: false,
    write: false,
    run: false,
    env: false,
    sys: false,
    ffi: false,
    import: false,
  };
}

/** `host:port` as Deno's permission strings spell it (IPv6 hosts in brackets). */
export function listenAddress(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * The worker's module beside `hostModule` (this module's URL): `worker.ts` when running from
 * the sources or a `deno compile` binary (which embeds rpc/worker.ts), `worker.js` in the
 * bundle, where this module is inlined into dist/lepd.js and `deno task bundle` writes the
 * worker to dist/worker.js.
 */
function workerModule(hostModule: string): URL {
  return new URL(hostModule.endsWith(".js") ? "./worker.js" : "./worker.ts", hostModule);
}

/** A running network worker. */
export interface NetworkWorker {
  /** The address actually bound. */
  address: { hostname: string; port: number };
  /** The metrics endpoint's bound address, when `config.metrics` asked for one. */
  metricsAddress?: { hostname: string; port: number };
  /** Stops accepting, waits for responses in flight (bounded by the grace period), ends the worker. */
  stop(): Promise<void>;
}

/**
 * Starts the network worker and resolves once it listens.
 *
 * @throws {Error} when the worker cannot bind the address or dies while starting
 */
export function startNetworkWorker(
  config: ServerConfig,
  options: {
    methods: MethodTable;
    log: Logger;
    /**
     * Called once when the worker dies after it started listening (an uncaught error): the
     * process no longer serves anyone and should exit.
     */
    onDeath?: (reason: string) => void;
    /** The worker's module (tests only; default rpc/worker.ts beside this module). */
    workerUrl?: URL;
    /** One Prometheus scrape (needed when `config.metrics` is set); never throws. */
    scrape?: () => Promise<ScrapeOutcome>;
    /** Called for every method call and scrape the worker asks for (heap.ts's pace). */
    onCall?: () => void;
  },
): Promise<NetworkWorker> {
  const { methods, log } = options;
  const registered = new Set([...methods.names(), ...(methods.unlisted?.() ?? [])]);
  let listening = false;
  let stopping = false;
  const worker = new Worker(options.workerUrl ?? workerModule(import.meta.url), {
    type: "module",
    name: "lepd-rpc",
    deno: {
      permissions: workerPermissions(
        listenAddress(config.hostname, config.port),
        ...(config.metrics === undefined
          ? []
          : [listenAddress(config.metrics.hostname, config.metrics.port)]),
      ),
    },
  });
  const send = (message: ToWorker) => worker.postMessage(message);
  let stopped: (() => void) | undefined;

  return new Promise((resolve, reject) => {
    worker.onerror = (event) => {
      event.preventDefault();
      log.error(`Network worker failed: ${event.message}`);
      reject(new Error(event.message));
      stopped?.();
      if (listening && !stopping) {
        stopping = true;
        worker.terminate();
        options.onDeath?.(event.message);
      }
    };
    /** Runs one call message; resolves to its outcome message. */
    const answer = async (message: string): Promise<string> => {
      // The worker is trusted with nothing: only a registered name reaches a collector, and
      // only the format enum goes with it.
      const { callId, method, format } = parseCallMessage(message);
      options.onCall?.();
      const outcome: MethodOutcome = registered.has(method)
        ? await (format === "json" ? methods.call(method, "json") : methods.call(method))
        : { ok: false, message: "Method not found" };
      return outcomeMessage(callId, outcome);
    };
    worker.onmessage = async (event: MessageEvent<FromWorker>) => {
      keepEventShapes(event);
      const message = event.data;
      if (typeof message === "string") {
        send(await answer(message));
        return;
      }
      if (Array.isArray(message)) {
        answerBatch(batchItems(message), answer, send);
        return;
      }
      switch (message.type) {
        case "listening":
          listening = true;
          resolve({
            address: { hostname: message.hostname, port: message.port },
            ...(message.metrics === undefined ? {} : { metricsAddress: message.metrics }),
            stop: () =>
              new Promise<void>((done) => {
                stopping = true;
                stopped = () => {
                  worker.terminate();
                  done();
                };
                send({ type: "shutdown" });
              }),
          });
          break;
        case "scrape": {
          options.onCall?.();
          // A scrape carries nothing from the request: the worker only says when.
          const outcome: ScrapeOutcome = options.scrape === undefined
            ? { ok: false, message: "No metrics here" }
            : await options.scrape();
          send({ type: "scraped", callId: message.callId, outcome });
          break;
        }
        case "fatal":
          worker.terminate();
          reject(new Error(message.message));
          break;
        case "stopped":
          stopped?.();
          break;
      }
    };
    send({ type: "start", config, methods: [...registered] });
  });
}

/**
 * Runs the calls of one batch and posts their outcomes together: all at once when the last is
 * in, or, should some call take longer than this turn (a process walk, a perf recording), the
 * outcomes in by the next turn together and each later one on its own, so no call waits for
 * a slower one.
 */
export function answerBatch(
  calls: readonly string[],
  answer: (call: string) => Promise<string>,
  send: (batch: Batch) => void,
): void {
  // Flushed by hand: when the last outcome is in, or by the timer at the next turn.
  const replies = new Outbox(send, () => {});
  let open = calls.length;
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    replies.flush();
  }, 0);
  for (const call of calls) {
    answer(call).then((reply) => {
      if (late) {
        send(reply);
        return;
      }
      replies.push(reply);
      if (--open === 0) {
        clearTimeout(timer);
        replies.flush();
      }
    });
  }
}
