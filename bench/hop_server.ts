/**
 * Reference server of `bench/footprint.ts`: the minimal two-isolate "hop" server. A worker with
 * `net` permission only accepts connections and forwards each method name to the main isolate,
 * which reads the /proc file and posts the text back; the worker encodes and writes it. This is
 * lepd's isolation design with nothing else. Prints its port on stdout.
 *
 * ```sh
 * deno run -A --unstable-worker-options bench/hop_server.ts [port]
 * ```
 *
 * @module
 */

import { answer } from "./reference_common.ts";

const port = Number(Deno.args[0] ?? 0);
const worker = new Worker(new URL("./hop_worker.ts", import.meta.url), {
  type: "module",
  deno: { permissions: { net: true, read: false, write: false, run: false, env: false } },
});
worker.onmessage = (event: MessageEvent<{ id: number; method: string } | { port: number }>) => {
  const message = event.data;
  if ("port" in message) {
    console.log(message.port);
    return;
  }
  worker.postMessage({ id: message.id, text: answer(message.method) });
};
worker.postMessage({ port });
