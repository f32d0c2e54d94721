/**
 * Entry point of the network worker: the only code that touches bytes from the network.
 *
 * It runs with `net` permission for the listen address and nothing else (see
 * `worker_host.ts`), so a bug here cannot read a file, start a program or read the
 * environment. It reaches the collectors only by posting a registered method name.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { Logger } from "../log.ts";
import { collectThisIsolate, type HeapKeeper } from "../heap.ts";
import {
  batchItems,
  callMessage,
  type FromWorker,
  keepEventShapes,
  type MethodFormat,
  type MethodOutcome,
  Outbox,
  parseOutcomeMessage,
  type ScrapeOutcome,
  type ToWorker,
} from "./messages.ts";
import { MetricsHttpServer } from "./metrics_http.ts";
import { RpcServer } from "./server.ts";

const pendingCalls = new Map<number, (outcome: MethodOutcome) => void>();
let nextCallId = 1;
let server: RpcServer | undefined;
const pendingScrapes = new Map<number, (outcome: ScrapeOutcome) => void>();
let metricsServer: MetricsHttpServer | undefined;
/** This isolate's collections (heap.ts), told of every call. */
let heap: HeapKeeper | undefined;

function post(message: FromWorker): void {
  self.postMessage(message);
}

/**
 * Calls made in one turn of this isolate's event loop (every read that completed in it) go to
 * the main isolate as one message.
 */
const calls = new Outbox(post, queueMicrotask);

function call(method: string, format?: MethodFormat): Promise<MethodOutcome> {
  heap?.served();
  return new Promise((resolve) => {
    const callId = nextCallId++;
    pendingCalls.set(callId, resolve);
    calls.push(callMessage(callId, method, format));
  });
}

/** Asks the main isolate for one Prometheus scrape; nothing from the request goes with it. */
function scrape(): Promise<ScrapeOutcome> {
  heap?.served();
  return new Promise((resolve) => {
    const callId = nextCallId++;
    pendingScrapes.set(callId, resolve);
    post({ type: "scrape", callId });
  });
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  keepEventShapes(event);
  const message = event.data;
  if (typeof message === "string" || Array.isArray(message)) {
    for (const item of batchItems(message)) {
      const { callId, outcome } = parseOutcomeMessage(item);
      const resolve = pendingCalls.get(callId);
      pendingCalls.delete(callId);
      resolve?.(outcome);
    }
    return;
  }
  switch (message.type) {
    case "start": {
      const log = new Logger(message.config.logLevel, "rpc");
      // The main isolate warned already when V8 does not expose gc().
      heap = collectThisIsolate(message.config.gcIntervalMs ?? 0);
      try {
        server = new RpcServer(message.config, { methods: message.methods, call, log });
        let address: Deno.NetAddr;
        try {
          address = server.start();
        } catch (error) {
          const { hostname, port } = message.config;
          throw new Error(`Cannot listen on ${hostname}:${port}: ${(error as Error).message}`);
        }
        const { metrics } = message.config;
        let metricsAddress: Deno.NetAddr | undefined;
        if (metrics !== undefined) {
          metricsServer = new MetricsHttpServer({ ...message.config, ...metrics }, {
            scrape,
            log: new Logger(message.config.logLevel, "metrics"),
          });
          try {
            metricsAddress = metricsServer.start();
          } catch (error) {
            throw new Error(
              `Cannot listen on ${metrics.hostname}:${metrics.port} (--metrics-listen): ` +
                (error as Error).message,
            );
          }
        }
        post({
          type: "listening",
          hostname: address.hostname,
          port: address.port,
          ...(metricsAddress === undefined
            ? {}
            : { metrics: { hostname: metricsAddress.hostname, port: metricsAddress.port } }),
        });
      } catch (error) {
        post({ type: "fatal", message: (error as Error).message });
      }
      break;
    }
    case "scraped": {
      const resolve = pendingScrapes.get(message.callId);
      pendingScrapes.delete(message.callId);
      resolve?.(message.outcome);
      break;
    }
    case "shutdown":
      await Promise.all([server?.shutdown(), metricsServer?.shutdown()]);
      post({ type: "stopped" });
      break;
  }
};
