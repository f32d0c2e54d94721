/**
 * Reference server of `bench/footprint.ts`: a bare single-isolate Deno TCP server that reads the
 * /proc file and answers in the same isolate (see `reference_common.ts` for what it answers).
 * Prints its port on stdout.
 *
 * ```sh
 * deno run -A bench/bare_server.ts [port]
 * ```
 *
 * @module
 */

import { answer, serveConnection } from "./reference_common.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
console.log(listener.addr.port);

for await (const conn of listener) {
  conn.setNoDelay(true);
  serveConnection(conn, answer);
}
