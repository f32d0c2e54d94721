/**
 * The network worker of `bench/hop_server.ts`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { encodeLegacy, methodsIn } from "./reference_common.ts";

const pending = new Map<number, (text: string) => void>();
let nextId = 1;

function call(method: string): Promise<string> {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    self.postMessage({ id, method });
  });
}

async function serve(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    while (true) {
      const count = await conn.read(buffer);
      if (count === null) break;
      for (const method of methodsIn(buffer.subarray(0, count))) {
        const bytes = encodeLegacy(await call(method));
        let offset = 0;
        while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
      }
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

self.onmessage = (event: MessageEvent<{ port: number } | { id: number; text: string }>) => {
  const message = event.data;
  if ("port" in message) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: message.port });
    self.postMessage({ port: listener.addr.port });
    (async () => {
      for await (const conn of listener) {
        conn.setNoDelay(true);
        serve(conn);
      }
    })();
    return;
  }
  const resolve = pending.get(message.id);
  pending.delete(message.id);
  resolve?.(message.text);
};
