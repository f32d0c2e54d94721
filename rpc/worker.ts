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
import type { FromWorker, MethodOutcome, ToWorker } from "./messages.ts";
import { RpcServer } from "./server.ts";

const pendingCalls = new Map<number, (outcome: MethodOutcome) => void>();
let nextCallId = 1;
let server: RpcServer | undefined;

function post(message: FromWorker): void {
  self.postMessage(message);
}

function call(method: string): Promise<MethodOutcome> {
  return new Promise((resolve) => {
    const callId = nextCallId++;
    pendingCalls.set(callId, resolve);
    post({ type: "call", callId, method });
  });
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "start": {
      const log = new Logger(message.config.logLevel, "rpc");
      try {
        server = new RpcServer(message.config, { methods: message.methods, call, log });
        const address = server.start();
        post({ type: "listening", hostname: address.hostname, port: address.port });
      } catch (error) {
        post({ type: "fatal", message: (error as Error).message });
      }
      break;
    }
    case "outcome": {
      const resolve = pendingCalls.get(message.callId);
      pendingCalls.delete(message.callId);
      resolve?.(message.outcome);
      break;
    }
    case "shutdown":
      await server?.shutdown();
      post({ type: "stopped" });
      break;
  }
};
