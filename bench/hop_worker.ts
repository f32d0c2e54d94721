/**
 * The network worker of `bench/hop_server.ts`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { serveConnection } from "./reference_common.ts";

const pending = new Map<number, (text: string) => void>();
let nextId = 1;

function call(method: string): Promise<string> {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    self.postMessage({ id, method });
  });
}

self.onmessage = (event: MessageEvent<{ port: number } | { id: number; text: string }>) => {
  const message = event.data;
  if ("port" in message) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: message.port });
    self.postMessage({ port: listener.addr.port });
    (async () => {
      for await (const conn of listener) {
        conn.setNoDelay(true);
        serveConnection(conn, call);
      }
    })();
    return;
  }
  const resolve = pending.get(message.id);
  pending.delete(message.id);
  resolve?.(message.text);
};
